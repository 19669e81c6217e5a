// Behaviours of commit.ts and journal.ts that the first mutation run showed unguarded (see
// test/MUTATION.md, src/store): the journal's tail read at its window's edges, a journal left from a
// branch that was deleted, the journal untouched when nothing is to do, descriptors closed; the work
// tree repaired of files no index names, unchanged files not rewritten, commits always on main.
// Real repositories made by lsm's own commits, checked by the real git.
import { describe, expect, it } from 'vitest';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commitSnapshot } from '../../src/store/commit.js';
import { catchUpJournal, recordsFromHistory, verifyJournal } from '../../src/store/journal.js';
import { JournalDamaged, journalPath, linesWith, readJournal } from '../../src/store/journal-read.js';
import { initRepo, openRepo, requireRepo, resolveRev, treeFiles } from '../../src/store/repo.js';
import { commitChange, commitDiff } from '../../src/store/history.js';
import { T, git, newRepoDir, tcp } from '../helpers/store.js';

/** A repository with three commits and its journal. */
async function three() {
  const dir = newRepoDir('surv');
  for (let i = 0; i < 3; i++) await commitSnapshot(dir, new Map([['host/tcp', tcp(22, 100 + i)]]), { now: T + i * 1000 });
  const repo = openRepo(dir);
  return { dir, repo, path: journalPath(repo), whole: readFileSync(journalPath(openRepo(dir)), 'utf8') };
}

