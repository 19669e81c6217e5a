import { describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitSnapshot } from '../../src/store/commit.js';
import { lockRepository } from '../../src/store/lock.js';
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

  it('refuses a damaged branch ref instead of starting a new history, and names a damaged object in one line', async () => {
    const repo = tmpRepo();
    const first = await commitSnapshot(repo, snap(['0.0.0.0:22  sshd  root  /usr/sbin/sshd']));
    writeFileSync(join(repo, '.git', 'refs', 'heads', 'main'), 'garbage\n');
    await expect(commitSnapshot(repo, snap(['0.0.0.0:23  telnetd  root  /usr/sbin/telnetd']))).rejects.toThrow(/refs\/heads\/main is damaged \("garbage"\)/);
    writeFileSync(join(repo, '.git', 'refs', 'heads', 'main'), `${first!.commit}\n`); // restored as the message says
    expect(git(repo, 'rev-list', '--count', 'HEAD')).toBe('1\n');

    const cli = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), '--repo', repo, ...args], { encoding: 'utf8', env: { ...process.env, LSM_CONFIG: '' } });
    const tree = git(repo, 'rev-parse', 'HEAD^{tree}').trim();
    const object = join(repo, '.git', 'objects', tree.slice(0, 2), tree.slice(2));
    chmodSync(object, 0o644);
    writeFileSync(object, 'not zlib');
    const r = cli('show');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^lsm: the repository is damaged: .* \(git fsck in it says more\)\n$/);
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

  it('survives scans killed at any moment: git fsck and the next scan accept the repository', async () => {
    const repo = tmpRepo();
    const loop = join(ROOT, 'test', 'helpers', 'commit-loop.mjs');
    for (let round = 0; round < 8; round++) {
      const p = spawn(process.execPath, [loop, repo, '200']);
      await new Promise((r) => p.stdout.once('data', r));
      await new Promise((r) => setTimeout(r, 10 + round * 37)); // a different moment each round
      p.kill('SIGKILL');
      await new Promise((r) => p.once('exit', r));
      // killed before the repository existed: there is nothing to check yet
      if (existsSync(join(repo, '.git'))) execFileSync('git', ['-C', repo, 'fsck', '--strict', '--no-dangling']);
      await commitSnapshot(repo, snap([`0.0.0.0:${5000 + round}  after  root  /after`]));
      expect(git(repo, 'status', '--porcelain')).toBe('');
      expect(readdirSync(join(repo, '.git', 'lsm-tmp'))).toEqual([]);
      expect(readdirSync(repo).filter((n) => n.startsWith('.lsm-init-'))).toEqual([]);
    }
    expect(Number(git(repo, 'rev-list', '--count', 'HEAD'))).toBeGreaterThan(8);
  });
});
