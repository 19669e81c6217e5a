// Issue 18.3: io_uring cannot hide an owner or a socket. A real listener registered in a ring's
// fixed-file table (IORING_REGISTER_FILES, raw syscalls: test/helpers/ring-holder.c, compiled
// here), its fd then closed: only /proc/<pid>/fdinfo/<ring fd> still names it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { ROOT, World } from '../helpers/world.js';
import { fakeSendmail, testConfig } from '../helpers/config.js';

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-c', 'safe.directory=*', '-C', repo, ...args], { encoding: 'utf8' });

describe('a socket held only in an io_uring fixed-file table', { timeout: 120_000 }, () => {
  let world: World;
  let tmp: string, repo: string, outbox: string, holder: string;
  let unavailable = ''; // why io_uring cannot be set up here, if it cannot
  const pids: number[] = [];
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-uring-'));
    repo = join(tmp, 'repo');
    holder = join(tmp, 'ring-holder');
    execFileSync('cc', ['-O', '-Wall', '-o', holder, join(ROOT, 'test', 'helpers', 'ring-holder.c')]);
    const probe = await world.run([holder, '0', 'probe']);
    if (probe.code === 2) unavailable = probe.stderr.trim(); // ENOSYS, or EPERM: sysctl kernel.io_uring_disabled
    else expect([probe.code, probe.stderr]).toEqual([0, '']);
    const mail = fakeSendmail(tmp);
    outbox = mail.outbox;
    world.defaults = { LSM_CONFIG: testConfig(join(tmp, 'etc'), { SENDMAIL: mail.path, USER: 'ops@example.org' }) };
    expect((await world.lsm(['-g', '--repo', repo])).code).toBe(0);
  });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    await world?.stop();
  });

  const needRing = (ctx: { skip: (note?: string) => void }) => {
    if (unavailable !== '') {
      let sysctl = 'absent';
      try { sysctl = readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8').trim(); } catch { /* a kernel before 6.6 */ }
      console.warn(`io_uring test SKIPPED: ${unavailable} (kernel.io_uring_disabled=${sysctl})`);
      ctx.skip(`io_uring unavailable: ${unavailable}`);
    }
  };
  const newMail = (before: Set<string>) => Promise.all(readdirSync(outbox).filter((n) => n.endsWith('.eml') && !before.has(n))
    .map(async (n) => (await simpleParser(readFileSync(join(outbox, n)))).text ?? ''));
  const ring = async (port: number, mode: 'stay' | 'leave' | 'leave-sqpoll') => {
    const h = await world.spawn([holder, String(port), mode]);
    pids.push(h.pid);
    expect(h.ready).toMatch(new RegExp(`^ready ${h.pid} \\d+`));
    // the listener has no fd of its own: only the ring holds it (its stdio are the world's socketpairs)
    const links = (await world.run(['sh', '-c', `for f in /proc/${h.pid}/fd/*; do readlink "$f"; done`])).stdout;
    const ringFd = Number(h.ready.split(' ')[2]);
    const held = /^ {4}0: (socket:\[\d+\])$/m.exec((await world.run(['cat', `/proc/${h.pid}/fdinfo/${ringFd}`])).stdout);
    expect(held).not.toBeNull();
    expect(links.split('\n')).not.toContain(held![1]);
    return h.pid;
  };

  it('names the ring\'s owner as the listener\'s owner, in the snapshot and in the mail', async (ctx) => {
    needRing(ctx);
    const pid = await ring(7501, 'stay');
    const before = new Set(readdirSync(outbox));
    const r = await world.lsm(['-c', '--repo', repo]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(git(repo, 'show', 'HEAD:host/tcp')).toContain(`0.0.0.0:7501  ring-holder  root  ${holder}\n`);
    const mails = await newMail(before);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatch(new RegExp(`^  host/tcp  0\\.0\\.0\\.0:7501  ring-holder  root  \\S+\\n      pid ${pid}  user root `, 'm'));
  });

  it('the fd walk finds the ring-held socket alike in line and in its worker thread', async (ctx) => {
    needRing(ctx);
    const pid = await ring(7503, 'stay');
    const r = await world.run([process.execPath, join(ROOT, 'test', 'helpers', 'collect-both.mjs'), String(pid)]);
    expect(r.stderr).toBe('');
    const { parallel, inline, worker } = JSON.parse(r.stdout);
    const listener = inline.find((s: { local: string }) => s.local === '0.0.0.0:7503');
    expect(listener.owners).toEqual([pid]);
    expect(parallel).toEqual(inline);
    expect(worker[pid]).toContain(listener.inode);
  });

  it('records a listener whose namespace only the ring keeps alive, with its owner, as held through io_uring', async (ctx) => {
    needRing(ctx);
    const pid = await ring(7502, 'leave');
    const before = new Set(readdirSync(outbox));
    const r = await world.lsm(['-c', '--repo', repo]);
    expect(r.code).toBe(0);
    // no fd of it to look through, so its namespace cannot be entered: the line says where it hides
    expect(git(repo, 'show', 'HEAD:host/unattributed')).toBe(`io_uring  ring-holder  root  ${holder}\n`);
    const mails = await newMail(before);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatch(new RegExp(`^  host/unattributed  io_uring  ring-holder  root  \\S+\\n      pid ${pid}  user root `, 'm'));
  });

  it("finds a namespace only the ring keeps alive through the ring's own thread (SQPOLL), and names the owner", async (ctx) => {
    needRing(ctx);
    const pid = await ring(7504, 'leave-sqpoll');
    const before = new Set(readdirSync(outbox));
    const r = await world.lsm(['-c', '--repo', repo]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const files = git(repo, 'ls-tree', '-r', '--name-only', 'HEAD').split('\n');
    const tcp = files.filter((f) => /^netns\/[^/]+\/tcp$/.test(f));
    expect(tcp).toHaveLength(1);
    expect(git(repo, 'show', `HEAD:${tcp[0]}`)).toBe(`0.0.0.0:7504  ring-holder  root  ${holder}\n`);
    const mails = await newMail(before);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatch(new RegExp(`^  ${tcp[0].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}  0\\.0\\.0\\.0:7504  ring-holder  root  \\S+\\n      pid ${pid}  user root `, 'm'));
  });
});
