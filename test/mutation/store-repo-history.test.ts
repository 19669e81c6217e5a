// The repository and its history, on real repositories the real git checks: how one is made
// (mode, config, leftovers of a killed first run), how a revision a user types resolves (as
// git rev-parse does), and what history says: a commit's change, and diffs byte for byte
// git diff's, for files changed, added, deleted and empty.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitSnapshot } from '../../src/store/commit.js';
import { commitChange, commitDiff, snapshotFiles } from '../../src/store/history.js';
import { initRepo, openRepo, readSnapshot, repoExists, requireRepo, resolveRev, textLines, treeFiles } from '../../src/store/repo.js';
import { moveBaseline } from '../../src/store/baseline.js';
import { LsmError } from '../../src/errors.js';
import { newRepoDir, tcp } from '../helpers/store.js';

const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, '-c', 'core.abbrev=7', ...args], { encoding: 'utf8' });
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const error = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as LsmError);

/** Four commits: a change, a namespace and an empty file appearing, then both gone. */
async function history() {
  const dir = newRepoDir('repo');
  const snaps = [
    new Map([['host/tcp', tcp(22, 80)], ['host/udp', ['0.0.0.0:53  dns  root  /d']]]),
    new Map([['host/tcp', tcp(22, 443, ...Array.from({ length: 12 }, (_, i) => 9000 + i))], ['host/udp', ['0.0.0.0:53  dns  root  /d']]]),
    new Map([['host/tcp', tcp(22, 443)], ['host/udp', []], ['netns/0123456789ab/tcp', tcp(8080)], ['host/raw', []]]),
    new Map([['host/tcp', tcp(22, 443)], ['host/udp', []]]),
  ];
  const changes = [];
  for (let i = 0; i < snaps.length; i++) changes.push((await commitSnapshot(dir, snaps[i], { now: Date.UTC(2026, 0, 1) + i * 60_000 + 999 }))!);
  return { dir, repo: openRepo(dir), snaps, changes, ids: changes.map((c) => c.commit) };
}

describe('making and opening the repository', () => {
  it('a new repository: mode 0700, branch main, autocrlf off, valid for git; made once', async () => {
    const dir = newRepoDir('repo');
    expect(repoExists(dir)).toBe(false);
    const repo = await initRepo(dir);
    expect(repo).toMatchObject({ dir, gitdir: join(dir, '.git') });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(git(dir, 'symbolic-ref', 'HEAD').trim()).toBe('refs/heads/main');
    expect(git(dir, 'config', 'core.autocrlf').trim()).toBe('false');
    git(dir, 'fsck', '--strict');
    writeFileSync(join(dir, '.git', 'description'), 'ours\n');
    await initRepo(dir); // there already: left as it is
    expect(git(dir, 'rev-parse', '--git-dir').trim()).toBe('.git');
    expect(execFileSync('cat', [join(dir, '.git', 'description')], { encoding: 'utf8' })).toBe('ours\n');
  });

  it("removes what a killed first run left, not what a live one is making, nor other files", async () => {
    const dir = newRepoDir('repo');
    mkdirSync(dir, { recursive: true });
    const dead = execFileSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).trim();
    for (const n of [`.lsm-init-${dead}-abc`, '.lsm-init-x-abc', `.lsm-init-${process.pid}-abc`, 'keep-me', `x.lsm-init-${dead}-abc`]) mkdirSync(join(dir, n));
    await initRepo(dir);
    expect(existsSync(join(dir, `.lsm-init-${dead}-abc`))).toBe(false);
    expect(existsSync(join(dir, '.lsm-init-x-abc'))).toBe(false);
    expect(existsSync(join(dir, `.lsm-init-${process.pid}-abc`))).toBe(true);
    expect(existsSync(join(dir, 'keep-me'))).toBe(true);
    expect(existsSync(join(dir, `x.lsm-init-${dead}-abc`))).toBe(true);
  });

  it('two first runs at once both open the one repository they made, leaving nothing half-made', async () => {
    const dir = newRepoDir('repo');
    const [a, b] = await Promise.all([initRepo(dir), initRepo(dir), initRepo(dir)]);
    expect([a.gitdir, b.gitdir]).toEqual([join(dir, '.git'), join(dir, '.git')]);
    expect(execFileSync('ls', ['-A', dir], { encoding: 'utf8' })).toBe('.git\n');
    git(dir, 'fsck', '--strict');
  });

  it('a repository that cannot be made is one line, exit 1; a missing one says how to make it', async () => {
    const base = mkdtempSync(join(tmpdir(), 'lsm-repo-'));
    writeFileSync(join(base, 'file'), '');
    const err = await error(initRepo(join(base, 'file', 'repo')));
    expect(err).toBeInstanceOf(LsmError);
    expect(err!.message).toMatch(new RegExp(`^cannot create repository ${base}/file/repo: `));
    expect(err!.exitCode).toBe(1);
    expect(() => requireRepo(join(base, 'none'))).toThrow(`no lsm repository at ${join(base, 'none')} (run 'lsm scan' or 'lsm -g' first)`);
    try { requireRepo(join(base, 'none')); } catch (e) { expect((e as LsmError).exitCode).toBe(1); }
    const made = newRepoDir('repo');
    await initRepo(made);
    expect(requireRepo(made).gitdir).toBe(join(made, '.git'));
  });

  it('text lines: none for an empty text, the last newline ends a line, an empty line kept', () => {
    expect(textLines('')).toEqual([]);
    expect(textLines('a\n')).toEqual(['a']);
    expect(textLines('a\nb')).toEqual(['a', 'b']);
    expect(textLines('a\n\n')).toEqual(['a', '']);
    expect(textLines('\n')).toEqual(['']);
  });
});