describe('the journal at the edges of its tail read', () => {
  it('a torn tail of 64 KiB or more with no newline is cut in place (same file, same records), not rebuilt', async () => {
    const { repo, path, whole } = await three();
    // 65535: the 64 KiB window then starts at the last record's newline; 70000: no newline in it
    for (const torn of [65535, 70000]) {
      const ino = statSync(path).ino;
      appendFileSync(path, 'x'.repeat(torn));
      await catchUpJournal(repo);
      expect(readFileSync(path, 'utf8')).toBe(whole);
      expect(statSync(path).ino).toBe(ino); // truncated, not rewritten by a rebuild
    }
  });

  it('a journal that is one record and a stray byte, with no newline at all, is rebuilt from history', async () => {
    const dir = newRepoDir('surv');
    await commitSnapshot(dir, new Map([['host/tcp', tcp(22)]]), { now: T });
    const repo = openRepo(dir);
    const path = journalPath(repo);
    const whole = readFileSync(path, 'utf8');
    writeFileSync(path, whole.replace(/\n$/, '') + 'X');
    await catchUpJournal(repo);
    expect(readFileSync(path, 'utf8')).toBe(whole);
    expect(await verifyJournal(repo)).toBeNull();
  });

  it('a journal already at HEAD is not touched (its mtime kept), and each catch-up closes the journal it reads', async () => {
    const { repo, path, whole } = await three();
    const past = new Date(Date.UTC(2001, 0, 1));
    utimesSync(path, past, past);
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let i = 0; i < 40; i++) await catchUpJournal(repo);
    expect(fds()).toBeLessThan(before + 10); // one left open per call would be 40
    expect(statSync(path).mtimeMs).toBe(past.getTime());
    expect(readFileSync(path, 'utf8')).toBe(whole);
  });

  it('a repository with no commit: no journal made, and a torn one cut before the first record is appended', async () => {
    const dir = newRepoDir('surv');
    await commitSnapshot(dir, new Map([['host/tcp', tcp(22)]]), { now: T });
    git(dir, 'update-ref', '-d', 'refs/heads/main');
    const repo = openRepo(dir);
    rmSync(journalPath(repo));
    await catchUpJournal(repo);
    expect(existsSync(journalPath(repo))).toBe(false);
    writeFileSync(journalPath(repo), '{"c":"torn'); // a line with no newline, no record
    // the branch is lost, not new (the tree cache remains): the next commit continues the old history
    const change = await commitSnapshot(dir, new Map([['host/tcp', tcp(23)]]), { now: T + 1000 });
    expect(change?.summary).toBe('repository damaged: refs/heads/main was missing; +1 -1: host/tcp +1 -1');
    expect(readJournal(repo).map((r) => r.c)).toEqual(git(dir, 'rev-list', '--reverse', 'HEAD').trim().split('\n'));
    expect(readJournal(repo)).toHaveLength(2);
    expect(await verifyJournal(repo)).toBeNull();
  });

  it('a journal left from a branch deleted by hand is emptied; the next commit repairs the branch on the old history and rebuilds it', async () => {
    const { dir, repo, path } = await three();
    const tip = git(dir, 'rev-parse', 'HEAD').trim();
    git(dir, 'update-ref', '-d', 'refs/heads/main');
    expect(await recordsFromHistory(repo, null, readJournal(repo)[2].c)).toBeNull(); // not an ancestor of nothing
    await catchUpJournal(repo);
    expect(readFileSync(path, 'utf8')).toBe('');
    await commitSnapshot(dir, new Map([['host/tcp', tcp(22, 100)]]), { now: T + 9000 });
    expect(git(dir, 'rev-parse', 'HEAD~1').trim()).toBe(tip); // never a fresh start
    const recs = readJournal(repo);
    expect(recs.map((r) => r.c)).toEqual(git(dir, 'rev-list', '--reverse', 'HEAD').trim().split('\n'));
    expect(recs).toHaveLength(4);
    expect(await verifyJournal(repo)).toBeNull();
    // and the same through a commit, without the catch-up before it
    git(dir, 'update-ref', '-d', 'refs/heads/main');
    await commitSnapshot(dir, new Map([['host/tcp', tcp(23)]]), { now: T + 10000 });
    expect(readJournal(repo).map((r) => r.c)).toEqual(git(dir, 'rev-list', '--reverse', 'HEAD').trim().split('\n'));
    expect(readJournal(repo)).toHaveLength(5);
    expect(await verifyJournal(repo)).toBeNull();
  });

  it('a journal that cannot be cut (a symlink in its place) is an error; the file it names is not touched', async () => {
    const { repo, path, dir } = await three();
    const outside = join(dir, '..', 'elsewhere');
    writeFileSync(outside, 'keep\n');
    rmSync(path);
    symlinkSync(outside, path);
    await expect(catchUpJournal(repo)).rejects.toThrow(/^refusing .*journal\.jsonl/);
    expect(readFileSync(outside, 'utf8')).toBe('keep\n');
  });

  it('records list a commit\'s files in path order, as the commit itself wrote them (a file sorting first appears beside a change)', async () => {
    const dir = newRepoDir('surv');
    await commitSnapshot(dir, new Map([['host/tcp', tcp(22)]]), { now: T });
    const c = await commitSnapshot(dir, new Map([['host/raw', tcp(1)], ['host/tcp', tcp(23)]]), { now: T + 1000 });
    expect(c!.files.map((f) => f.path)).toEqual(['host/raw', 'host/tcp']);
    const repo = openRepo(dir);
    const [, rec] = (await recordsFromHistory(repo, c!.commit))!;
    expect(rec.a.map(([p]) => p)).toEqual(['host/raw', 'host/tcp']);
    expect((await commitChange(repo, c!.commit)).files.map((f) => f.path)).toEqual(['host/raw', 'host/tcp']);
    expect(await verifyJournal(repo)).toBeNull();
  });

  it('a submodule entry committed by hand is no file: the journal names none of its contents', async () => {
    const dir = newRepoDir('surv');
    const first = await commitSnapshot(dir, new Map([['host/tcp', tcp(22)]]), { now: T });
    git(dir, 'update-index', '--add', '--cacheinfo', `160000,${first!.commit},host/sub`);
    git(dir, '-c', 'user.name=u', '-c', 'user.email=u@h', 'commit', '-q', '-m', 'by hand');
    const recs = (await recordsFromHistory(openRepo(dir), git(dir, 'rev-parse', 'HEAD').trim()))!;
    expect(recs.map((r) => [...r.a, ...r.r].length)).toEqual([1, 0]);
    expect([...(await treeFiles(openRepo(dir), git(dir, 'rev-parse', 'HEAD').trim())).keys()]).toEqual(['host/tcp']);
  });
});

