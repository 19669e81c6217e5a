// The store's small parts, on real repositories that the real git then reads: what a change says
// (changes.ts), refs read without isomorphic-git (git.ts: loose, packed, symbolic, damaged), and
// the repack every lsm.packEvery commits (pack.ts), checked with git count-objects and git fsck.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileChange, summarize } from '../../src/store/changes.js';
import { igit, readRef } from '../../src/store/git.js';
import { packIfNeeded } from '../../src/store/pack.js';
import { commitSnapshot } from '../../src/store/commit.js';
import { openRepo } from '../../src/store/repo.js';
import { LsmError } from '../../src/errors.js';

const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
const line = (port: number) => `0.0.0.0:${port}  nc  root  /usr/bin/nc`;
const snap = (...ports: number[]) => new Map([['host/tcp', ports.map(line)], ['host/udp', [`0.0.0.0:${ports[0] ?? 1}  dns  root  /d`]]]);

/** A real repository with `commits` commits made by commitSnapshot. */
async function repoWith(commits: number) {
  const dir = join(mkdtempSync(join(tmpdir(), 'lsm-store-')), 'repo');
  const ids: string[] = [];
  for (let i = 1; i <= commits; i++) ids.push((await commitSnapshot(dir, snap(...Array.from({ length: i }, (_, k) => 1000 + k))))!.commit);
  return { dir, repo: openRepo(dir), ids };
}

describe('what a change says', () => {
  it('lines added and removed, in their files order; no change is null', () => {
    expect(fileChange('host/tcp', ['a', 'b', 'c'], ['b', 'd', 'c', 'e'])).toEqual({ path: 'host/tcp', added: ['d', 'e'], removed: ['a'] });
    expect(fileChange('host/tcp', [], ['x'])).toEqual({ path: 'host/tcp', added: ['x'], removed: [] });
    expect(fileChange('host/tcp', ['x'], [])).toEqual({ path: 'host/tcp', added: [], removed: ['x'] });
    expect(fileChange('host/tcp', ['a', 'b'], ['a', 'b'])).toBeNull();
    expect(fileChange('host/tcp', [], [])).toBeNull();
  });

  it('a summary: the totals, then each file with only the counts it has', () => {
    expect(summarize([
      { path: 'host/tcp', added: ['a'], removed: [] },
      { path: 'host/unix', added: ['b', 'c'], removed: ['d'] },
      { path: 'netns/x/udp', added: [], removed: ['e', 'f'] },
    ])).toBe('+3 -3: host/tcp +1, host/unix +2 -1, netns/x/udp -2');
    expect(summarize([])).toBe('+0 -0: ');
  });
});

