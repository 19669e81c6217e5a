// Committing a snapshot (commit.ts) and the journal each commit appends (journal.ts), on real
// repositories the real git checks: a commit only when something changed; the work tree and index
// always HEAD's (a namespace gone takes its directories with it), and brought back to HEAD after a
// run killed between commit and checkout (its marker left behind); the journal caught up, cut or
// rebuilt to match history, and left alone when it already does.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { commitSnapshot } from '../../src/store/commit.js';
import { appendRecord, catchUpJournal, rebuildJournal, recordOf, recordsFromHistory, verifyJournal } from '../../src/store/journal.js';
import { journalPath, readJournal } from '../../src/store/journal-read.js';
import { commitChange } from '../../src/store/history.js';
import { openRepo } from '../../src/store/repo.js';
import { lockRepository } from '../../src/store/lock.js';
import { LsmError } from '../../src/errors.js';
import { T, git, newRepoDir, tcp } from '../helpers/store.js';

/** git agrees: objects sound, work tree and index exactly HEAD's, nothing else in the work tree. */
function clean(dir: string) {
  git(dir, 'fsck', '--strict');
  expect(git(dir, 'status', '--porcelain', '--untracked-files=all', '--ignored')).toBe('');
}

describe('committing a snapshot', () => {
  it('commits only a change; git sees every file, the time in seconds and lsm@host as author', async () => {
    const dir = newRepoDir('commit');
    const snap = new Map([['host/tcp', tcp(22)], ['host/raw', []]]);
    const first = await commitSnapshot(dir, snap, { now: T + 1999, host: 'h1' });
    expect(first).toMatchObject({ parent: null, time: T + 1000, summary: 'first snapshot +1 -0: host/tcp +1' });
    expect(git(dir, 'log', '--format=%H %at %an <%ae> %s').trim()).toBe(`${first!.commit} ${(T + 1000) / 1000} lsm <lsm@h1> first snapshot +1 -0: host/tcp +1`);
    expect(git(dir, 'ls-files', '-s').trim().split('\n').map((l) => l.split(/\s+/).pop())).toEqual(['host/raw', 'host/tcp']);
    expect(readFileSync(join(dir, 'host/tcp'), 'utf8')).toBe(`${tcp(22)[0]}\n`);
    expect(readFileSync(join(dir, 'host/raw'), 'utf8')).toBe('');
    clean(dir);
    expect(await commitSnapshot(dir, new Map(snap), { now: T + 5000 })).toBeNull();
    expect(git(dir, 'rev-list', '--count', 'HEAD').trim()).toBe('1');
    const empty = await commitSnapshot(newRepoDir('commit'), new Map(), { now: T });
    expect(empty!.summary).toBe('first snapshot empty');
    // a file only emptied, or only appearing empty, is a change too
    expect((await commitSnapshot(dir, new Map([['host/tcp', tcp(22)]]), { now: T + 6000 }))!.summary).toBe('empty');
    clean(dir);
  });

  it('a namespace gone takes its files and empty directories out of the work tree and index', async () => {
    const dir = newRepoDir('commit');
    const ns = 'netns/0123456789ab';
    await commitSnapshot(dir, new Map([['host/tcp', tcp(22)], [`${ns}/tcp`, tcp(80)], [`${ns}/udp`, tcp(53)], ['netns/ffffffffffff/tcp', tcp(1)]]), { now: T });
    const c = await commitSnapshot(dir, new Map([['host/tcp', tcp(22)], ['netns/ffffffffffff/tcp', tcp(1)]]), { now: T + 1000 });
    expect(c!.summary).toBe(`+0 -2: ${ns}/tcp -1, ${ns}/udp -1`);
    expect(existsSync(join(dir, ns))).toBe(false);
    expect(existsSync(join(dir, 'netns/ffffffffffff/tcp'))).toBe(true);
    clean(dir);
    await commitSnapshot(dir, new Map([['host/tcp', tcp(22)]]), { now: T + 2000 });
    expect(existsSync(join(dir, 'netns'))).toBe(false); // the last namespace: netns/ goes too
    expect(existsSync(join(dir, 'host'))).toBe(true);
    clean(dir);
  });

  it('after a run killed between commit and checkout (its marker left), the next run brings work tree and index to HEAD', async () => {
    const dir = newRepoDir('commit');
    await commitSnapshot(dir, new Map([['host/tcp', tcp(22)], ['host/udp', tcp(53)], ['netns/0123456789ab/tcp', tcp(80)]]), { now: T });
    // the state a killed run can leave: a file old, one missing, one HEAD no longer has (in the
    // index and the work tree), an index entry whose file is already deleted
    writeFileSync(join(dir, 'host/tcp'), 'old content\n');
    unlinkSync(join(dir, 'host/udp'));
    writeFileSync(join(dir, 'host/gone'), 'x\n');
    writeFileSync(join(dir, 'host/indexed'), 'y\n');
    git(dir, 'add', 'host/gone', 'host/indexed');
    unlinkSync(join(dir, 'host/indexed'));
    const marker = join(dir, '.git/lsm-worktree-stale');
    writeFileSync(marker, '');
    expect(await commitSnapshot(dir, new Map([['host/tcp', tcp(22)], ['host/udp', tcp(53)], ['netns/0123456789ab/tcp', tcp(80)]]), { now: T + 1000 })).toBeNull();
    expect(existsSync(marker)).toBe(false);
    clean(dir);
    expect(git(dir, 'ls-files').trim().split('\n')).toEqual(['host/tcp', 'host/udp', 'netns/0123456789ab/tcp']);
    // without the marker, a no-change run reads nothing of the work tree: it is HEAD's by then
    writeFileSync(join(dir, 'host/stray'), 'z\n');
    expect(await commitSnapshot(dir, new Map([['host/tcp', tcp(22)], ['host/udp', tcp(53)], ['netns/0123456789ab/tcp', tcp(80)]]), { now: T + 2000 })).toBeNull();
    expect(existsSync(join(dir, 'host/stray'))).toBe(true);
  });

  it("HEAD's file list is cached beside the journal; a missing or damaged cache is read from the tree again", async () => {
    const dir = newRepoDir('commit');
    const snap = new Map([['host/tcp', tcp(22)]]);
    const c = await commitSnapshot(dir, snap, { now: T });
    const cache = join(dir, '.git/lsm/head-tree.json');
    const blob = git(dir, 'rev-parse', 'HEAD:host/tcp').trim();
    expect(JSON.parse(readFileSync(cache, 'utf8'))).toEqual({ commit: c!.commit, files: { 'host/tcp': blob } });
    for (const damage of ['garbage', JSON.stringify({ commit: 'f'.repeat(40), files: {} })]) {
      writeFileSync(cache, damage);
      expect(await commitSnapshot(dir, snap, { now: T + 1000 })).toBeNull(); // not mistaken for a change
      expect(JSON.parse(readFileSync(cache, 'utf8'))).toEqual({ commit: c!.commit, files: { 'host/tcp': blob } });
    }
    unlinkSync(cache);
    const d = await commitSnapshot(dir, new Map([['host/tcp', tcp(23)]]), { now: T + 2000 });
    expect(d!.files).toEqual([{ path: 'host/tcp', added: tcp(23), removed: tcp(22) }]);
    clean(dir);
  });

  it('each commit brings back a work-tree file someone deleted, even one the commit does not change; author host defaults to this host', async () => {
    const dir = newRepoDir('commit');
    await commitSnapshot(dir, new Map([['host/tcp', tcp(22)], ['host/udp', tcp(53)]]), { now: T });
    unlinkSync(join(dir, 'host/udp'));
    await commitSnapshot(dir, new Map([['host/tcp', tcp(23)], ['host/udp', tcp(53)]]), { now: T + 1000 });
    expect(readFileSync(join(dir, 'host/udp'), 'utf8')).toBe(`${tcp(53)[0]}\n`);
    clean(dir);
    expect(git(dir, 'log', '-1', '--format=%ae').trim()).toBe(`lsm@${hostname()}`);
  });

  it('a planted lsm-tmp is damage, repaired and committed; a work tree that cannot be updated is said, and repaired by the next run', async () => {
    const dir = newRepoDir('commit');
    const first = await commitSnapshot(dir, new Map([['host/tcp', tcp(22)]]), { now: T });
    rmSync(join(dir, '.git/lsm-tmp'), { recursive: true });
    writeFileSync(join(dir, '.git/lsm-tmp'), 'a file where the temporary directory goes');
    // (a file where lsm's temporary directory goes is damage now: moved aside, made again, said; the commit goes on)
    const repaired = await commitSnapshot(dir, new Map([['host/tcp', tcp(23)]]), { now: T + 1000 });
    expect(repaired!.damage).toMatch(/lsm-tmp/);
    expect(git(dir, 'rev-parse', 'HEAD~1').trim()).toBe(first!.commit);
    // a directory (not empty) where the snapshot's file goes: committed, but not checked out
    unlinkSync(join(dir, 'host/tcp'));
    mkdirSync(join(dir, 'host/tcp/x'), { recursive: true });
    const err2 = await commitSnapshot(dir, new Map([['host/tcp', tcp(24)]]), { now: T + 2000 }).then(() => null, (e: unknown) => e as LsmError);
    expect(err2).toBeInstanceOf(LsmError);
    expect(err2!.message.startsWith(`committed, but cannot update the work tree of ${dir}: `)).toBe(true);
    expect(git(dir, 'show', 'HEAD:host/tcp')).toBe(`${tcp(24)[0]}\n`);
    expect(existsSync(join(dir, '.git/lsm-worktree-stale'))).toBe(true);
    rmSync(join(dir, 'host/tcp'), { recursive: true });
    expect(await commitSnapshot(dir, new Map([['host/tcp', tcp(24)]]), { now: T + 3000 })).toBeNull();
    clean(dir);
    await catchUpJournal(openRepo(dir)); // the failed run's record: derived, caught up by the next reader or commit
    expect(readJournal(openRepo(dir)).map((r) => r.s)).toEqual(['first snapshot +1 -0: host/tcp +1', 'repository damaged: .git/lsm-tmp was not what lsm made; +1 -1: host/tcp +1 -1', '+1 -1: host/tcp +1 -1']);
  });

  it('waits for the lock another run holds, then fails busy (75) without committing', async () => {
    const dir = newRepoDir('commit');
    await commitSnapshot(dir, new Map([['host/tcp', tcp(22)]]), { now: T });
    const held = await lockRepository(join(dir, '.git'));
    try {
      const err = await commitSnapshot(dir, new Map([['host/tcp', tcp(23)]]), { lockWaitMs: 0 }).then(() => null, (e: unknown) => e);
      expect((err as LsmError).exitCode).toBe(75);
    } finally {
      held.release();
    }
    expect(git(dir, 'rev-list', '--count', 'HEAD').trim()).toBe('1');
    expect(existsSync(join(dir, '.git/lsm.lock'))).toBe(false); // released after each commit
    await commitSnapshot(dir, new Map([['host/tcp', tcp(23)]]), { now: T + 1000 });
    expect(existsSync(join(dir, '.git/lsm.lock'))).toBe(false);
  });
});