describe('revisions, as git rev-parse reads them', () => {
  it('ids full and short, HEAD, main, baseline, ref names, ~N back along first parents', async () => {
    const { dir, repo, ids } = await history();
    await moveBaseline(repo, ids[1], 'x');
    const same = ['HEAD', 'main', 'HEAD~1', 'HEAD~', 'main~3', ids[2], ids[2].slice(0, 7), `${ids[2].slice(0, 9)}~2`, 'refs/heads/main', 'refs/lsm/baseline', 'refs/lsm/baseline~1'];
    for (const rev of same) expect(await resolveRev(repo, rev), rev).toBe(git(dir, 'rev-parse', rev).trim());
    expect(await resolveRev(repo, 'baseline')).toBe(ids[1]);
    expect(await resolveRev(repo, 'baseline~1')).toBe(ids[0]);
    expect(await resolveRev(repo, '~')).toBe(ids[2]); // no name: HEAD
    expect(await resolveRev(repo, '~2')).toBe(ids[1]);
    expect(await resolveRev(repo, 'HEAD~0')).toBe(ids[3]);
    git(dir, 'update-ref', 'refs/lsm/other', ids[0]);
    expect(await resolveRev(repo, 'other')).toBe(ids[0]); // a name under refs/lsm/
    expect(await resolveRev(repo, 'lsm/other')).toBe(ids[0]); // under refs/
  });

  it('what does not resolve is a usage error (2) saying what is missing', async () => {
    const { repo, ids } = await history();
    const cases: [string, string][] = [
      ['baseline', "no baseline yet (run 'lsm -g' to approve the current state)"],
      ['nope', "unknown revision 'nope'"],
      ['abc', "unknown revision 'abc'"], // too short to be an id
      ['ffff', "unknown revision 'ffff'"],
      ['HEAD~4', "unknown revision 'HEAD~4': history is shorter"],
      [`${ids[1]}~2`, `unknown revision '${ids[1]}~2': history is shorter`],
    ];
    for (const [rev, message] of cases) {
      const err = await error(resolveRev(repo, rev));
      expect(err, rev).toBeInstanceOf(LsmError);
      expect([err!.message, err!.exitCode], rev).toEqual([message, 2]);
    }
    const empty = await initRepo(newRepoDir('repo'));
    const err = await error(resolveRev(empty, 'HEAD~1'));
    expect([err!.message, err!.exitCode]).toEqual(['the repository has no snapshot yet', 2]);
  });
});

describe('history', () => {
  it("a commit's files, its snapshot, its change: what was committed, as git ls-tree lists it", async () => {
    const { dir, repo, snaps, changes, ids } = await history();
    const files = await treeFiles(repo, ids[2]);
    expect([...files].map(([p, id]) => `${id}\t${p}`).sort()).toEqual(git(dir, 'ls-tree', '-r', '--format=%(objectname)\t%(path)', ids[2]).trim().split('\n').sort());
    for (let i = 0; i < ids.length; i++) {
      expect(await readSnapshot(repo, ids[i])).toEqual(snaps[i]);
      expect(await snapshotFiles(repo, ids[i])).toEqual(snaps[i]);
      expect(await commitChange(repo, ids[i])).toEqual(changes[i]);
    }
    expect(await snapshotFiles(repo, null)).toEqual(new Map());
    expect(changes[0]).toMatchObject({ parent: null, time: Date.UTC(2026, 0, 1), summary: 'first snapshot +3 -0: host/tcp +2, host/udp +1' });
    expect(changes[3]).toMatchObject({ parent: ids[2], summary: '+0 -1: netns/0123456789ab/tcp -1' });
    expect(git(dir, 'log', '-1', '--format=%at %s', ids[3]).trim()).toBe(`${Date.UTC(2026, 0, 1, 0, 3) / 1000} +0 -1: netns/0123456789ab/tcp -1`);
  });

  it('diffs between commits are git diff, byte for byte: changed, new, deleted and empty files, from and to nothing', async () => {
    const { dir, repo, ids } = await history();
    for (const [a, b] of [[0, 1], [1, 2], [2, 3], [0, 3], [3, 0], [1, 1]]) {
      expect(await commitDiff(repo, ids[a], ids[b]), `${a}..${b}`).toBe(git(dir, 'diff', ids[a], ids[b]));
    }
    expect(await commitDiff(repo, null, ids[2])).toBe(git(dir, 'diff', EMPTY_TREE, ids[2]));
    expect(await commitDiff(repo, ids[2], null)).toBe(git(dir, 'diff', ids[2], EMPTY_TREE));
    expect(await commitDiff(repo, null, null)).toBe('');
  });
});
