// History questions: blame intervals, agreement with git blame / git log -S, the journal's verify
// and reindex, log filters, drift and its reminder, and packing as history grows.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitSnapshot } from '../../src/store/commit.js';
import type { Snapshot } from '../../src/types.js';
import { LSM } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' });
const T0 = Date.parse('2026-01-01T00:00:00Z');
const H = 3_600_000;
const A = '0.0.0.0:22  sshd  root  /usr/sbin/sshd';
const B = '127.0.0.1:631  cupsd  root  /usr/sbin/cupsd';
const C = '0.0.0.0:4444  nc  root  /usr/bin/nc';
const U = '/run/app.sock  stream  app  www-data  /usr/bin/app';
const snap = (tcp: string[], unix: string[] = [], web: string[] = []): Snapshot => {
  const s: Snapshot = new Map([['host/tcp', tcp], ['host/udp', []], ['host/unix', unix]]);
  if (web.length) s.set('netns/web/tcp', web);
  return s;
};

function run(config: string, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [LSM, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', LSM_CONFIG: config } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** stdout of a run that must succeed (exit 0, nothing on stderr) */
function out(config: string, ...args: string[]): string {
  const r = run(config, ...args);
  expect([r.code, r.stderr], args.join(' ')).toEqual([0, '']);
  return r.stdout;
}

/** A, B from the start; C appears at +1h; A vanishes at +2h and returns at +3h; C vanishes at +4h. */
async function knownHistory() {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-hist-'));
  const repo = join(dir, 'repo');
  const config = testConfig(join(dir, 'etc'));
  const c: string[] = [];
  for (const [i, s] of [snap([A, B]), snap([A, B, C], [U]), snap([B, C], [U], ['0.0.0.0:80  nginx  root  /usr/sbin/nginx']), snap([A, B, C], [U]), snap([A, B], [U])].entries()) {
    c.push((await commitSnapshot(repo, s, { now: T0 + i * H }))!.commit);
  }
  return { repo, config, c };
}

/** blame --json's matches, with the fields these tests compare */
const matches = (stdout: string) => (JSON.parse(stdout).matches as { path: string; line: string; intervals: unknown[] }[]).map(({ path, line, intervals }) => ({ path, line, intervals }));

describe('blame', () => {
  it('gives every interval of every matching line, as git blame and git log -S do', async () => {
    const { repo, config, c } = await knownHistory();
    const all = matches(out(config, 'blame', '--all', '--json', '22/tcp', '--repo', repo));
    const t = (i: number) => ({ commit: c[i], time: new Date(T0 + i * H).toISOString() });
    expect(all).toEqual([{ path: 'host/tcp', line: A, intervals: [{ from: t(0), to: t(2) }, { from: t(3), to: null }] }]);
    const nc = matches(out(config, 'blame', '--all', '--json', '4444', '--repo', repo));
    expect(nc).toEqual([{ path: 'host/tcp', line: C, intervals: [{ from: t(1), to: t(4) }] }]);
    expect(matches(run(config, 'blame', '--json', '4444', '--repo', repo).stdout)).toEqual([]); // gone now
    expect(matches(out(config, 'blame', '--json', '127.0.0.1:631', '--repo', repo))[0].intervals).toEqual([{ from: t(0), to: null }]);
    expect(matches(out(config, 'blame', '--json', '/run/app.sock', '--repo', repo))[0].intervals).toEqual([{ from: t(1), to: null }]);
    expect(matches(out(config, 'blame', '--json', '--all', 'nginx', '--repo', repo))[0]).toMatchObject({ path: 'netns/web/tcp', intervals: [{ from: t(2), to: t(3) }] });

    // the real git agrees: git blame names the commit of the last appearance of each present line
    const porcelain = git(repo, 'blame', '--line-porcelain', 'host/tcp');
    const gitBlame = new Map([...porcelain.matchAll(/^([0-9a-f]{40}) \d+ \d+.*\n(?:[^\t].*\n)*\t(.*)$/gm)].map((m) => [m[2], m[1]]));
    for (const line of [A, B]) {
      const ours = matches(out(config, 'blame', '--json', line, '--repo', repo))[0];
      expect(ours.intervals[ours.intervals.length - 1].from.commit).toBe(gitBlame.get(line));
    }
    // and git log -S lists exactly the commits where a line appeared or vanished
    for (const [line, ours] of [[A, all[0]], [C, nc[0]]] as const) {
      const pickaxe = git(repo, 'log', '--format=%H', `-S${line}`, '--', 'host/tcp').trim().split('\n').reverse();
      expect(pickaxe).toEqual(ours.intervals.flatMap((i: { from: { commit: string }; to: { commit: string } | null }) => [i.from.commit, ...(i.to ? [i.to.commit] : [])]));
    }
    // a wildcard listener serves every address: 127.0.0.1:22 is answered by 0.0.0.0:22 (and [::]:22)
    expect(matches(out(config, 'blame', '--json', '127.0.0.1:22', '--repo', repo)).map((b) => b.line)).toEqual([A]);
    expect(matches(run(config, 'blame', '--json', '0.0.0.0:631', '--repo', repo).stdout)).toEqual([]); // not the other way round
    // nothing matches: exit 1, as grep and git grep
    const none = run(config, 'blame', '9999', '--repo', repo);
    expect([none.code, none.stdout, none.stderr]).toEqual([1, '', "lsm: nothing matches '9999' now (--all: also what is gone)\n"]);
    expect(run(config, 'blame', '--json', '4444', '--repo', repo).code).toBe(1);
    expect(run(config, 'blame', '4444', '--all', '--repo', repo).code).toBe(0);
    const text = run(config, 'blame', '22', '--repo', repo).stdout;
    expect(text).toContain(`host/tcp  ${A}\n  first seen  2026-01-01T00:00:00Z  ${c[0].slice(0, 10)}`);
    expect(text).toContain(`present     2026-01-01T00:00:00Z ${c[0].slice(0, 10)} .. 2026-01-01T02:00:00Z ${c[2].slice(0, 10)} (removed)`);
  });

  it('verify finds a journal that no longer matches history; reindex repairs it; a journal behind HEAD is caught up', async () => {
    const { repo, config, c } = await knownHistory();
    expect(run(config, 'verify', '--repo', repo)).toMatchObject({ code: 0, stdout: 'journal matches history (5 commits)\n' });
    const journal = join(repo, '.git', 'lsm', 'journal.jsonl');
    writeFileSync(journal, readFileSync(journal, 'utf8').replace('4444', '4445'));
    const bad = run(config, 'verify', '--repo', repo);
    expect([bad.code, bad.stderr]).toEqual([1, `lsm: journal does not match history: record 2 (commit ${c[1].slice(0, 10)}) does not match history (run lsm reindex)\n`]);
    expect(out(config, 'reindex', '--repo', repo)).toBe('journal rebuilt from 5 commits\n');
    expect(run(config, 'verify', '--repo', repo).code).toBe(0);
    // equal in value but not as JSON.stringify writes it: blame's search would miss it, so verify fails
    writeFileSync(journal, readFileSync(journal, 'utf8').replace(':4444', ':\\u0034444')); // \u0034 is '4'
    expect(run(config, 'verify', '--repo', repo).code).toBe(1);
    expect(run(config, 'reindex', '--repo', repo).code).toBe(0);
    // a scan killed between commit and journal append: the last record is missing, or torn
    const full = readFileSync(journal, 'utf8');
    truncateSync(journal, full.length - full.split('\n').at(-2)!.length - 1 + 20);
    expect(matches(out(config, 'blame', '--json', '--all', '4444', '--repo', repo))[0].intervals[0].to.commit).toBe(c[4]);
    expect(readFileSync(journal, 'utf8')).toBe(full);
    await commitSnapshot(repo, snap([A]), { now: T0 + 5 * H });
    expect(run(config, 'verify', '--repo', repo).code).toBe(0);
  });
});

describe('log', () => {
  it('filters by time, by what changed and by namespace, and shows diffs', async () => {
    const { repo, config, c } = await knownHistory();
    const ids = (args: string[]) => out(config, 'log', '--json', '--repo', repo, ...args).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).change.commit);
    expect(ids([])).toEqual([...c].reverse());
    expect(ids(['--since', '2026-01-01T02:00:00Z'])).toEqual([c[4], c[3], c[2]]);
    expect(ids(['--until', '2026-01-01T01:00:00Z'])).toEqual([c[1], c[0]]);
    expect(ids(['--grep', '4444'])).toEqual([c[4], c[1]]);
    expect(ids(['--grep', '22/tcp'])).toEqual([c[3], c[2], c[0]]);
    expect(ids(['--netns', 'web'])).toEqual([c[3], c[2]]);
    expect(ids(['-n', '2'])).toEqual([c[4], c[3]]);
    const p = out(config, 'log', '-p', '-n', '1', '--repo', repo);
    expect(p).toContain(`-${C}`);
    const stat = out(config, 'log', '--stat', '-n', '1', '--repo', repo);
    expect(stat).toBe(`${c[4].slice(0, 10)} 2026-01-01T04:00:00Z +0 -1: host/tcp -1\n host/tcp | - 1\n`);
  });
});

