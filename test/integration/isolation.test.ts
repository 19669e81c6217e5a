// --repo isolation: another repository than the default keeps its own spool, event log, alerted
// state and lock (under its .git), so its alerts never land in the host's spool or event log nor
// show in the host's `lsm status`; a spool named in the config is never shared by two repositories.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LSM, ROOT } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';
import { lockRepository } from '../../src/store/lock.js';

const PROC = (name: string) => join(ROOT, 'test', 'fixtures', name, 'proc');

function lsm(args: string[], config: string) {
  const r = spawnSync(process.execPath, [LSM, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', LSM_CONFIG: config, LSM_REPO: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('--repo isolation', () => {
  it('keeps a second repository\'s alerts in that repository, and refuses to share a configured spool', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-iso-'));
    // no SPOOL_DIR or EVENT_LOG: the defaults, as on a host; no mail, so the alert stays spooled
    const conf = join(dir, 'lsm.conf');
    writeFileSync(conf, `HOOKS_DIR="${join(dir, 'hooks.d')}"\nIGNORE_FILE="${join(dir, 'ignore')}"\nSENDMAIL=""\n`);
    chmodSync(conf, 0o600);
    writeFileSync(join(dir, 'ignore'), '');
    const x = join(dir, 'x');
    expect(lsm(['scan', '-q', '--repo', x, '--proc', PROC('basic')], conf).code).toBe(0);
    const r = lsm(['scan', '-q', '--repo', x, '--proc', PROC('hostile')], conf);
    expect(r.code).toBe(0);
    const spool = join(x, '.git', 'lsm', 'spool');
    expect(readdirSync(spool).filter((f) => f.endsWith('.json'))).toHaveLength(1);
    expect(readFileSync(join(spool, '.repo'), 'utf8')).toBe(`${x}\n`);
    const events = readFileSync(join(x, '.git', 'lsm', 'events.jsonl'), 'utf8').trim().split('\n');
    expect(events.map((l) => JSON.parse(l).repo)).toEqual([x]);
    expect(lsm(['status', '--repo', x, '--proc', PROC('basic')], conf).stdout).toMatch(new RegExp(`^1 alert undelivered in ${spool} `, 'm'));
    // another repository (standing in for the host's) sees nothing of it
    const y = join(dir, 'y');
    expect(lsm(['scan', '-q', '--repo', y, '--proc', PROC('basic')], conf).code).toBe(0);
    expect(lsm(['status', '--repo', y, '--proc', PROC('basic')], conf).stdout).not.toMatch(/undelivered/);
    expect(existsSync(join(y, '.git', 'lsm', 'spool'))).toBe(false); // nothing to alert: no spool

    // a spool the config names belongs to the first repository that used it
    const shared = testConfig(join(dir, 'etc'));
    for (const repo of ['a', 'b']) lsm(['scan', '-q', '--repo', join(dir, repo), '--proc', PROC('basic')], shared);
    expect(lsm(['scan', '-q', '--repo', join(dir, 'a'), '--proc', PROC('hostile')], shared).code).toBe(0);
    const b = lsm(['scan', '-q', '--repo', join(dir, 'b'), '--proc', PROC('hostile')], shared);
    expect([b.code, b.stderr]).toEqual([2, `lsm: spool ${join(dir, 'etc', 'spool')} belongs to repository ${join(dir, 'a')}, not ${join(dir, 'b')}: give this repository its own SPOOL_DIR (or leave SPOOL_DIR unset: with --repo the spool is kept in the repository)\n`]);
  });
});

describe('first runs and stale locks', () => {
  it('15 concurrent first runs on an empty path all succeed, and leave no .lsm-init-*', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-first-'));
    const conf = testConfig(join(dir, 'etc'));
    const repo = join(dir, 'repo');
    const runs = await Promise.all(Array.from({ length: 15 }, () => new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [LSM, '-c', '-q', '--repo', repo, '--proc', PROC('basic')], { env: { ...process.env, LSM_CONFIG: conf, NO_COLOR: '1' } });
      let stderr = '';
      p.stderr.on('data', (d) => { stderr += d; });
      p.on('close', (code) => resolve({ code, stderr }));
    })));
    expect(runs.map((r) => [r.code, r.stderr])).toEqual(runs.map(() => [0, '']));
    expect(readdirSync(repo).filter((n) => n.startsWith('.lsm-init-'))).toEqual([]);
    expect(spawnSync('git', ['-C', repo, 'rev-list', '--count', 'HEAD'], { encoding: 'utf8' }).stdout).toBe('1\n');
  }, 120_000);

  it('takes over a lock left under an old hostname in this boot, or from before this boot; waits for one it cannot prove dead', async () => {
    const gitdir = mkdtempSync(join(tmpdir(), 'lsm-lock-'));
    const lock = join(gitdir, 'lsm.lock');
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    // this boot, a dead pid, the host since renamed: taken over at once
    writeFileSync(lock, JSON.stringify({ pid: 999999, start: '1', host: 'old-name', since: 0, boot }));
    (await lockRepository(gitdir, 300)).release();
    expect(existsSync(lock)).toBe(false);
    // this host's name, another boot: that holder died with its boot (its pid means nothing now)
    writeFileSync(lock, JSON.stringify({ pid: process.pid, start: 'x', host: hostname(), since: 0, boot: 'another-boot' }));
    (await lockRepository(gitdir, 300)).release();
    // another name and boot, written before this boot and over an hour ago: taken over
    writeFileSync(lock, JSON.stringify({ pid: 1, start: '1', host: 'old-name', since: 0 }));
    utimesSync(lock, new Date(0), new Date(0));
    (await lockRepository(gitdir, 300)).release();
    // another name and boot, fresh: maybe another machine on shared storage, never stolen
    writeFileSync(lock, JSON.stringify({ pid: 1, start: '1', host: 'other-machine', since: Date.now(), boot: 'another-boot' }));
    await expect(lockRepository(gitdir, 300)).rejects.toThrow(/repository is busy/);
    // a live holder in this boot: waited for
    writeFileSync(lock, JSON.stringify({ pid: process.pid, start: readFileSync(`/proc/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ')[19], host: 'renamed', since: 0, boot }));
    await expect(lockRepository(gitdir, 300)).rejects.toThrow(/repository is busy/);
  });
});