describe('refs, read without isomorphic-git', () => {
  it('a loose ref, HEAD through its symbolic ref, a missing ref as null', async () => {
    const { repo, ids } = await repoWith(1);
    expect(readRef(repo.gitdir, 'refs/heads/main')).toBe(ids[0]);
    expect(readRef(repo.gitdir, 'HEAD')).toBe(ids[0]);
    expect(readRef(repo.gitdir, 'refs/lsm/baseline')).toBeNull();
    expect(git(repo.dir, 'rev-parse', 'HEAD')).toBe(ids[0]);
  });

  it('a ref git packed (git pack-refs): read from packed-refs, the right one of several', async () => {
    const { dir, repo, ids } = await repoWith(2);
    git(dir, 'update-ref', 'refs/lsm/baseline', ids[0]);
    git(dir, 'update-ref', 'refs/heads/main2', ids[0]);
    git(dir, 'pack-refs', '--all');
    expect(() => readFileSync(join(repo.gitdir, 'refs/heads/main'))).toThrow(); // no loose copy left
    expect(readFileSync(join(repo.gitdir, 'packed-refs'), 'utf8')).toContain(`${ids[1]} refs/heads/main\n`);
    expect(readRef(repo.gitdir, 'refs/heads/main')).toBe(ids[1]);
    expect(readRef(repo.gitdir, 'HEAD')).toBe(ids[1]);
    expect(readRef(repo.gitdir, 'refs/lsm/baseline')).toBe(ids[0]);
    expect(readRef(repo.gitdir, 'refs/heads/mai')).toBeNull(); // a prefix of a packed name is not that name
    expect(readRef(repo.gitdir, 'heads/main')).toBeNull(); // nor a suffix without its space
    // a line that ends with the name but is not `<40 hex> <name>` is never taken: a line git refuses is damage, said
    writeFileSync(join(repo.gitdir, 'packed-refs'), `# pack-refs with: peeled refs/lsm/x\n${ids[0]} refs/lsm/w\n`);
    expect(readRef(repo.gitdir, 'refs/lsm/x')).toBeNull();
    for (const bad of [`zz${ids[0].slice(2)} refs/lsm/y`, ` ${ids[0]} refs/lsm/z`]) {
      writeFileSync(join(repo.gitdir, 'packed-refs'), `# pack-refs with: peeled\n${bad}\n`);
      expect(() => readRef(repo.gitdir, 'refs/lsm/y')).toThrow(/packed-refs is damaged/);
      expect(() => readRef(repo.gitdir, 'refs/lsm/z')).toThrow(/packed-refs is damaged/);
    }
  });

  it('a damaged ref is an error naming the file and its first 40 characters, never "no commit yet"', async () => {
    const { repo, ids } = await repoWith(1);
    const main = join(repo.gitdir, 'refs/heads/main');
    for (const text of ['garbage', ids[0].slice(1), `x${ids[0]}`, `${ids[0]}x`, ids[0].toUpperCase(), '']) {
      writeFileSync(main, `${text}\n`);
      expect(() => readRef(repo.gitdir, 'refs/heads/main'), text).toThrow(LsmError);
      expect(() => readRef(repo.gitdir, 'HEAD'), text).toThrow(`${main} is damaged (${JSON.stringify(text.slice(0, 40))}): restore it (lsm's last commit is the "c" of the last line`);
    }
    writeFileSync(main, 'y'.repeat(100));
    expect(() => readRef(repo.gitdir, 'refs/heads/main')).toThrow(`is damaged (${JSON.stringify('y'.repeat(40))})`);
  });

  it('symbolic refs are followed a few levels, and a loop is damage, not endless', async () => {
    const { repo, ids } = await repoWith(1);
    mkdirSync(join(repo.gitdir, 'refs/lsm'), { recursive: true });
    writeFileSync(join(repo.gitdir, 'refs/lsm/a'), 'ref: refs/lsm/b\n');
    writeFileSync(join(repo.gitdir, 'refs/lsm/b'), 'ref: HEAD\n');
    expect(readRef(repo.gitdir, 'refs/lsm/a')).toBe(ids[0]); // a -> b -> HEAD -> refs/heads/main
    // as git: up to 5 symbolic hops; a sixth is damage
    for (let i = 0; i < 6; i++) writeFileSync(join(repo.gitdir, `refs/lsm/s${i}`), `ref: refs/lsm/s${i + 1}\n`);
    writeFileSync(join(repo.gitdir, 'refs/lsm/s6'), `${ids[0]}\n`);
    expect(readRef(repo.gitdir, 'refs/lsm/s1')).toBe(ids[0]); // s1 -> ... -> s6: 5 hops
    expect(() => readRef(repo.gitdir, 'refs/lsm/s0')).toThrow(/refs\/lsm\/s5 is damaged \("ref: refs\/lsm\/s6"\)/);
    writeFileSync(join(repo.gitdir, 'refs/lsm/loop'), 'ref: refs/lsm/loop\n');
    expect(() => readRef(repo.gitdir, 'refs/lsm/loop')).toThrow(/refs\/lsm\/loop is damaged \("ref: refs\/lsm\/loop"\)/);
  });

  it('isomorphic-git is loaded once and shared', async () => {
    const a = await igit();
    expect(typeof a.readCommit).toBe('function');
    expect(await igit()).toBe(a);
  });
});

