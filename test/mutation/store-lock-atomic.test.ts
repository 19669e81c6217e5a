// The repository lock (lock.ts): a live holder makes lsm wait, then exit 75; a holder that is gone
// (its pid dead, its pid reused by another process, another boot, or a lock older than this boot
// from another host) is taken over at once, guarded against two takers. Holders are real
// processes (a `sleep` child, a child that exited). And the atomic writes (atomic-fs.ts): the
// whole new content or the old, no temporary file left, a symlink replaced and never followed.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockRepository } from '../../src/store/lock.js';
import { TMP_DIR, atomicFs, cleanTmp, writeFileAtomic } from '../../src/store/atomic-fs.js';
import { LsmError } from '../../src/errors.js';

const BOOT = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
const UPTIME_MS = Number(readFileSync('/proc/uptime', 'latin1').split(' ')[0]) * 1000;
const HOUR = 3_600_000;
const startOf = (pid: number) => { const s = readFileSync(`/proc/${pid}/stat`, 'latin1'); return s.slice(s.lastIndexOf(')') + 2).split(' ')[19]; };

const children: ChildProcess[] = [];
afterEach(() => { for (const c of children.splice(0)) c.kill('SIGKILL'); });

/** A live process to name as a holder (stopped after the test). */
function live(): { pid: number; start: string } {
  const c = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(c);
  return { pid: c.pid!, start: startOf(c.pid!) };
}
/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(String(r.stdout).trim());
}

function gitdirWithLock(holder: object | string, ageMs = 0) {
  const gitdir = mkdtempSync(join(tmpdir(), 'lsm-lock-'));
  const path = join(gitdir, 'lsm.lock');
  writeFileSync(path, typeof holder === 'string' ? holder : JSON.stringify({ since: Date.now(), ...holder }));
  if (ageMs) { const t = (Date.now() - ageMs) / 1000; utimesSync(path, t, t); }
  return { gitdir, path };
}

/** Whether lockRepository takes the lock within waitMs (released at once), or fails busy. */
async function takes(gitdir: string, waitMs = 150): Promise<boolean> {
  try {
    (await lockRepository(gitdir, waitMs)).release();
    return true;
  } catch (err) {
    expect(err).toBeInstanceOf(LsmError);
    expect((err as LsmError).exitCode).toBe(75);
    return false;
  }
}

