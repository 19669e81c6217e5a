// The command line as a user meets it: --help on every command, --version, LSM's flags, no colour
// off a terminal.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LSM, ROOT } from '../helpers/world.js';

const lsm = (...args: string[]) => spawnSync(process.execPath, [LSM, ...args], { encoding: 'utf8', env: { ...process.env, LSM_CONFIG: '/dev/null' } });
const COMMANDS = ['scan', 'status', 'log', 'show', 'diff', 'baseline', 'check', 'forget', 'flush', 'config', 'install', 'uninstall', 'watch', 'blame', 'drift', 'reindex', 'verify', 'accept'];

describe('command line', () => {
  it('has --help on every command, and --version', { timeout: 240_000 }, () => {
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

  it('prints bash and zsh completion scripts; bash completes lsm bl to blame', () => {
    const bash = lsm('completion', 'bash');
    expect(bash.status).toBe(0);
    expect(bash.stdout).toContain('complete -o bashdefault -o default -F _lsm_yargs_completions lsm');
    expect(lsm('completion').stdout).toBe(bash.stdout); // bash unless $SHELL is zsh
    const zsh = lsm('completion', 'zsh');
    expect(zsh.stdout).toMatch(/^#compdef lsm\n/);
    expect(zsh.stdout).toContain('compdef _lsm_yargs_completions lsm');
    // the script, sourced by a real bash with lsm on its PATH, asked to complete 'lsm bl'
    const bin = mkdtempSync(join(tmpdir(), 'lsm-completion-'));
    symlinkSync(join(ROOT, 'bin', 'lsm'), join(bin, 'lsm'));
    const complete = (words: string[]) => spawnSync('bash', ['-c', `eval "$(cat)"; COMP_WORDS=(${words.join(' ')}); COMP_CWORD=${words.length - 1}; _lsm_yargs_completions; printf '%s\\n' "\${COMPREPLY[@]}"`],
      { input: bash.stdout, encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, LSM_CONFIG: '/dev/null', LSM_NODE: process.execPath } }).stdout;
    expect(complete(['lsm', 'bl'])).toBe('blame\n');
    expect(complete(['lsm', 'blame', '--al'])).toBe('--all\n');
  });
});