describe('packing loose objects', () => {
  const objects = (dir: string) => Object.fromEntries(git(dir, 'count-objects', '-v').split('\n').map((l) => l.split(': ')).map(([k, v]) => [k, Number(v)]));
  const counter = (dir: string) => readFileSync(join(dir, '.git/lsm/commits-since-pack'), 'utf8');
  const setCounter = (dir: string, n: string) => writeFileSync(join(dir, '.git/lsm/commits-since-pack'), n);

  it('counts commits; every 500th (the default) packs the loose objects, which git then reads', async () => {
    const { dir, repo, ids } = await repoWith(2);
    expect(counter(dir)).toBe('2'); // each commit counted
    expect(objects(dir).packs).toBe(0);
    expect(packIfNeeded(repo)).toBe('none');
    expect(counter(dir)).toBe('3');
    setCounter(dir, '498');
    expect(packIfNeeded(repo)).toBe('none');
    expect(packIfNeeded(repo)).toBe('incremental'); // the 500th
    expect(counter(dir)).toBe('500');
    expect(objects(dir)).toMatchObject({ count: 0, packs: 1 });
    git(dir, 'fsck', '--strict');
    expect(git(dir, 'rev-list', 'HEAD').split('\n')).toEqual([...ids].reverse());
    setCounter(dir, 'garbage'); // a damaged counter counts again from 0
    expect(packIfNeeded(repo)).toBe('none');
    expect(counter(dir)).toBe('1');
    rmSync(join(dir, '.git/lsm'), { recursive: true }); // no counter (nor its directory) yet: the first
    expect(packIfNeeded(repo)).toBe('none');
    expect(counter(dir)).toBe('1');
  });

  it('lsm.packEvery (git config) sets the period; every 20th pack joins all packs into one', async () => {
    const { dir, repo } = await repoWith(1);
    git(dir, 'config', 'lsm.packEvery', '3');
    setCounter(dir, '1');
    expect(packIfNeeded(repo)).toBe('none');
    expect(packIfNeeded(repo)).toBe('incremental'); // 3
    expect(objects(dir)).toMatchObject({ count: 0, packs: 1 });
    await commitSnapshot(dir, snap(7)); // 4: new loose objects
    expect(objects(dir).count).toBeGreaterThan(0);
    setCounter(dir, '56');
    expect(packIfNeeded(repo)).toBe('incremental'); // 57 = 19 x 3: only the new objects, a second pack
    expect(objects(dir)).toMatchObject({ count: 0, packs: 2 });
    await commitSnapshot(dir, snap(8)); // 58
    expect(packIfNeeded(repo)).toBe('none'); // 59
    expect(packIfNeeded(repo)).toBe('full'); // 60 = 20 x 3: all packs become one
    expect(objects(dir)).toMatchObject({ count: 0, packs: 1 });
    git(dir, 'fsck', '--strict');
  });

  it('lsm.packEvery of 0 means every commit; a packEvery of another section is not ours', async () => {
    const { dir, repo } = await repoWith(1);
    git(dir, 'config', 'lsm.packEvery', '0');
    expect(packIfNeeded(repo)).toBe('incremental');
    expect(packIfNeeded(repo)).toBe('incremental');
    git(dir, 'config', '--remove-section', 'lsm');
    git(dir, 'config', 'other.packEvery', '1');
    git(dir, 'config', 'lsm.other', 'x');
    expect(readFileSync(join(dir, '.git/config'), 'utf8')).toMatch(/\[other\]\s+packEvery = 1\s+\[lsm\]/);
    expect(packIfNeeded(repo)).toBe('none'); // 500 by default
    git(dir, 'config', '--remove-section', 'lsm');
    writeFileSync(join(dir, '.git/config'), readFileSync(join(dir, '.git/config'), 'utf8') + '[LSM]\n\tPACKEVERY = 1\n');
    expect(packIfNeeded(repo)).toBe('incremental'); // git's names are case-insensitive
    // written by hand: no spaces around '=', a number of two digits
    writeFileSync(join(dir, '.git/config'), readFileSync(join(dir, '.git/config'), 'utf8').replace(/\[LSM\][^]*$/, '[lsm]\npackEvery=12\n'));
    setCounter(dir, '11');
    expect(packIfNeeded(repo)).toBe('incremental'); // 12
    expect(packIfNeeded(repo)).toBe('none'); // 13
    // the key of the [lsm] section only, after other keys too; not a longer key, nor a value's '[lsm]'
    const config = readFileSync(join(dir, '.git/config'), 'utf8').replace(/\[lsm\][^]*$/, '');
    for (const [text, ran] of [
      ['[lsm]\n\tother = x\n\tpackEvery = 1\n', 'incremental'],
      ['[lsm]\n\txpackEvery = 1\n', 'none'],
      ['[alias]\n\tx = !echo [lsm]\n\tpackEvery = 1\n', 'none'],
    ] as const) {
      writeFileSync(join(dir, '.git/config'), config + text);
      setCounter(dir, '0');
      expect(packIfNeeded(repo), text).toBe(ran);
    }
  });
});