describe('the journal', () => {
  async function withHistory(n: number, lineCount = 1) {
    const dir = newRepoDir('commit');
    const changes = [];
    for (let i = 0; i < n; i++) changes.push((await commitSnapshot(dir, new Map([['host/tcp', tcp(...Array.from({ length: lineCount }, (_, k) => 10_000 + i * lineCount + k))]]), { now: T + i * 1000 }))!);
    const repo = openRepo(dir);
    return { dir, repo, changes, path: journalPath(repo) };
  }

  it('one record per commit, as history says; rebuilt from history, the same bytes', async () => {
    const { repo, changes, path } = await withHistory(4);
    expect(readJournal(repo)).toEqual(changes.map(recordOf));
    expect(await recordsFromHistory(repo, changes[3].commit)).toEqual(changes.map(recordOf));
    expect(await recordsFromHistory(repo, changes[3].commit, changes[1].commit)).toEqual(changes.slice(2).map(recordOf));
    expect(await recordsFromHistory(repo, null)).toEqual([]);
    const bytes = readFileSync(path, 'utf8');
    expect(await rebuildJournal(repo)).toBe(4);
    expect(readFileSync(path, 'utf8')).toBe(bytes);
    expect(await rebuildJournal(repo, changes[1].commit)).toBe(2);
    expect(readJournal(repo)).toEqual(changes.slice(0, 2).map(recordOf));
    expect(await rebuildJournal(repo, null)).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe('');
    expect((await commitChange(repo, changes[2].commit))).toEqual(changes[2]);
  });

  it('caught up: missing records appended, a torn tail cut, a record from another history rebuilt; a journal at HEAD untouched', async () => {
    const { repo, changes, path } = await withHistory(4);
    const whole = readFileSync(path, 'utf8');
    const ino = statSync(path).ino;
    await catchUpJournal(repo);
    expect(statSync(path).ino).toBe(ino); // not rewritten
    expect(readFileSync(path, 'utf8')).toBe(whole);
    const lines = whole.split('\n');
    writeFileSync(path, lines.slice(0, 2).join('\n') + '\n'); // two records behind
    await catchUpJournal(repo);
    expect(readFileSync(path, 'utf8')).toBe(whole);
    writeFileSync(path, whole + '{"c":"torn');
    await catchUpJournal(repo);
    expect(readFileSync(path, 'utf8')).toBe(whole);
    writeFileSync(path, lines.slice(0, 3).join('\n') + '\n' + lines[3].slice(0, 20)); // behind, and torn
    await catchUpJournal(repo);
    expect(readFileSync(path, 'utf8')).toBe(whole);
    appendRecord(repo, { ...recordOf(changes[0]), c: 'e'.repeat(40) }); // not in history
    await catchUpJournal(repo);
    expect(readFileSync(path, 'utf8')).toBe(whole);
    writeFileSync(path, 'garbage\n');
    await catchUpJournal(repo);
    expect(readFileSync(path, 'utf8')).toBe(whole);
    rmSync(path);
    await catchUpJournal(repo);
    expect(readFileSync(path, 'utf8')).toBe(whole);
    await catchUpJournal(repo, changes[1].commit); // to a given commit, not HEAD
    expect(readJournal(repo).map((r) => r.c)).toEqual(changes.slice(0, 2).map((c) => c.commit));
    expect(await verifyJournal(repo)).toBe('the journal has 2 records, history 4 commits');
  });

  it('a last record longer than the 64 KiB tail read is still found: the journal is left alone', async () => {
    const { repo, path } = await withHistory(2, 1500); // ~45 chars a line, 3000 lines a record: ~130 KiB
    const last = readFileSync(path, 'utf8').trim().split('\n').pop()!;
    expect(last.length).toBeGreaterThan(1 << 17);
    const ino = statSync(path).ino;
    await catchUpJournal(repo);
    expect(statSync(path).ino).toBe(ino);
    expect(await verifyJournal(repo)).toBeNull();
  });

  it('an empty repository needs no journal; verify says which record differs from history', async () => {
    const dir = newRepoDir('commit');
    const { initRepo } = await import('../../src/store/repo.js');
    const repo = await initRepo(dir);
    await catchUpJournal(repo);
    expect(existsSync(journalPath(repo))).toBe(false);
    const h = await withHistory(3);
    const lines = readFileSync(h.path, 'utf8').split('\n');
    lines[1] = JSON.stringify({ ...JSON.parse(lines[1]), s: 'edited' });
    writeFileSync(h.path, lines.join('\n'));
    expect(await verifyJournal(h.repo)).toBe(`record 2 (commit ${h.changes[1].commit.slice(0, 10)}) does not match history`);
    truncateSync(h.path, 0);
    expect(await verifyJournal(h.repo)).toBe('the journal has 0 records, history 3 commits');
  });
});
