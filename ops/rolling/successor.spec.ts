import { describe, expect, it } from 'vitest';
import { successorArgv, type ServeCommand } from './successor.js';

const command = (argv: string[]): ServeCommand => ({ execPath: '/usr/bin/node', execArgv: [], argv: ['/opt/corral/bin/corral.js', ...argv], cwd: '/srv' });

describe('successorArgv', () => {
  it('keeps the flags, pins --port to the bound port and makes --data-dir absolute', () => {
    expect(successorArgv(command(['serve', '--config', 'corral.yaml', '--port', '8080', '--data-dir', 'data']), { port: 8080, dataDir: 'data' })).toEqual([
      '/opt/corral/bin/corral.js', 'serve', '--config', 'corral.yaml', '--port', '8080', '--data-dir', '/srv/data',
    ]);
  });

  it('replaces --flag=value forms and repeated flags in place, and adds missing ones', () => {
    expect(successorArgv(command(['serve', '--port=0', '--log-level', 'debug', '--port', '9']), { port: 4000, dataDir: '/var/lib/corral' })).toEqual([
      '/opt/corral/bin/corral.js', 'serve', '--port', '4000', '--log-level', 'debug', '--data-dir', '/var/lib/corral',
    ]);
  });

  it('takes other serve flags and another installation for an upgrade', () => {
    const argv = successorArgv(command(['serve', '--model-api-max', '1', '--port', '8080']), {
      port: 8080,
      dataDir: '/d',
      serveArgs: ['--config', '/etc/corral/corral.yaml'],
      bin: '/opt/corral-2/bin/corral.js',
    });
    expect(argv).toEqual(['/opt/corral-2/bin/corral.js', 'serve', '--config', '/etc/corral/corral.yaml', '--port', '8080', '--data-dir', '/d']);
  });

  it('refuses a process that was not started as corral serve', () => {
    expect(() => successorArgv(command(['minion', '--server', 'x']), { port: 1, dataDir: '/d' })).toThrow(/not started as "corral serve"/);
  });
});