describe('the repository lock', () => {
  it('names its holder: pid, process start, host, boot; released, it is gone, and free again', async () => {
    const gitdir = mkdtempSync(join(tmpdir(), 'lsm-lock-'));
    const lock = await lockRepository(gitdir, 0);
    const h = JSON.parse(readFileSync(join(gitdir, 'lsm.lock'), 'utf8'));
    expect(h).toMatchObject({ pid: process.pid, start: startOf(process.pid), host: hostname(), boot: BOOT });
    expect(Math.abs(h.since - Date.now())).toBeLessThan(60_000);
    expect(await takes(gitdir, 0)).toBe(false); // held by us: a second taker waits, then is busy
    lock.release();
    expect(existsSync(join(gitdir, 'lsm.lock'))).toBe(false);
    expect(await takes(gitdir, 0)).toBe(true);
  });

  it('release leaves a lock that another holder has since written', async () => {
    const gitdir = mkdtempSync(join(tmpdir(), 'lsm-lock-'));
    const lock = await lockRepository(gitdir, 0);
    const other = JSON.stringify({ pid: live().pid, start: 'x', host: 'h', since: 1 });
    writeFileSync(join(gitdir, 'lsm.lock'), other);
    lock.release();
    expect(readFileSync(join(gitdir, 'lsm.lock'), 'utf8')).toBe(other);
  });

  it('a live holder on this boot keeps it: busy (75) with its pid; once it exits, the lock is taken over', async () => {
    const p = live();
    const { gitdir, path } = gitdirWithLock({ pid: p.pid, start: p.start, host: 'renamed-host', boot: BOOT });
    const err = await lockRepository(gitdir, 150).then(() => null, (e: unknown) => e);
    expect((err as LsmError).message).toBe(`repository is busy: another lsm (pid ${p.pid}) holds ${path}`);
    expect((err as LsmError).exitCode).toBe(75);
    children[0].kill('SIGKILL');
    await new Promise((r) => children[0].once('exit', r));
    expect(await takes(gitdir)).toBe(true);
  });

  it("a holder whose pid was reused (another start time), or that is dead, is gone: taken at once", async () => {
    const p = live();
    expect(await takes(gitdirWithLock({ pid: p.pid, start: String(Number(p.start) + 1), host: hostname(), boot: BOOT }).gitdir, 0)).toBe(true);
    expect(await takes(gitdirWithLock({ pid: deadPid(), start: '1', host: hostname(), boot: BOOT }).gitdir, 0)).toBe(true);
    expect(await takes(gitdirWithLock({ pid: 2 ** 30, start: '1', host: hostname(), boot: BOOT }).gitdir, 0)).toBe(true);
  });

  it('this host name but another boot: it died with that boot, even if its pid now runs', async () => {
    const p = live();
    expect(await takes(gitdirWithLock({ pid: p.pid, start: p.start, host: hostname(), boot: 'another-boot' }).gitdir, 0)).toBe(true);
  });

  it('a lock from an older lsm (no boot id) under this host name: its pid and start say', async () => {
    const p = live();
    expect(await takes(gitdirWithLock({ pid: p.pid, start: p.start, host: hostname() }).gitdir)).toBe(false);
    expect(await takes(gitdirWithLock({ pid: deadPid(), start: p.start, host: hostname() }).gitdir, 0)).toBe(true);
  });

  it('another host name and another boot: kept while it may be live, taken only when older than this boot and over an hour', async () => {
    const other = { pid: deadPid(), start: '1', host: 'another-machine', boot: 'another-boot' };
    expect(await takes(gitdirWithLock(other).gitdir)).toBe(false); // fresh
    expect(await takes(gitdirWithLock(other, 30 * 60_000).gitdir)).toBe(false); // half an hour
    expect(await takes(gitdirWithLock(other, Math.max(UPTIME_MS - 60_000, 1000)).gitdir)).toBe(false); // since this boot, however old
    expect(await takes(gitdirWithLock(other, Math.max(UPTIME_MS, HOUR) + 120_000).gitdir, 0)).toBe(true);
    const { pid } = live(); // no boot id at all (an older lsm elsewhere): the same rule, whatever its pid
    expect(await takes(gitdirWithLock({ pid, start: startOf(pid), host: 'another-machine' }).gitdir)).toBe(false);
    expect(await takes(gitdirWithLock({ pid, start: startOf(pid), host: 'another-machine' }, Math.max(UPTIME_MS, HOUR) + 120_000).gitdir, 0)).toBe(true);
  });

  it('a garbage or half-written lock is kept while fresh (it may be being written), taken once 5 s old', async () => {
    for (const text of ['', '{"pid":', 'garbage', '{"pid":"12"}', 'null']) {
      const fresh = gitdirWithLock(text);
      const err = await lockRepository(fresh.gitdir, 0).then(() => null, (e: unknown) => e as LsmError);
      expect([err?.message, err?.exitCode], text).toEqual([`repository is busy: another lsm (pid ?) holds ${fresh.path}`, 75]);
      expect(await takes(gitdirWithLock(text, 6000).gitdir, 0), text).toBe(true);
    }
  });

  it('a takeover in progress (a fresh .steal guard) is left to its taker; a guard over 10 s old is cleared', async () => {
    const dead = { pid: deadPid(), start: '1', host: hostname(), boot: BOOT };
    const a = gitdirWithLock(dead);
    writeFileSync(`${a.path}.steal`, '1');
    expect(await takes(a.gitdir)).toBe(false);
    expect(existsSync(`${a.path}.steal`)).toBe(true);
    const b = gitdirWithLock(dead);
    writeFileSync(`${b.path}.steal`, '1');
    const t = (Date.now() - 11_000) / 1000;
    utimesSync(`${b.path}.steal`, t, t);
    expect(await takes(b.gitdir, 1000)).toBe(true);
    expect(existsSync(`${b.path}.steal`)).toBe(false); // and the taker's own guard is gone
  });

  it('a lock that cannot be created is an error naming it, exit code 1, not busy', async () => {
    const gitdir = join(mkdtempSync(join(tmpdir(), 'lsm-lock-')), 'missing');
    const err = await lockRepository(gitdir, 0).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(LsmError);
    expect((err as LsmError).message).toMatch(new RegExp(`^cannot create lock ${gitdir}/lsm\\.lock: ENOENT`));
    expect((err as LsmError).exitCode).toBe(1);
  });

  it('a lock path that is a directory, a FIFO or a symbolic link is damage (65) said as what it is: never busy for ever, stolen in a loop, nor a hang', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-lock-'));
    const lock = join(dir, 'lsm.lock');
    const plants: [() => void, string][] = [
      [() => mkdirSync(lock), 'a directory'],
      [() => spawnSync('mkfifo', [lock]), 'a FIFO'],
      [() => symlinkSync('/nonexistent-lsm-lock', lock), 'a symbolic link to "/nonexistent-lsm-lock"'],
    ];
    for (const [plant, what] of plants) {
      plant();
      const err = await lockRepository(dir, 60_000).then(() => null, (e: unknown) => e);
      expect(err).toMatchObject({ code: 'Damaged', exitCode: 65, message: `lock ${lock} is ${what}, not a file lsm made: damage, never followed; move it aside (mv ${lock} ${lock}.damaged), then run lsm again` });
      expect(existsSync('/nonexistent-lsm-lock')).toBe(false);
      rmSync(lock, { recursive: true });
    }
    (await lockRepository(dir, 0)).release();
  });
});

