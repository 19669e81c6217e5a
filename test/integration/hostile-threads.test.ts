// A thread that does not share its process's view (collect/threads.ts): /proc/<pid>/fd and
// /proc/<pid>/ns/net are the leader's, and ss -p and lsof read only those. A listener in a thread's
// own fd table (unshare CLONE_FILES) had no owner ('?  root  ?'); one in a thread's own fd table and
// namespace was not recorded at all; a leader gone by pthread_exit hid its threads' sockets' owner.
// Real threads (test/helpers/thread-holder.c, compiled here), real listeners, in a world of their own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, World } from '../helpers/world.js';

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-c', 'safe.directory=*', '-C', repo, ...args], { encoding: 'utf8' });

describe('a listener only a thread holds', { timeout: 120_000 }, () => {
  let world: World;
  let tmp: string, holder: string;
  const pids: number[] = [];
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-threads-'));
    holder = join(tmp, 'thread-holder');
    execFileSync('cc', ['-O', '-Wall', '-o', holder, join(ROOT, 'test', 'helpers', 'thread-holder.c'), '-lpthread']);
  });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    await world?.stop();
  });

  const start = async (port: number, mode: string) => {
    const h = await world.spawn([holder, String(port), mode]);
    pids.push(h.pid);
    const [, pid, tid] = h.ready.split(' ').map(Number);
    expect(pid).toBe(h.pid);
    return { pid, tid };
  };
  /** every snapshot file's lines, by path, after one scan into a new repository */
  const scan = async () => {
    const repo = join(tmp, `repo-${pids.length}`);
    const r = await world.lsm(['scan', '--repo', repo]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const files = git(repo, 'ls-files').split('\n').filter(Boolean);
    return Object.fromEntries(files.map((f) => [f, git(repo, 'show', `HEAD:${f}`)]));
  };

  it('names the process of a thread with an fd table of its own, where ss names none', async () => {
    const { pid, tid } = await start(7601, 'files');
    // the listener is in the thread's table only: ss -p (the leader's table) has no owner for it
    const ss = (await world.run(['ss', '-tlnpH', 'sport = :7601'])).stdout;
    expect(ss).toContain('0.0.0.0:7601');
    expect(ss).not.toContain('users:');
    const links = (await world.run(['sh', '-c', `readlink /proc/${pid}/fd/* /proc/${pid}/task/${tid}/fd/*`])).stdout;
    expect(links).toMatch(/socket:/);
    const snap = await scan();
    expect(snap['host/tcp']).toContain(`0.0.0.0:7601  thread-holder  root  ${holder}\n`);
  });

  it('names the owner when the thread\'s table has as many fds as the leader\'s (kcmp)', async (ctx) => {
    // only the kernel can tell two tables apart then (sockdiag.c sameFiles): an addon built before it
    // falls back on the fds' count, which this thread keeps equal
    let addon: { sameFiles?: unknown } | null = null;
    try { addon = createRequire(import.meta.url)(join(ROOT, 'build', 'Release', 'sockdiag.node')); } catch { /* not built */ }
    if (typeof addon?.sameFiles !== 'function') {
      console.warn('thread table test SKIPPED: the addon has no sameFiles (rebuild it: npm run install)');
      ctx.skip('addon without sameFiles');
    }
    const { pid, tid } = await start(7605, 'files-same-count');
    const count = async (dir: string) => (await world.run(['stat', '-c', '%s', dir])).stdout.trim();
    expect(await count(`/proc/${pid}/task/${tid}/fd`)).toBe(await count(`/proc/${pid}/fd`));
    const snap = await scan();
    expect(snap['host/tcp']).toContain(`0.0.0.0:7605  thread-holder  root  ${holder}\n`);
  });

  it('records the namespace a thread alone is in, and its listener, with its owner', async () => {
    const { pid, tid } = await start(7602, 'net');
    const nsOf = async (p: string) => (await world.run(['readlink', p])).stdout.trim();
    const threadNs = await nsOf(`/proc/${pid}/task/${tid}/ns/net`);
    expect(threadNs).not.toBe(await nsOf(`/proc/${pid}/ns/net`));
    const inode = /\[(\d+)\]/.exec(threadNs)![1];
    const snap = await scan();
    expect(snap[`netns/thread-holder-${inode}/tcp`]).toBe(`0.0.0.0:7602  thread-holder  root  ${holder}\n`);
  });

  it('says a listener in a namespace only a thread\'s own fd keeps alive', async () => {
    await start(7603, 'net-back');
    const snap = await scan();
    // read through the thread's fd (pidfd_open with PIDFD_THREAD, a newer addon), else said as a
    // socket in no table read, with its owner: never silent
    const all = Object.entries(snap).map(([f, text]) => text.split('\n').filter(Boolean).map((l) => `${f}  ${l}`)).flat();
    const line = all.find((l) => / 0\.0\.0\.0:7603  thread-holder  root /.test(l) || /^host\/unattributed  \S+  thread-holder  root /.test(l));
    expect(line, all.join('\n')).toBeDefined();
  });

  it('names the process whose leader exited, from its threads', async () => {
    const { pid } = await start(7604, 'leader-exit');
    expect((await world.run(['grep', '^State:', `/proc/${pid}/status`])).stdout).toMatch(/zombie/);
    const snap = await scan();
    expect(snap['host/tcp']).toContain(`0.0.0.0:7604  thread-holder  root  ${holder}\n`);
  });
});
