// The approved baseline is refs/lsm/baseline, and each move of it a line of the ref's reflog in
// git's own format: the real git reads the ref and the log lsm writes, and lsm reads the moves git
// records. Who approved (the sudo user), when (seconds, the local offset), and why (one line).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { approver, baselineHistory, moveBaseline, readBaseline } from '../../src/store/baseline.js';
import { commitSnapshot } from '../../src/store/commit.js';
import { openRepo } from '../../src/store/repo.js';
import { LsmError } from '../../src/errors.js';

const ENV = { SUDO_USER: process.env.SUDO_USER };
afterEach(() => {
  for (const [k, v] of Object.entries(ENV)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
});

const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: { ...process.env, GIT_COMMITTER_NAME: 'Git User', GIT_COMMITTER_EMAIL: 'g@example.org' } }).trim();
const ZERO = '0'.repeat(40);
const T = Date.UTC(2026, 0, 15, 12, 0, 0, 789); // January: no daylight saving on either side

async function twoCommits() {
  const dir = join(mkdtempSync(join(tmpdir(), 'lsm-baseline-')), 'repo');
  const c0 = (await commitSnapshot(dir, new Map([['host/tcp', ['0.0.0.0:22  sshd  root  /usr/sbin/sshd']]])))!.commit;
  const c1 = (await commitSnapshot(dir, new Map([['host/tcp', ['0.0.0.0:80  nginx  root  /usr/sbin/nginx']]])))!.commit;
  return { dir, repo: openRepo(dir), c0, c1, log: join(dir, '.git/logs/refs/lsm/baseline') };
}

