// `lsm check`'s options as yargs reads them (flags that take no value, -q for --quiet), and the
// first check with no baseline: it approves the state it found, and the baseline's log says why.
// And the exit code of an error that reaches the top: a system error lsm did not turn into an
// LsmError is a bug (70), not a damaged repository (that is isomorphic-git's errors only).
import { describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs, { type Argv } from 'yargs';
import check from '../../src/cli/check.js';
import { exitFor } from '../../src/cli/exit.js';
import { baselineHistory, readBaseline } from '../../src/store/baseline.js';
import { headCommit, openRepo } from '../../src/store/repo.js';
import { FIXTURES } from '../unit/fixtures.js';
import { testConfig } from '../helpers/config.js';

describe('lsm check', () => {
  it('--json, --quiet (-q) and --exit-code are flags: a word after one is not its value', async () => {
    const parse = (args: string[]) => (check.builder as (y: Argv) => Argv)(yargs(args)).exitProcess(false).parseSync();
    const a = parse(['--json', 'x', '-q', 'y', '--exit-code', 'z']);
    expect([a.json, a.quiet, a['exit-code'], a._]).toEqual([true, true, true, ['x', 'y', 'z']]);
    const b = parse([]);
    expect([b.json, b.quiet, b['exit-code']]).toEqual([undefined, undefined, undefined]);
    expect(parse(['--quiet']).q).toBe(true);
    expect(check.command).toBe('check');
  });

  it('with no baseline, approves the current state and records why in the baseline log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-check-'));
    cpSync(join(FIXTURES, 'basic'), join(dir, 'root'), { recursive: true, verbatimSymlinks: true });
    const repo = join(dir, 'repo');
    const args = { repo, config: testConfig(join(dir, 'conf')), proc: join(dir, 'root', 'proc'), quiet: true, _: ['check'], $0: 'lsm' };
    await check.handler(args);
    const r = openRepo(repo);
    const head = await headCommit(r);
    expect(await readBaseline(r)).toBe(head);
    expect(baselineHistory(r).map((m) => [m.from, m.to, m.message])).toEqual([[null, head, 'first lsm -c: no baseline yet']]);
    await check.handler(args); // a baseline now: not moved again
    expect(baselineHistory(r)).toHaveLength(1);
  });
});

describe('an error at the top of a command', () => {
  it("a system error with a code, or an error naming a caller, is a bug (70) unless it is isomorphic-git's (both)", () => {
    const enoent = Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' });
    expect(exitFor(enoent).code).toBe(70);
    expect(exitFor(enoent).text).toMatch(/^lsm: internal error: Error: ENOENT/);
    expect(exitFor(Object.assign(new Error('x'), { caller: 'git.readCommit' })).code).toBe(70);
    expect(exitFor(Object.assign(new Error('Could not find abc.'), { caller: 'git.readCommit', code: 'NotFoundError' }))).toEqual({
      code: 65, text: 'lsm: the repository is damaged: an object is missing (git fsck in it says more; lsm verify checks it)\n',
    });
    expect(exitFor({ caller: 'x', code: 'y', message: 'not an Error' }).code).toBe(70);
  });
});
