import { describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitSnapshot } from '../../src/store/commit.js';
import { lockRepository } from '../../src/store/lock.js';
import { catchUpJournal, verifyJournal } from '../../src/store/journal.js';
import { blobId, openRepo } from '../../src/store/repo.js';
import type { Snapshot } from '../../src/types.js';
import { ROOT } from '../helpers/world.js';

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' });
const tmpRepo = () => join(mkdtempSync(join(tmpdir(), 'lsm-store-')), 'repo');
const snap = (tcp: string[], unix: string[] = []): Snapshot => new Map([['host/tcp', tcp], ['host/udp', []], ['host/unix', unix]]);

describe('store', () => {
  it('commits only when the snapshot differs, in a repository git accepts', async () => {
    const repo = tmpRepo();
    const first = await commitSnapshot(repo, snap(['0.0.0.0:22  sshd  root  /usr/sbin/sshd']), { host: 'web1' });
    expect(first?.summary).toBe('first snapshot +1 -0: host/tcp +1');
    const mtime = statSync(join(repo, 'host', 'tcp')).mtimeMs;
    expect(await commitSnapshot(repo, snap(['0.0.0.0:22  sshd  root  /usr/sbin/sshd']))).toBeNull();
    expect(statSync(join(repo, 'host', 'tcp')).mtimeMs).toBe(mtime); // the work tree is not rewritten
    const second = await commitSnapshot(repo, snap(['0.0.0.0:22  sshd  root  /usr/sbin/sshd', '0.0.0.0:4444  nc  root  /usr/bin/nc'], ['@x  stream  a  root  /a']), { host: 'web1' });
    expect(second).toMatchObject({ parent: first!.commit, summary: '+2 -0: host/tcp +1, host/unix +1' });
    const third = await commitSnapshot(repo, snap(['0.0.0.0:4444  nc  root  /usr/bin/nc']), { host: 'web1' });
    expect(third?.summary).toBe('+0 -2: host/tcp -1, host/unix -1');
    expect(third?.files).toEqual([
      { path: 'host/tcp', added: [], removed: ['0.0.0.0:22  sshd  root  /usr/sbin/sshd'] },
      { path: 'host/unix', added: [], removed: ['@x  stream  a  root  /a'] },
    ]);

    execFileSync('git', ['-C', repo, 'fsck', '--strict', '--no-dangling']); // throws on any error
    expect(git(repo, 'log', '--format=%an <%ae>|%s')).toBe(
      'lsm <lsm@web1>|+0 -2: host/tcp -1, host/unix -1\nlsm <lsm@web1>|+2 -0: host/tcp +1, host/unix +1\nlsm <lsm@web1>|first snapshot +1 -0: host/tcp +1\n');
    expect(git(repo, 'diff', `${first!.commit}`, `${second!.commit}`, '--', 'host/tcp')).toContain('+0.0.0.0:4444  nc  root  /usr/bin/nc');
    expect(git(repo, 'status', '--porcelain')).toBe(''); // work tree and index match HEAD
  });

  it('lets only one of two simultaneous scans commit', async () => {
    const repo = tmpRepo();
    await commitSnapshot(repo, snap(['0.0.0.0:22  sshd  root  /usr/sbin/sshd']));
    const script = join(ROOT, 'test', 'helpers', 'commit-one.mjs');
    const run = () => new Promise<string>((resolve) => {
      const p = spawn(process.execPath, [script, repo]);
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.on('close', () => resolve(out));
    });
    const results = await Promise.all([run(), run(), run()]);
    expect(results.sort()).toEqual(['committed', 'unchanged', 'unchanged']);
    expect(git(repo, 'rev-list', '--count', 'HEAD')).toBe('2\n');
  });

  it('repairs a damaged branch ref on the old history instead of starting a new one, and names a damaged object in one line', async () => {
    const repo = tmpRepo();
    const first = await commitSnapshot(repo, snap(['0.0.0.0:22  sshd  root  /usr/sbin/sshd']));
    writeFileSync(join(repo, '.git', 'refs', 'heads', 'main'), 'garbage\n');
    const repaired = await commitSnapshot(repo, snap(['0.0.0.0:23  telnetd  root  /usr/sbin/telnetd']));
    expect(repaired).toMatchObject({ parent: first!.commit, summary: 'repository damaged: refs/heads/main was damaged; +1 -1: host/tcp +1 -1' });
    expect(repaired!.damage).toMatch(/^repository \S+ is damaged: refs\/heads\/main is damaged \("garbage"; overwritten by this commit\); this commit continues from [0-9a-f]{10}, the newest commit that reads whole \(from the tree cache\); alerted as commit [0-9a-f]{10} \(git -C \S+ fsck says more; lsm verify checks it\)$/);
    expect(git(repo, 'rev-list', 'HEAD').trim().split('\n')).toEqual([repaired!.commit, first!.commit]);
    execFileSync('git', ['-C', repo, 'fsck', '--strict', '--no-dangling']);

    const cli = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), '--repo', repo, ...args], { encoding: 'utf8', env: { ...process.env, LSM_CONFIG: '' } });
    const tree = git(repo, 'rev-parse', 'HEAD^{tree}').trim();
    const object = join(repo, '.git', 'objects', tree.slice(0, 2), tree.slice(2));
    chmodSync(object, 0o644);
    writeFileSync(object, 'not zlib');
    const r = cli('show');
    expect(r.status).toBe(65);
    expect(r.stderr).toBe('lsm: the repository is damaged: an object is corrupt (zlib: incorrect header check) (git fsck in it says more; lsm verify checks it)\n');
    const v = cli('verify'); // verify names it, and where
    expect(v.status).toBe(65);
    expect(v.stderr).toContain(`lsm: object ${tree} is corrupt: its content does not match its id (${object})\n`);
  });

  it('takes over a lock whose holder is dead, and waits for a live one', async () => {
    const repo = tmpRepo();
    await commitSnapshot(repo, snap([]));
    writeFileSync(join(repo, '.git', 'lsm.lock'), JSON.stringify({ pid: 999999, start: '1', host: (await import('node:os')).hostname(), since: 0 }));
    expect(await commitSnapshot(repo, snap(['0.0.0.0:1  a  root  /a']))).not.toBeNull();
    expect(existsSync(join(repo, '.git', 'lsm.lock'))).toBe(false);
    const held = await lockRepository(join(repo, '.git'));
    await expect(commitSnapshot(repo, snap(['0.0.0.0:2  b  root  /b']), { lockWaitMs: 300 })).rejects.toThrow(/repository is busy/);
    held.release();
    expect(await commitSnapshot(repo, snap(['0.0.0.0:2  b  root  /b']))).not.toBeNull();
  });

  it('repairs a work tree and index that a kill left between deleting a file and unstaging it', async () => {
    const repo = tmpRepo();
    await commitSnapshot(repo, new Map([['host/tcp', ['0.0.0.0:22  sshd  root  /usr/sbin/sshd']], ['netns/n0/unix', ['/run/a  stream  x  root  /x']]]));
    // the next commit dropped netns/n0/unix: killed after the unlink, before the index was told
    const later = await commitSnapshot(repo, new Map([['host/tcp', ['0.0.0.0:22  sshd  root  /usr/sbin/sshd']]]));
    execFileSync('git', ['-C', repo, 'update-index', '--add', '--cacheinfo', `100644,${git(repo, 'rev-parse', `${later!.parent}:netns/n0/unix`).trim()},netns/n0/unix`]);
    writeFileSync(join(repo, '.git', 'lsm-worktree-stale'), '');
    expect(git(repo, 'status', '--porcelain')).toBe('AD netns/n0/unix\n');
    expect(await commitSnapshot(repo, new Map([['host/tcp', ['0.0.0.0:22  sshd  root  /usr/sbin/sshd']]]))).toBeNull();
    expect(git(repo, 'status', '--porcelain')).toBe('');
  });

  // Each named point of the commit path (src/testing/crash-point.ts: LSM_TEST_CRASH_AT makes lsm
  // SIGKILL itself there). For each: the kill landed (the process died by SIGKILL, leaving the
  // partial state that point means), git fsck --strict accepts what is left, and the next scan
  // repairs it with the change committed exactly once.
  const A = { 'host/tcp': ['0.0.0.0:22  sshd  root  /usr/sbin/sshd'], 'host/udp': [], 'netns/n0/unix': ['/run/a  stream  a  root  /a'], 'netns/n1/unix': ['/run/b  stream  b  root  /b'] };
  // three files change (tcp, udp, n1/unix: written in this order), netns/n0 is gone
  const B = { 'host/tcp': ['0.0.0.0:22  sshd  root  /usr/sbin/sshd', '0.0.0.0:4444  nc  root  /usr/bin/nc'], 'host/udp': ['0.0.0.0:53  dns  root  /dns'], 'netns/n1/unix': ['/run/b  stream  b  root  /b', '/run/c  stream  c  root  /c'] };
  const text = (lines: string[]) => lines.map((l) => l + '\n').join('');
  const killedAt = (repo: string, point: string, snapshot: object) => spawnSync(process.execPath, [join(ROOT, 'test', 'helpers', 'commit-snap.mjs'), repo, JSON.stringify(snapshot)],
    { encoding: 'utf8', env: { ...process.env, LSM_TEST_CRASH_AT: point } });
  const journalCommits = (repo: string) => readFileSync(join(repo, '.git', 'lsm', 'journal.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).c);
  const headTcp = (repo: string) => git(repo, 'show', 'HEAD:host/tcp');
  const worktree = (repo: string, path: string) => readFileSync(join(repo, path), 'utf8');
  const stale = (repo: string) => existsSync(join(repo, '.git', 'lsm-worktree-stale'));

  const points: [string, (repo: string, a: string) => void][] = [
    ['commit-objects-written', (repo, a) => {
      expect(git(repo, 'rev-parse', 'HEAD').trim()).toBe(a); // no ref moved
      expect(git(repo, 'cat-file', '-p', blobId(text(B['host/tcp'])))).toBe(text(B['host/tcp'])); // the new blob is written
    }],
    ['commit-ref-updated', (repo, a) => {
      expect(git(repo, 'rev-parse', 'HEAD~1').trim()).toBe(a);
      expect(headTcp(repo)).toBe(text(B['host/tcp']));
      expect(worktree(repo, 'host/tcp')).toBe(text(A['host/tcp'])); // the work tree not yet touched
      expect(stale(repo)).toBe(true);
    }],
    ['commit-worktree-file-written', (repo) => {
      expect(worktree(repo, 'host/tcp')).toBe(text(B['host/tcp'])); // the first file is new,
      expect(worktree(repo, 'host/udp')).toBe(''); // the second still old
      expect(stale(repo)).toBe(true);
    }],
    ['commit-worktree-file-unlinked', (repo) => {
      expect(existsSync(join(repo, 'netns', 'n0', 'unix'))).toBe(false);
      expect(git(repo, 'status', '--porcelain')).toBe('AD netns/n0/unix\n'); // deleted, still in the index
    }],
    ['commit-worktree-written', (repo, a) => {
      expect(git(repo, 'status', '--porcelain')).toBe('');
      expect(stale(repo)).toBe(false);
      expect(journalCommits(repo).at(-1)).toBe(a); // the journal is one commit behind
    }],
    ['commit-journal-appended', (repo) => {
      expect(journalCommits(repo).at(-1)).toBe(git(repo, 'rev-parse', 'HEAD').trim());
    }],
  ];

  for (const [point, partial] of points) {
    it(`survives a scan killed at ${point}: fsck and the next scan accept the repository, the change is committed once`, async () => {
      const repo = tmpRepo();
      const a = (await commitSnapshot(repo, new Map(Object.entries(A))))!.commit;
      const r = killedAt(repo, point, B);
      expect(r.signal).toBe('SIGKILL'); // the kill landed: the process did not get to say what it did
      expect(r.stdout).toBe('');
      partial(repo, a);
      execFileSync('git', ['-C', repo, 'fsck', '--strict', '--no-dangling']); // throws on any error

      const next = await commitSnapshot(repo, new Map(Object.entries(B)));
      expect(next === null).toBe(point !== 'commit-objects-written'); // committed by the killed scan, or now: once
      expect(git(repo, 'rev-list', 'HEAD').trim().split('\n')).toHaveLength(2);
      expect(git(repo, 'rev-parse', 'HEAD~1').trim()).toBe(a);
      execFileSync('git', ['-C', repo, 'fsck', '--strict', '--no-dangling']);
      expect(git(repo, 'status', '--porcelain')).toBe('');
      for (const [path, lines] of Object.entries(B)) expect(worktree(repo, path)).toBe(text(lines));
      expect(existsSync(join(repo, 'netns', 'n0'))).toBe(false);
      // a journal left behind is caught up by the next reader (history-context) or commit
      await catchUpJournal(openRepo(repo));
      expect(await verifyJournal(openRepo(repo))).toBeNull(); // one record per commit, none doubled
      expect(readdirSync(join(repo, '.git', 'lsm-tmp'))).toEqual([]);
    });
  }

  it('survives a first scan killed while the repository is made (init-before-rename)', async () => {
    const repo = tmpRepo();
    const r = killedAt(repo, 'init-before-rename', A);
    expect(r.signal).toBe('SIGKILL');
    expect(existsSync(join(repo, '.git'))).toBe(false); // no half-made repository in place
    expect(readdirSync(repo).filter((n) => n.startsWith('.lsm-init-'))).toHaveLength(1);
    expect(await commitSnapshot(repo, new Map(Object.entries(A)))).not.toBeNull();
    execFileSync('git', ['-C', repo, 'fsck', '--strict', '--no-dangling']);
    expect(readdirSync(repo).filter((n) => n.startsWith('.lsm-init-'))).toEqual([]);
    expect(git(repo, 'rev-list', '--count', 'HEAD')).toBe('1\n');
  });

  it('survives scans killed at any moment of a commit loop: no commit lost or doubled', async () => {
    // the named points above are the states a kill can leave; this covers the moments between them
    const repo = tmpRepo();
    await commitSnapshot(repo, snap(['0.0.0.0:1  first  root  /first']));
    const loop = join(ROOT, 'test', 'helpers', 'commit-loop.mjs');
    let expected = 1;
    for (let round = 0; round < 6; round++) {
      const p = spawn(process.execPath, [loop, repo, '200']);
      let out = '';
      // killed on observed progress (after the first commit of this round), then a moment later
      await new Promise<void>((resolve) => p.stdout.on('data', (d) => { out += d; if (out.includes('committed\n')) resolve(); }));
      await new Promise((r) => setTimeout(r, round * 7));
      p.kill('SIGKILL');
      const [, signal] = await new Promise<[number | null, string | null]>((r) => p.once('exit', (c, s) => r([c, s])));
      expect(signal).toBe('SIGKILL');
      const reported = out.split('\n').filter((l) => l === 'committed').length;
      const count = Number(git(repo, 'rev-list', '--count', 'HEAD'));
      // every commit the loop reported is there, plus at most the one it was killed before reporting
      expect(count - expected === reported || count - expected === reported + 1).toBe(true);
      execFileSync('git', ['-C', repo, 'fsck', '--strict', '--no-dangling']); // throws on any error
      expect(await commitSnapshot(repo, snap([`0.0.0.0:${5000 + round}  after  root  /after`]))).not.toBeNull();
      expected = count + 1;
      expect(Number(git(repo, 'rev-list', '--count', 'HEAD'))).toBe(expected);
      expect(git(repo, 'status', '--porcelain')).toBe('');
      expect(await verifyJournal(openRepo(repo))).toBeNull();
      expect(readdirSync(join(repo, '.git', 'lsm-tmp'))).toEqual([]);
    }
  }, 180_000); // a dozen processes: minutes on a machine loaded 15 times over
});