describe('the work tree a commit leaves', () => {
  it('after a killed run, a work-tree file neither HEAD nor the index names is removed', async () => {
    const dir = newRepoDir('surv');
    const snap = new Map([['host/tcp', tcp(22)], ['netns/0123456789ab/tcp', tcp(80)]]);
    await commitSnapshot(dir, snap, { now: T });
    // a run killed after writing a new file, before adding it to the index
    mkdirSync(join(dir, 'netns/ffffffffffff'), { recursive: true });
    writeFileSync(join(dir, 'netns/ffffffffffff/tcp'), 'x\n');
    writeFileSync(join(dir, 'host/udp'), 'y\n');
    writeFileSync(join(dir, '.git/lsm-worktree-stale'), '');
    expect(await commitSnapshot(dir, new Map(snap), { now: T + 1000 })).toBeNull();
    expect(existsSync(join(dir, 'host/udp'))).toBe(false);
    expect(existsSync(join(dir, 'netns/ffffffffffff/tcp'))).toBe(false);
    expect(existsSync(join(dir, '.git/HEAD'))).toBe(true);
    git(dir, 'fsck', '--strict');
    expect(git(dir, 'status', '--porcelain', '--untracked-files=all', '--ignored')).toBe('');
  });

  it('a commit rewrites only the work-tree files that changed (the others keep their inode)', async () => {
    const dir = newRepoDir('surv');
    await commitSnapshot(dir, new Map([['host/tcp', tcp(22)], ['host/udp', tcp(53)]]), { now: T });
    const ino = statSync(join(dir, 'host/udp')).ino;
    const tcpIno = statSync(join(dir, 'host/tcp')).ino;
    await commitSnapshot(dir, new Map([['host/tcp', tcp(23)], ['host/udp', tcp(53)]]), { now: T + 1000 });
    expect(statSync(join(dir, 'host/udp')).ino).toBe(ino);
    expect(statSync(join(dir, 'host/tcp')).ino).not.toBe(tcpIno);
    expect(git(dir, 'status', '--porcelain', '--untracked-files=all')).toBe('');
  });

  it('commits go on main even when HEAD was pointed at another branch by hand', async () => {
    const dir = newRepoDir('surv');
    await commitSnapshot(dir, new Map([['host/tcp', tcp(22)]]), { now: T });
    git(dir, 'symbolic-ref', 'HEAD', 'refs/heads/other');
    const c = await commitSnapshot(dir, new Map([['host/tcp', tcp(23)]]), { now: T + 1000 });
    expect(git(dir, 'rev-parse', 'refs/heads/main').trim()).toBe(c!.commit);
    expect(() => git(dir, 'rev-parse', '-q', '--verify', 'refs/heads/other')).toThrow();
  });
});

describe('the repository and its revisions', () => {
  it('a .git with no HEAD is no repository: requireRepo says so, and a first run refuses to make one over it', async () => {
    const dir = newRepoDir('surv');
    mkdirSync(join(dir, '.git'), { recursive: true });
    writeFileSync(join(dir, '.git/junk'), 'keep\n');
    expect(() => requireRepo(dir)).toThrow(/^no lsm repository at /);
    await expect(initRepo(dir)).rejects.toThrow(/^cannot create repository /);
    expect(readFileSync(join(dir, '.git/junk'), 'utf8')).toBe('keep\n');
    expect(existsSync(join(dir, '.git/HEAD'))).toBe(false);
  });

  it('a first run makes its repository inside the target directory: nothing appears beside it', async () => {
    const dir = newRepoDir('surv');
    const seen = new Set<string>();
    const w = watch(join(dir, '..'), (_e, name) => { if (name) seen.add(String(name)); });
    try {
      await initRepo(dir);
      await new Promise((r) => setTimeout(r, 50)); // inotify events of the last writes
    } finally {
      w.close();
    }
    expect([...seen]).toEqual(['repo']);
    expect(readdirSync(dir)).toEqual(['.git']);
  });

  it('revisions resolve as git rev-parse does: HEAD is main whatever HEAD names, baseline is lsm\'s ref, a ref beats a short id', async () => {
    const dir = newRepoDir('surv');
    const a = (await commitSnapshot(dir, new Map([['host/tcp', tcp(22)]]), { now: T }))!.commit;
    const b = (await commitSnapshot(dir, new Map([['host/tcp', tcp(23)]]), { now: T + 1000 }))!.commit;
    const repo = openRepo(dir);
    git(dir, 'update-ref', 'refs/lsm/baseline', a);
    git(dir, 'branch', 'baseline', b); // a branch by hand with the same name
    expect(await resolveRev(repo, 'baseline')).toBe(a);
    git(dir, 'branch', 'other', a);
    git(dir, 'symbolic-ref', 'HEAD', 'refs/heads/other');
    expect(await resolveRev(repo, 'HEAD')).toBe(b);
    expect(await resolveRev(repo, '')).toBe(b);
    // a branch named like a short id of another commit: the ref wins, as in git
    const short = a.slice(0, 8);
    git(dir, 'branch', short, b);
    expect(await resolveRev(repo, short)).toBe(git(dir, 'rev-parse', '-q', short).trim());
    expect(await resolveRev(repo, short)).toBe(b);
  });
});