describe('the baseline ref and its log', () => {
  it('each move sets the ref git reads and appends one reflog line git reads: from, to, who, when, why', async () => {
    const { dir, repo, c0, c1, log } = await twoCommits();
    process.env.SUDO_USER = 'alice';
    expect(await readBaseline(repo)).toBeNull();
    expect(baselineHistory(repo)).toEqual([]); // no log yet
    const first = await moveBaseline(repo, c0, 'first lsm -c', T);
    expect(first).toEqual({ from: null, to: c0, who: 'alice', time: T, message: 'first lsm -c' });
    expect(await readBaseline(repo)).toBe(c0);
    expect(git(dir, 'rev-parse', 'refs/lsm/baseline')).toBe(c0);
    expect(readFileSync(log, 'utf8')).toBe(`${ZERO} ${c0} alice <alice@${hostname()}> ${Math.floor(T / 1000)} +0000\tfirst lsm -c\n`);
    await moveBaseline(repo, c1, 'approved by hand', T + 5000);
    expect(git(dir, 'rev-parse', 'refs/lsm/baseline')).toBe(c1);
    expect(git(dir, 'log', '-g', '--format=%H|%gs|%gn|%ge', 'refs/lsm/baseline').split('\n')).toEqual([
      `${c1}|approved by hand|alice|alice@${hostname()}`,
      `${c0}|first lsm -c|alice|alice@${hostname()}`,
    ]);
    const sec = Math.floor(T / 1000) * 1000; // git keeps seconds
    expect(baselineHistory(repo)).toEqual([
      { from: null, to: c0, who: 'alice', time: sec, message: 'first lsm -c' },
      { from: c0, to: c1, who: 'alice', time: sec + 5000, message: 'approved by hand' },
    ]);
    git(dir, 'fsck', '--strict');
  });

  it('forgetting the baseline deletes the ref and logs a move to nothing; forgetting none changes no ref', async () => {
    const { dir, repo, c0 } = await twoCommits();
    process.env.SUDO_USER = 'bob';
    expect(await moveBaseline(repo, null, 'nothing to forget', T)).toEqual({ from: null, to: null, who: 'bob', time: T, message: 'nothing to forget' });
    await moveBaseline(repo, c0, 'set', T + 1000);
    const gone = await moveBaseline(repo, null, 'forget', T + 2000);
    expect(gone).toMatchObject({ from: c0, to: null });
    expect(await readBaseline(repo)).toBeNull();
    expect(() => git(dir, 'rev-parse', '--verify', '--quiet', 'refs/lsm/baseline')).toThrow();
    expect(baselineHistory(repo).map((m) => [m.from, m.to, m.message])).toEqual([[null, null, 'nothing to forget'], [null, c0, 'set'], [c0, null, 'forget']]);
  });

  it('the approver is the sudo user when there is one, else the user lsm runs as', () => {
    process.env.SUDO_USER = 'carol';
    expect(approver()).toBe('carol');
    process.env.SUDO_USER = '';
    expect(approver()).toBe(userInfo().username);
    delete process.env.SUDO_USER;
    expect(approver()).toBe(userInfo().username);
  });

  it("a name or reason holding <, >, a newline or a tab cannot break the log's line", async () => {
    const { dir, repo, c0 } = await twoCommits();
    process.env.SUDO_USER = 'eve <evil@x>\nfake';
    await moveBaseline(repo, c0, 'line one\nline\ttwo <x>', T);
    expect(baselineHistory(repo)).toEqual([{ from: null, to: c0, who: 'eve _evil@x__fake', time: Math.floor(T / 1000) * 1000, message: 'line one_line_two _x_' }]);
    expect(readFileSync(join(dir, '.git/logs/refs/lsm/baseline'), 'utf8').split('\n')).toHaveLength(2);
    expect(git(dir, 'log', '-g', '--format=%gn|%gs', 'refs/lsm/baseline')).toBe('eve _evil@x__fake|line one_line_two _x_');
  });

  it("the time is written with the machine's offset, as git writes and reads it, east and west, with minutes", async () => {
    const { dir, repo, c0, c1, log } = await twoCommits();
    // the zone is the machine's: Date's offset is set here per case (a worker thread, as the
    // mutation run uses, cannot change its zone through TZ), as zones east and west report it
    const zones: [number, string][] = [[0, '+0000'], [-330, '+0530'], [210, '-0330'], [-345, '+0545'], [600, '-1000'], [-840, '+1400']];
    const spy = vi.spyOn(Date.prototype, 'getTimezoneOffset');
    try {
      for (const [minutes] of zones) { spy.mockReturnValue(minutes); await moveBaseline(repo, c0, 'x', T); await moveBaseline(repo, c1, 'y', T); }
    } finally {
      spy.mockRestore();
    }
    const sec = String(Math.floor(T / 1000));
    const offsets = readFileSync(log, 'utf8').trim().split('\n').map((l) => / (\d+) ([+-]\d{4})\t/.exec(l)!.slice(1));
    expect(offsets).toEqual(zones.flatMap(([, tz]) => [[sec, tz], [sec, tz]]));
    expect(git(dir, 'log', '-g', '--date=raw', '--format=%gd', 'refs/lsm/baseline').split('\n').reverse()).toEqual(zones.flatMap(([, tz]) => [`lsm/baseline@{${sec} ${tz}}`, `lsm/baseline@{${sec} ${tz}}`]));
    expect(baselineHistory(repo)).toHaveLength(zones.length * 2); // every offset read back
  });

  it('reads moves git itself recorded, and skips lines that are not moves', async () => {
    const { dir, repo, c0, c1, log } = await twoCommits();
    process.env.SUDO_USER = 'alice';
    await moveBaseline(repo, c0, 'by lsm', T);
    git(dir, 'update-ref', '-m', 'by git', 'refs/lsm/baseline', c1);
    appendFileSync(log, `not a move\n${c0} ${c1} x <x> 12 +0000 no tab\n${c0.toUpperCase()} ${c1} x <x> 12 +0000\tupper\njunk ${c0} ${c1} x <x> 12 +0000\tprefixed\n`);
    const moves = baselineHistory(repo);
    expect(moves.map((m) => [m.from, m.to, m.who, m.message])).toEqual([[null, c0, 'alice', 'by lsm'], [c0, c1, 'Git User', 'by git']]);
    expect(moves[1].time % 1000).toBe(0);
    expect(Math.abs(moves[1].time - Date.now())).toBeLessThan(600_000);
    expect(await readBaseline(repo)).toBe(c1);
  });

  it('a move that cannot be recorded fails with one line and exit code 1', async () => {
    const { dir, repo, c0 } = await twoCommits();
    rmSync(join(dir, '.git/logs'), { recursive: true, force: true });
    mkdirSync(join(dir, '.git/logs/refs'), { recursive: true });
    writeFileSync(join(dir, '.git/logs/refs/lsm'), 'a file where the directory goes\n');
    const err = await moveBaseline(repo, c0, 'x', T).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(LsmError);
    expect((err as LsmError).message).toMatch(/^cannot move the baseline: /);
    expect((err as LsmError).exitCode).toBe(1);
    expect(await readBaseline(repo)).toBeNull(); // nothing moved
  });
});
