// Which files in the hooks directory are hooks (run-parts' rules), and what a hook's failure says:
// real sh scripts in a temporary directory.
import { describe, expect, it } from 'vitest';
import { chmodSync, closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listHooks, runHook } from '../../src/alert/hooks.js';
import { EXIT, LsmError } from '../../src/errors.js';

function dirWith(files: Record<string, [string, number]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-mut-hooks-'));
  for (const [name, [body, mode]] of Object.entries(files)) {
    writeFileSync(join(dir, name), body);
    chmodSync(join(dir, name), mode);
  }
  return dir;
}

describe('which files are hooks', () => {
  it("run-parts names only, executable files only, in sorted order; a group-writable one is listed as refused, with its mode", () => {
    const sh = '#!/bin/sh\nexit 0\n';
    const dir = dirWith({ '20-b': [sh, 0o700], '10_a': [sh, 0o755], 'Z9': [sh, 0o500], 'x.sh': [sh, 0o755], 'y~': [sh, 0o755], '.hidden': [sh, 0o755], '30-noexec': [sh, 0o644], '40-group': [sh, 0o770], '50-other-x': [sh, 0o601] });
    mkdirSync(join(dir, '60-dir'));
    expect(listHooks(dir).map((h) => [h.name, h.path, h.problem])).toEqual([
      ['10_a', join(dir, '10_a'), null],
      ['20-b', join(dir, '20-b'), null],
      ['40-group', join(dir, '40-group'), 'writable by group (mode 770)'],
      ['50-other-x', join(dir, '50-other-x'), null],
      ['Z9', join(dir, 'Z9'), null],
    ]);
    expect(listHooks(join(dir, 'none'))).toEqual([]);
  });

  it('a hooks directory others may write is refused outright: the check is made again on every look (lsm watch runs for days)', () => {
    const dir = dirWith({ '10-a': ['#!/bin/sh\nexit 0\n', 0o755] });
    expect(listHooks(dir)).toHaveLength(1);
    chmodSync(dir, 0o777);
    let err: unknown;
    try { listHooks(dir); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(LsmError);
    expect((err as LsmError).exitCode).toBe(EXIT.UNSAFE);
    expect((err as Error).message).toMatch(/hooks directory/);
  });
});

describe('what running a hook says', () => {
  it('null on exit 0; else the exit code or signal and the first line of its stderr; a file that cannot be executed is refused or cannot run', { timeout: 20_000 }, async () => {
    const dir = dirWith({
      ok: ['#!/bin/sh\ncat > "$(dirname "$LSM_HOOK")/got"\necho "$X" >> "$(dirname "$LSM_HOOK")/got"\n', 0o755],
      quiet: ['#!/bin/sh\nexit 4\n', 0o755],
      loud: ['#!/bin/sh\nprintf "  first line  \\nsecond\\n" >&2\nexit 1\n', 0o755],
      sig: ['#!/bin/sh\nkill -KILL $$\n', 0o755],
      noexec: ['#!/bin/sh\nexit 0\n', 0o644],
      garbage: ['\x00\x01\x02 not a program', 0o755],
    });
    expect(await runHook(join(dir, 'ok'), 'the change\n', { X: 'from env' })).toBeNull();
    expect(readFileSync(join(dir, 'got'), 'utf8')).toBe('the change\nfrom env\n');
    expect(await runHook(join(dir, 'quiet'), '', {})).toBe('exit 4');
    expect(await runHook(join(dir, 'loud'), '', {})).toBe('exit 1: first line  '); // the first line of what it wrote, trimmed as a whole
    expect(await runHook(join(dir, 'sig'), '', {})).toBe('exit SIGKILL');
    expect(await runHook(join(dir, 'noexec'), '', {})).toBe('refused: not executable');
    expect(await runHook(join(dir, 'garbage'), '', {})).toMatch(/^exit 127: /); // execve says ENOEXEC: the shell tries it, finds no command
    // a hook that exits without reading a large input is done, not an error (EPIPE is ignored)
    expect(await runHook(join(dir, 'quiet'), 'x'.repeat(4 << 20), {})).toBe('exit 4');
  });
});

describe("a hook's environment and output", () => {
  it("runs with lsm's environment, the alert's variables over it and LSM_HOOK naming the hook; stdout is not read", { timeout: 20_000 }, async () => {
    const dir = dirWith({ env: ['#!/bin/sh\nenv > "$(dirname "$LSM_HOOK")/env.out"\nhead -c 300000 /dev/zero\n', 0o755] });
    process.env.LSM_MUT_INHERITED = 'from lsm';
    process.env.LSM_MUT_OVER = 'lsm';
    try {
      expect(await runHook(join(dir, 'env'), '', { LSM_MUT_OVER: 'alert', LSM_ID: 'i d' })).toBeNull();
    } finally {
      delete process.env.LSM_MUT_INHERITED;
      delete process.env.LSM_MUT_OVER;
    }
    const env = Object.fromEntries(readFileSync(join(dir, 'env.out'), 'utf8').trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2)));
    expect(env).toMatchObject({ LSM_MUT_INHERITED: 'from lsm', LSM_MUT_OVER: 'alert', LSM_ID: 'i d', LSM_HOOK: join(dir, 'env'), PATH: process.env.PATH });
  });

  it('keeps exactly the first 2000 characters of what a failing hook writes on stderr, however it comes, and says nothing of a succeeding one', { timeout: 20_000 }, async () => {
    const dir = dirWith({
      loud: ["#!/bin/sh\nhead -c 1000000 /dev/zero | tr '\\0' x >&2\nexit 3\n", 0o755],
      pieces: ['#!/bin/sh\nprintf a >&2\nsleep 0.1\nprintf "b\\nc" >&2\nexit 2\n', 0o755],
      okloud: ['#!/bin/sh\necho warning >&2\nexit 0\n', 0o755],
    });
    expect(await runHook(join(dir, 'loud'), '', {})).toBe(`exit 3: ${'x'.repeat(2000)}`);
    expect(await runHook(join(dir, 'pieces'), '', {})).toBe('exit 2: ab');
    expect(await runHook(join(dir, 'okloud'), '', {})).toBeNull();
  });
});