describe('drift', () => {
  it('says what differs from the approved baseline, since when, and who approved it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-drift-'));
    const repo = join(dir, 'repo');
    const config = testConfig(join(dir, 'etc'));
    await commitSnapshot(repo, snap([A]), { now: Date.now() - 2 * H });
    expect(run(config, 'accept', 'HEAD', '-m', 'approved after the audit', '--repo', repo).code).toBe(0);
    expect(out(config, 'drift', '--repo', repo)).toMatch(/approved by \S+ at .* \(approved after the audit\)\nno drift/);
    await commitSnapshot(repo, snap([A, C]), { now: Date.now() - H });
    const d = JSON.parse(out(config, 'drift', '--json', '--repo', repo));
    expect(d.drift).toEqual([expect.objectContaining({ path: 'host/tcp', line: C, change: 'added', since: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), commit: git(repo, 'rev-parse', 'HEAD').trim() })]);
    expect(run(config, 'drift', '--repo', repo).stdout).toMatch(/^\+ host\/tcp  0\.0\.0\.0:4444  nc  root  \/usr\/bin\/nc  since \S+ \(1h 0m\)$/m);
    expect(run(config, 'drift', '--exit-code', '--repo', repo).code).toBe(3);
    // lsm diff --exit-code: 3 when the two differ, 0 when not, as the exit-code table says
    expect(run(config, 'diff', 'baseline', 'HEAD', '--exit-code', '--repo', repo)).toMatchObject({ code: 3, stdout: expect.stringContaining(`+${C}`) });
    expect(run(config, 'diff', 'baseline', 'HEAD', '--exit-code', '-q', '--repo', repo)).toMatchObject({ code: 3, stdout: '' });
    expect(run(config, 'diff', 'HEAD', 'HEAD', '--exit-code', '--repo', repo)).toMatchObject({ code: 0, stdout: '' });
    expect(run(config, 'diff', 'baseline', 'HEAD', '--repo', repo).code).toBe(0);
    const added = (await commitSnapshot(repo, snap([A, C]), { now: Date.now() })) ?? null;
    expect(added).toBeNull(); // unchanged: C's time is the commit that added it
    const removed = (await commitSnapshot(repo, snap([C]), { now: Date.now() - H / 2 }))!;
    // a removed line's 'since' is when it was removed, an added line's when it was added
    const lines = JSON.parse(out(config, 'drift', '--json', '--repo', repo)).drift;
    expect(lines.map((l: { change: string; line: string; since: string }) => [l.change, l.line, l.since])).toEqual([
      ['added', C, d.drift[0].since],
      ['removed', A, new Date(removed.time).toISOString()],
    ]);
    expect(out(config, 'drift', '--repo', repo)).toMatch(/^- host\/tcp  0\.0\.0\.0:22  sshd  root  \/usr\/sbin\/sshd  gone since \S+ \(30m\)$/m); // since removed, not since added (2h)
  });

  it('reminds about unapproved drift older than DRIFT_REMINDER_HOURS, at most that often', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-remind-'));
    const repo = join(dir, 'repo');
    const etc = join(dir, 'etc');
    const config = testConfig(etc, { DRIFT_REMINDER_HOURS: '0.003' }); // 10.8 s: the run after a reminder must start sooner, even under CPU load
    const proc = (name: string) => join(__dirname, '..', 'fixtures', name, 'proc');
    expect(run(config, '-g', '--proc', proc('basic'), '--repo', repo).code).toBe(0);
    const changed = run(config, '-c', '--proc', proc('hostile'), '--repo', repo);
    expect(changed.code).toBe(0); // drift without --exit-code is no failure
    expect(changed.stdout).toMatch(/^drift from baseline [0-9a-f]{10}: \+6 -15: /m);
    expect(changed.stdout).not.toContain('reminder sent'); // the drift is new
    await new Promise((r) => setTimeout(r, 11_000));
    const due = run(config, '-c', '--proc', proc('hostile'), '--repo', repo);
    expect(due.code).toBe(0);
    expect(due.stdout).toMatch(/reminder sent\n$/);
    const events = readFileSync(join(etc, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(events.map((e) => e.summary.split(':')[0])).toEqual(['+6 -15', 'reminder']);
    // the reminder names the owners alive now (as lsm status does), not 'unknown now'
    const ownersNow = (e: { added: { owners: unknown[] }[] }) => e.added.filter((l) => l.owners.length > 0).length;
    expect(ownersNow(events[1])).toBe(ownersNow(events[0]));
    expect(ownersNow(events[1])).toBeGreaterThan(0);
    // and credits each difference to the commit that made it, not to HEAD
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    const drift = JSON.parse(out(config, 'drift', '--json', '--repo', repo)).drift as { commit: string }[];
    expect(new Set(drift.map((l) => l.commit))).toEqual(new Set([head]));
    const before = git(repo, 'rev-parse', 'HEAD').trim();
    // accept with no revision approves HEAD without scanning (basic's sockets would be a new commit)
    const accepted = run(config, 'accept', '--proc', proc('basic'), '--repo', repo);
    expect(accepted.code).toBe(0);
    expect(git(repo, 'rev-parse', 'HEAD').trim()).toBe(before);
    expect(git(repo, 'rev-parse', 'refs/lsm/baseline').trim()).toBe(before);
    expect(run(config, '-g', '--proc', proc('hostile'), '--repo', repo).code).toBe(0); // back to the state it had
    expect(run(config, '-c', '--proc', proc('hostile'), '--repo', repo).stdout).toBe(''); // not again so soon
    expect(run(config, 'accept', 'HEAD', '--repo', repo).code).toBe(0);
    expect(run(config, 'drift', '--exit-code', '--repo', repo).code).toBe(0);
    expect(git(repo, 'reflog', 'show', '--format=%gs', 'refs/lsm/baseline').trim().split('\n')).toEqual(['baseline approved with lsm accept', 'baseline approved with lsm -g', 'baseline approved with lsm accept', 'baseline approved with lsm -g']);
  });
});

