import { COMMANDS } from '../cli.js';
import { UsageError } from './usage.js';

export const usage = 'corral completion bash|zsh   (bash: source <(corral completion bash); zsh: source <(corral completion zsh))';

/** The commands whose argument is a TENANT[:WATCHER[:SLOT]] target: completed from `corral ps --json`. */
const TAKES_TARGET = ['ps', 'status', 'logs', 'start', 'stop', 'restart', 'reload', 'kill', 'scale', 'add', 'rm'];
/** The commands whose argument is a file (`apply -f FILE`): completed from the file names. */
const TAKES_FILE = ['apply'];
const SUBCOMMANDS: Record<string, string[]> = { jobs: ['run', 'list', 'show'], completion: ['bash', 'zsh'], ctl: ['status', 'stop', 'restart', 'backup', 'tenant-reconfigure', 'full-reconfigure', 'stack-dump'] };

/** Every `--flag` and `-f` a usage line shows, so the script offers exactly what the commands take. */
function flagsOf(usageLine: string): string[] {
  const long = usageLine.match(/--[a-z][a-z-]*/g) ?? [];
  const short = usageLine.match(/(?<=[[|])-[a-zA-Z](?=[\s|\]])/g) ?? [];
  return [...new Set([...long, ...short, '--help'])].sort();
}

const quote = (words: string[]): string => `'${words.join(' ')}'`;

/**
 * A bash completion function built from the command table (ops/cli.ts), so it offers the
 * commands and flags that exist. The word is taken from COMP_LINE rather than COMP_WORDS,
 * because bash splits `acme:web:0` at the colons (COMP_WORDBREAKS); zsh runs the same
 * function through bashcompinit.
 */
async function bashScript(): Promise<string> {
  const names = Object.keys(COMMANDS);
  const cases: string[] = [];
  for (const name of names) cases.push(`    ${name}) flags=${quote(flagsOf((await COMMANDS[name]!.load()).usage))} ;;`);
  const subcommands = Object.entries(SUBCOMMANDS).map(([name, words]) => `    ${name}) [ "$index" -eq 2 ] && words=${quote(words)} ;;`);
  return `# corral completion (bash): source <(corral completion bash)
_corral_targets() {
  corral ps --json 2>/dev/null | node -e 'const keys = new Set(); for (const p of JSON.parse(require("fs").readFileSync(0, "utf8"))) { keys.add(p.tenant); keys.add(p.tenant + ":" + p.watcher); keys.add(p.key) } console.log([...keys].join(" "))' 2>/dev/null
}
_corral() {
  local line=\${COMP_LINE:0:COMP_POINT}
  local cur=\${line##*[[:space:]]}
  local -a parts
  read -r -a parts <<< "$line"
  local index=\${#parts[@]}
  [ -n "$cur" ] && index=$((index - 1))
  local command=\${parts[1]} flags='' words=''
  if [ "$index" -le 1 ]; then
    words=${quote(names)}
  elif [[ $cur == -* ]]; then
    case "$command" in
${cases.join('\n')}
    esac
    words=$flags
  else
    case "$command" in
    help) [ "$index" -eq 2 ] && words=${quote(names)} ;;
${subcommands.join('\n')}
    ${TAKES_TARGET.join('|')}) words=$(_corral_targets) ;;
    ${TAKES_FILE.join('|')}) words=$(compgen -f -- "$cur") ;;
    esac
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
  # bash replaces only the part after the last colon: offer that part
  if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
    local prefix=\${cur%"\${cur##*:}"}
    COMPREPLY=("\${COMPREPLY[@]#"$prefix"}")
  fi
}
complete -F _corral corral
`;
}

/** `corral completion bash|zsh`: prints the completion script. */
export async function run(argv: string[]): Promise<number> {
  const [shell, ...rest] = argv;
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  if (shell === 'bash') process.stdout.write(await bashScript());
  else if (shell === 'zsh') process.stdout.write(`# corral completion (zsh): source <(corral completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n${await bashScript()}`);
  else throw new UsageError(shell === undefined ? 'the shell is missing: bash or zsh' : `unknown shell ${JSON.stringify(shell)}: bash or zsh`);
  return 0;
}