describe('a hook that cannot be run as it is', () => {
  it('runs as its own name (what ps shows), not as the descriptor it is executed through', async () => {
    const dir = dirWith({});
    copyFileSync('/bin/sh', join(dir, '10-sh')); // a binary hook: a copy of the shell, reading commands from stdin
    chmodSync(join(dir, '10-sh'), 0o755);
    expect(await runHook(join(dir, '10-sh'), `echo "$0" > ${dir}/out\n`, {})).toBeNull();
    expect(readFileSync(join(dir, 'out'), 'utf8')).toBe(`${join(dir, '10-sh')}\n`);
  });

  it('one being written (ETXTBSY) is reported as not run, with why (it resolves, as any failure of a hook does), and runs once it is closed', async () => {
    const dir = dirWith({ '10-busy': ['#!/bin/sh\nexit 0\n', 0o755] });
    const fd = openSync(join(dir, '10-busy'), 'r+'); // an editor or an install holding it open for writing
    try {
      expect(await runHook(join(dir, '10-busy'), '', {})).toBe('cannot run: spawn ETXTBSY');
    } finally {
      closeSync(fd);
    }
    expect(await runHook(join(dir, '10-busy'), '', {})).toBeNull();
  });
});

describe('the limits of a hook', () => {
  it('a hook that ignores SIGTERM is still killed at the time limit, with what it started', { timeout: 20_000 }, async () => {
    const dir = dirWith({ stubborn: [`#!/bin/sh\ntrap '' TERM\nsleep 300 &\necho $! > "$(dirname "$LSM_HOOK")/child.pid"\nwait\n`, 0o755] });
    expect(await runHook(join(dir, 'stubborn'), '', {}, 500)).toBe('killed after 0.5 s');
    const pid = Number(readFileSync(join(dir, 'child.pid'), 'utf8'));
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) { // bounded: 2 s for the kernel to reap it
      try { alive = !/^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { alive = false; }
      if (alive) await new Promise((r) => setTimeout(r, 20));
    }
    expect(alive).toBe(false);
  });

  it('running hooks leaves no descriptor open in lsm (lsm watch runs for days)', { timeout: 20_000 }, async () => {
    const dir = dirWith({ ok: ['#!/bin/sh\nexit 0\n', 0o755], bad: ['#!/bin/sh\nexit 1\n', 0o755] });
    const open = () => readdirSync('/proc/self/fd').length;
    await runHook(join(dir, 'ok'), '', {});
    const before = open();
    for (let i = 0; i < 10; i++) {
      expect(await runHook(join(dir, 'ok'), 'x\n', {})).toBeNull();
      expect(await runHook(join(dir, 'bad'), '', {})).toBe('exit 1');
    }
    expect(open()).toBe(before);
  });
});