describe('growth', () => {
  it('packs loose objects as history grows; git fsck and lsm still read everything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-pack-'));
    const repo = join(dir, 'repo');
    const config = testConfig(join(dir, 'etc'));
    await commitSnapshot(repo, snap([A]), { now: T0 });
    git(repo, 'config', 'lsm.packEvery', '10'); // default 500 commits; small here to see it happen
    for (let i = 1; i <= 40; i++) await commitSnapshot(repo, snap([A, `0.0.0.0:${5000 + i}  svc  root  /svc`]), { now: T0 + i * 60_000 });
    expect(readdirSync(join(repo, '.git', 'objects', 'pack')).some((f) => f.endsWith('.pack'))).toBe(true);
    expect(Number(/count: (\d+)/.exec(git(repo, 'count-objects', '-v'))![1])).toBeLessThan(40);
    execFileSync('git', ['-C', repo, 'fsck', '--strict']);
    expect(run(config, 'verify', '--repo', repo).code).toBe(0); // reads every commit and blob, packed now
    expect(out(config, 'show', 'HEAD~20', '--repo', repo)).toContain('+0.0.0.0:5020  svc  root  /svc');
    await commitSnapshot(repo, snap([A]), { now: T0 + 41 * 60_000 });
    expect(git(repo, 'status', '--porcelain')).toBe('');
  });
});
