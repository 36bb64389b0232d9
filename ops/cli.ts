/** The `corral` command line (DESIGN.md §14). */
export async function main(argv: string[]): Promise<void> {
  process.stdout.write(`usage: corral <command>\n(no commands yet: ${argv.join(' ')})\n`);
}
