// The command line as a user meets it: --help on every command, --version, LSM's flags, no colour
// off a terminal.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { LSM } from '../helpers/world.js';

const lsm = (...args: string[]) => spawnSync(process.execPath, [LSM, ...args], { encoding: 'utf8', env: { ...process.env, LSM_CONFIG: '/dev/null' } });
const COMMANDS = ['scan', 'status', 'log', 'show', 'diff', 'baseline', 'check', 'forget', 'flush', 'config', 'install', 'uninstall', 'watch', 'blame', 'drift', 'reindex', 'verify'];

describe('command line', () => {
  it('has --help on every command, and --version', () => {
    for (const c of COMMANDS) {
      const r = lsm(c, '--help');
      expect(r.status, c).toBe(0);
      expect(r.stdout, c).toMatch(new RegExp(`^lsm ${c}\\b`, 'm'));
      expect(r.stdout, c).not.toMatch(/\x1b\[/); // no colour off a terminal
    }
    const top = lsm('--help');
    for (const c of COMMANDS) expect(top.stdout).toContain(`lsm ${c}`);
    expect(top.stdout).toContain('Exit codes:');
    expect(lsm('--version').stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it("maps LSM's -g, -c and -d onto commands, with their own help", () => {
    expect(lsm('-g', '--help').stdout).toMatch(/^lsm baseline/m);
    expect(lsm('-c', '--help').stdout).toMatch(/^lsm check/m);
    expect(lsm('-d', '--help').stdout).toMatch(/^lsm forget/m);
  });
});
