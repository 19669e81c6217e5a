// The exit codes cron and scripts rely on, checked in-process (the mutation run reaches src/ only):
// `check --exit-code` exits 3 while the state differs from the approved baseline (drift), whether
// or not this run changed anything, and not for a change that brought the state back to it; a
// busy repository is 75 (EX_TEMPFAIL: cron just tries again), never 1.
import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import check from '../../src/cli/check.js';
import { exitFor } from '../../src/cli/exit.js';
import { EXIT, LsmError } from '../../src/errors.js';
import { lockRepository } from '../../src/store/lock.js';
import { readCommit } from 'isomorphic-git';
import * as fs from 'node:fs';
import { FIXTURES } from '../unit/fixtures.js';
import { testConfig } from '../helpers/config.js';

afterEach(() => { process.exitCode = undefined; });

/** A /proc of our own (the basic fixture, copied), whose host tcp table a test can edit. */
function world() {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-exit-'));
  cpSync(join(FIXTURES, 'basic'), join(dir, 'root'), { recursive: true, verbatimSymlinks: true });
  const proc = join(dir, 'root', 'proc');
  const tcp = join(proc, '1', 'net', 'tcp');
  const original = readFileSync(tcp, 'utf8');
  const config = testConfig(join(dir, 'conf'));
  const repo = join(dir, 'repo');
  return {
    repo,
    /** one more TCP listener (0.0.0.0:4444), or back to the fixture's own table */
    listen4444: (on: boolean) => (on
      ? appendFileSync(tcp, '   9: 00000000:115C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99444 1 0000000000000000 100 0 0 10 0\n')
      : writeFileSync(tcp, original)),
    /** lsm check [--exit-code]: the exit code it leaves */
    check: async (exitCode: boolean): Promise<number> => {
      process.exitCode = undefined;
      await check.handler({ repo, config, proc, 'exit-code': exitCode, quiet: true, _: ['check'], $0: 'lsm' });
      const code = process.exitCode ?? 0;
      process.exitCode = undefined;
      return code;
    },
  };
}

describe('exit codes', () => {
  it('check --exit-code: 3 exactly while there is drift from the baseline, not for every change', async () => {
    const w = world();
    expect(await w.check(true)).toBe(0); // first run: its state becomes the baseline
    w.listen4444(true);
    expect(await w.check(true)).toBe(3); // a change that is drift
    expect(await w.check(true)).toBe(3); // no change this run, but the drift stands
    expect(await w.check(false)).toBe(0); // without --exit-code: 0 all the same
    w.listen4444(false);
    expect(await w.check(true)).toBe(0); // a change back to the baseline: no drift, so 0
    expect(EXIT.CHANGED).toBe(3);
  });

  it('a repository another lsm holds is busy: exit code 75, and the message names the holder', async () => {
    const gitdir = mkdtempSync(join(tmpdir(), 'lsm-busy-'));
    const held = await lockRepository(gitdir);
    try {
      const err = await lockRepository(gitdir, 200).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(LsmError);
      expect((err as LsmError).exitCode).toBe(75);
      expect((err as LsmError).message).toMatch(new RegExp(`^repository is busy: another lsm \\(pid ${process.pid}\\) holds `));
    } finally {
      held.release();
    }
    (await lockRepository(gitdir, 200)).release(); // released: free again
  });

  it('an error at the top: a user error is one line with its own code (75 busy stays 75), a damaged repository 65, a bug 70 with its stack', async () => {
    const gitdir = mkdtempSync(join(tmpdir(), 'lsm-busy-'));
    const held = await lockRepository(gitdir);
    const busy = await lockRepository(gitdir, 100).then(() => null, (e: unknown) => e);
    held.release();
    const b = exitFor(busy);
    expect(b.code).toBe(75);
    expect(b.text).toMatch(/^lsm: repository is busy: another lsm \(pid \d+\) holds \S+lsm\.lock\n$/);
    expect(exitFor(new LsmError('bad value\n  Argument: x\n', EXIT.USAGE))).toEqual({ code: 2, text: 'lsm: bad value Argument: x\n' });
    expect(exitFor(new LsmError('unsafe', EXIT.UNSAFE)).code).toBe(77);
    expect(exitFor(new LsmError('plain')).code).toBe(1);
    // isomorphic-git's own error for an object the repository lacks
    const missing = await readCommit({ fs, gitdir, oid: 'f'.repeat(40) }).then(() => null, (e: unknown) => e);
    const m = exitFor(missing);
    expect(m.code).toBe(65);
    expect(m.text).toMatch(/^lsm: the repository is damaged: object f{40} is missing \(git fsck in it says more; lsm verify checks it\)\n$/);
    expect(m.text.split('\n')).toHaveLength(2);
    const bug = exitFor(new TypeError('x is undefined'));
    expect(bug.code).toBe(70);
    expect(bug.text).toMatch(/^lsm: internal error: TypeError: x is undefined\n\s+at /);
    expect(exitFor('thrown text').text).toBe('lsm: internal error: thrown text\n');
  });
});
