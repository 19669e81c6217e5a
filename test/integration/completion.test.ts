// Shell completion as a user meets it: the scripts sourced by a real bash and a real fish with lsm
// on their PATH, global options before `completion`, and a TAB that loads neither yargs, nor
// isomorphic-git, nor any command (issue 20: it took 0.35-0.66 s and listed the fleet's hooks).
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LSM, ROOT } from '../helpers/world.js';

const RECORD = join(ROOT, 'test', 'helpers', 'record-modules.mjs');
const dir = mkdtempSync(join(tmpdir(), 'lsm-completion-'));
symlinkSync(join(ROOT, 'bin', 'lsm'), join(dir, 'lsm'));
const env = { ...process.env, PATH: `${dir}:${process.env.PATH}`, LSM_CONFIG: '/dev/null', LSM_NODE: process.execPath };
const lsm = (...args: string[]) => spawnSync(process.execPath, [LSM, ...args], { encoding: 'utf8', env: { ...env, SHELL: '/bin/bash' } });

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('shell completion', () => {
  it('prints a fish script, also with global options before the command', () => {
    const fish = lsm('completion', 'fish');
    expect(fish.status).toBe(0);
    expect(fish.stdout).toContain("complete -c lsm -f -a '(__lsm_completions)'");
    expect(lsm('--repo', dir, 'completion', 'bash').stdout).toBe(lsm('completion', 'bash').stdout);
    expect(lsm('--no-color', 'completion', 'fish').stdout).toBe(fish.stdout);
    expect(spawnSync(process.execPath, [LSM, 'completion'], { encoding: 'utf8', env: { ...env, SHELL: '/usr/bin/fish' } }).stdout).toBe(fish.stdout);
    const bad = lsm('completion', 'tcsh');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^lsm: .*Choices: "bash", "zsh", "fish"/);
  });

  it('fish, sourcing it, completes commands with their descriptions, options, choices and paths', () => {
    const script = join(dir, 'lsm.fish');
    writeFileSync(script, lsm('completion', 'fish').stdout);
    const complete = (line: string) => spawnSync('fish', ['--no-config', '-c', `source ${script}; complete -C '${line}'`], { encoding: 'utf8', env }).stdout;
    expect(complete('lsm bl')).toMatch(/^blame\twhen did a socket appear/);
    expect(complete('lsm fleet ').split('\n').map((l) => l.split('\t')[0]).filter(Boolean).sort())
      .toEqual(['blame', 'check', 'diff', 'init', 'log', 'reindex', 'status', 'verify', 'where']);
    expect(complete('lsm --repo /x blame --al')).toBe('--all\talso lines that are gone now\n');
    expect(complete('lsm completion ').split('\n').filter(Boolean).sort()).toEqual(['bash', 'fish', 'zsh']);
    expect(complete(`lsm --repo ${dir}/lsm.f`)).toBe(`${dir}/lsm.fish\n`); // a value: file names
  });

  it('bash, sourcing it, completes after global options and lists no hook command', () => {
    const script = lsm('completion', 'bash').stdout;
    const complete = (words: string[]) => spawnSync('bash', ['-c', `eval "$(cat)"; COMP_WORDS=(${words.join(' ')}); COMP_CWORD=${words.length - 1}; _lsm_yargs_completions; printf '%s\\n' "\${COMPREPLY[@]}"`],
      { input: script, encoding: 'utf8', env }).stdout;
    expect(complete(['lsm', '--repo', '/x', 'bl'])).toBe('blame\n');
    expect(complete(['lsm', 'fleet', "''"]).split('\n').filter(Boolean).sort())
      .toEqual(['blame', 'check', 'diff', 'init', 'log', 'reindex', 'status', 'verify', 'where']);
    expect(complete(['lsm', 'fleet', 'gu'])).toBe('\n'); // fleet guard is git's pre-receive hook, not a person's command
  });

  it('a TAB loads no yargs, no isomorphic-git and no command', () => {
    const file = join(dir, 'modules');
    const r = spawnSync(join(dir, 'lsm'), ['--get-yargs-completions', 'lsm', 'fleet', 'st'],
      { encoding: 'utf8', env: { ...env, NODE_OPTIONS: `--import=${RECORD}`, LSM_TEST_MODULES: file } });
    expect(r.stdout.split('\n')).toContain('status'); // (the shell filters by the prefix)
    expect(r.stdout.split('\n')).not.toContain('guard');
    const mods = readFileSync(file, 'utf8').split('\n').filter(Boolean)
      .map((u) => u.replace(`file://${ROOT}/dist/`, '').replace(/^file:\/\/.*\/node_modules\/([^/]+)\/.*/, 'npm:$1'));
    expect(mods).toContain('cli/completion.js'); // it was recorded
    expect(mods.filter((m) => m.startsWith('npm:') || /^cli\/(commands|main|blame|check|scan|status|log|fleet\w*)\.js$/.test(m) || /^(store|run|collect|alert)\//.test(m))).toEqual([]);
  });
});