describe('reading the journal', () => {
  it('a one-character line, {} and a record whose commit is no string are damage; an empty line is skipped', async () => {
    const { repo, path, whole } = await three();
    for (const bad of ['x', '{}', '{"c":5}']) {
      writeFileSync(path, `${whole}${bad}\n`);
      expect(() => readJournal(repo), bad).toThrow(JournalDamaged);
    }
    writeFileSync(path, `\n${whole}`);
    expect(readJournal(repo).length).toBe(3);
    expect([...linesWith(readFileSync(path), ['host/tcp'])].length).toBe(3);
  });
});

describe('diffs past 1000 changed lines (the linear merge walk) are git diff, byte for byte', () => {
  const many = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `0.0.0.0:${10000 + from + i}  svc  root  /usr/sbin/svc`);
  it('a file emptied, lines appended after one kept line, a file deleted, a file made', async () => {
    const dir = newRepoDir('surv');
    const steps = [
      new Map([['host/tcp', many(1001)], ['host/udp', ['0.0.0.0:1  x  root  /x']]]),
      new Map([['host/tcp', []], ['host/udp', ['0.0.0.0:1  x  root  /x', ...many(1001, 5000)]]]),
      new Map([['host/raw', many(1002)]]),
    ];
    const ids: string[] = [];
    for (const [i, snap] of steps.entries()) ids.push((await commitSnapshot(dir, snap, { now: T + i * 1000 }))!.commit);
    const repo = openRepo(dir);
    for (const [a, b] of [[0, 1], [1, 0], [1, 2], [2, 1]]) {
      expect(await commitDiff(repo, ids[a], ids[b]), `${a}..${b}`).toBe(git(dir, 'diff', ids[a], ids[b]));
    }
  });

  it('hunk headers and lines that look like them inside a line are left as they are', async () => {
    const dir = newRepoDir('surv');
    const odd = ['0.0.0.0:1  svc  root  /bin/x @@ -5,1 y', '0.0.0.0:2  svc  root  /bin/x @@ -1 +2,1 @@ z'];
    const a = (await commitSnapshot(dir, new Map([['host/tcp', [odd[0]]]]), { now: T }))!.commit;
    const b = (await commitSnapshot(dir, new Map([['host/tcp', [odd[1]]]]), { now: T + 1000 }))!.commit;
    const repo = openRepo(dir);
    expect(await commitDiff(repo, a, b)).toBe(git(dir, 'diff', a, b));
    expect(await commitDiff(repo, b, a)).toBe(git(dir, 'diff', b, a));
  });

  it('a diff reads only the files whose blobs differ (an unreadable untouched file does not stop it)', async () => {
    const dir = newRepoDir('surv');
    const a = (await commitSnapshot(dir, new Map([['host/tcp', tcp(22)], ['host/udp', tcp(53)]]), { now: T }))!.commit;
    const b = (await commitSnapshot(dir, new Map([['host/tcp', tcp(23)], ['host/udp', tcp(53)]]), { now: T + 1000 }))!.commit;
    const udp = git(dir, 'rev-parse', `${a}:host/udp`).trim();
    rmSync(join(dir, '.git/objects', udp.slice(0, 2), udp.slice(2)));
    expect(await commitDiff(openRepo(dir), a, b)).toBe(git(dir, 'diff', a, b));
  });
});