describe('atomic writes', () => {
  it('writes the whole content with its mode, over the old file, leaving no temporary file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-atomic-'));
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp);
    await writeFileAtomic(join(dir, 'f'), 'old', tmp);
    expect(statSync(join(dir, 'f')).mode & 0o777).toBe(0o644);
    await writeFileAtomic(join(dir, 'f'), Buffer.from('new ✓'), tmp, 0o600);
    expect(readFileSync(join(dir, 'f'), 'utf8')).toBe('new ✓');
    expect(statSync(join(dir, 'f')).mode & 0o777).toBe(0o600);
    expect(readdirSync(tmp)).toEqual([]);
    await writeFileAtomic(join(dir, 'g'), 'beside', undefined, 0o640, 'none'); // the temporary file beside it
    expect(readdirSync(dir).sort()).toEqual(['f', 'g', 'tmp']);
    expect(statSync(join(dir, 'g')).mode & 0o777).toBe(0o640);
  });

  it('replaces a symlink planted at the target instead of writing through it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-atomic-'));
    writeFileSync(join(dir, 'victim'), 'untouched');
    symlinkSync(join(dir, 'victim'), join(dir, 'ref'));
    await writeFileAtomic(join(dir, 'ref'), 'ours', dir, 0o644, 'file');
    expect(lstatSync(join(dir, 'ref')).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(dir, 'ref'), 'utf8')).toBe('ours');
    expect(readFileSync(join(dir, 'victim'), 'utf8')).toBe('untouched');
  });

  it('a write that fails leaves the old file and no temporary file, and says why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-atomic-'));
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp);
    mkdirSync(join(dir, 'a-directory'));
    writeFileSync(join(dir, 'a-directory', 'x'), 'x');
    // rename onto a non-empty directory fails after the data is written
    await expect(writeFileAtomic(join(dir, 'a-directory'), 'data', tmp)).rejects.toMatchObject({ code: expect.stringMatching(/^(EISDIR|ENOTEMPTY|EEXIST)$/) });
    expect(readdirSync(tmp)).toEqual([]);
    expect(readFileSync(join(dir, 'a-directory', 'x'), 'utf8')).toBe('x');
    await expect(writeFileAtomic(join(dir, 'f'), 'data', join(dir, 'no-such-tmp'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(existsSync(join(dir, 'f'))).toBe(false);
  });

  it("isomorphic-git's writes inside .git go through .git/lsm-tmp with their mode; work-tree writes beside the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-atomic-'));
    const gitdir = join(dir, '.git');
    mkdirSync(join(gitdir, 'objects/ab'), { recursive: true });
    const fs = atomicFs(gitdir);
    await fs.promises.writeFile(join(dir, 'host-tcp'), 'work tree');
    await fs.promises.writeFile(`${gitdir}-sibling`, 'not inside .git');
    expect(existsSync(join(gitdir, TMP_DIR))).toBe(false); // nothing inside .git written yet
    await fs.promises.writeFile(join(gitdir, 'objects/ab/cdef'), 'object', { mode: 0o444 });
    await fs.promises.writeFile(join(gitdir, 'HEAD'), 'ref: refs/heads/main\n', 'utf8');
    await fs.promises.writeFile(join(gitdir, 'index'), 'index', {});
    expect(readdirSync(join(gitdir, TMP_DIR))).toEqual([]);
    expect(statSync(join(gitdir, 'objects/ab/cdef')).mode & 0o777).toBe(0o444);
    expect(statSync(join(gitdir, 'HEAD')).mode & 0o777).toBe(0o644);
    expect(statSync(join(gitdir, 'index')).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(gitdir, 'HEAD'), 'utf8')).toBe('ref: refs/heads/main\n');
    expect(readFileSync(join(dir, 'host-tcp'), 'utf8')).toBe('work tree');
    expect(await fs.promises.readFile(join(gitdir, 'index'), 'utf8')).toBe('index');
  });

  it('temporary files a killed run left are removed; no temporary directory is no error', async () => {
    const gitdir = mkdtempSync(join(tmpdir(), 'lsm-atomic-'));
    await cleanTmp(gitdir);
    mkdirSync(join(gitdir, TMP_DIR));
    for (const n of ['.HEAD.1.aa.tmp', '.x.2.bb.tmp']) writeFileSync(join(gitdir, TMP_DIR, n), 'torn');
    await cleanTmp(gitdir);
    expect(readdirSync(join(gitdir, TMP_DIR))).toEqual([]);
  });
});
