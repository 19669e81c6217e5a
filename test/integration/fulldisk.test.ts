// A full disk is a failure said in one line (exit 1), never a stack, a torn record or exit 0
// (issue 17, item 2): real tmpfs file systems filled for real, and /dev/full as stdout. The scans
// read fixture /proc trees, so each run writes the same files and the sweeps are repeatable.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fullDisks, sh } from '../helpers/full-disk.js';
import { LSM, ROOT } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

const FIX = join(ROOT, 'test', 'fixtures');
const PROCS = [join(FIX, 'basic', 'proc'), join(FIX, 'hostile', 'proc')];

function lsm(args: string[], env: Record<string, string>, stdout: 'pipe' | number = 'pipe') {
  const r = spawnSync(process.execPath, [LSM, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', stdout, 'pipe'] });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr };
}

const fsck = (repo: string) => sh(['git', '-C', repo, 'fsck', '--strict', '--no-dangling']);

describe('a full disk', () => {
  const disks = fullDisks('lsm-fulldisk-');
  const { mount, fill, mounts } = disks;

  it('the event log: a line is written whole or not at all; the run fails in one line and the alert is written once there is room', () => {
    const small = mount('log', 'size=200k');
    const etc = join(disks.tmp, 'etc-log');
    const eventLog = join(small, 'events.jsonl');
    const config = testConfig(etc, { EVENT_LOG: eventLog });
    const env = { LSM_CONFIG: config };
    const repo = join(disks.tmp, 'repo-log');
    expect(lsm(['scan', '--repo', repo, '--proc', PROCS[0]], env).code).toBe(0);
    // a log whose last page has 96 bytes left, on a disk with no page left: the next line is cut short
    const first = JSON.stringify({ id: null, schema: 1, event: 'padding', pad: '' });
    writeFileSync(eventLog, `${first.slice(0, -2)}${'x'.repeat(4096 - 96 - first.length - 1)}"}\n`, { mode: 0o640 });
    const before = readFileSync(eventLog, 'utf8');
    fill(small);
    const r = lsm(['scan', '--repo', repo, '--proc', PROCS[1]], env);
    const commit = sh(['git', '-C', repo, 'rev-parse', 'HEAD']).stdout.trim();
    expect(r.stderr.split('\n').filter((l) => l.includes('event log'))).toEqual([`lsm: alert ${commit.slice(0, 10)}: eventlog: cannot write the event log ${eventLog}: no space left on device`]);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(r.code).toBe(1);
    expect(readFileSync(eventLog, 'utf8')).toBe(before); // nothing torn left for jq
    // still full: the alert waits in the spool, and every run says the log is behind
    expect(lsm(['flush', '--repo', repo], env).code).toBe(1);
    expect(readFileSync(eventLog, 'utf8')).toBe(before);
    // room again: the alert is written, once, and every line parses
    rmSync(join(small, 'filler'));
    const ok = lsm(['flush', '--repo', repo], env);
    expect(ok.stderr).not.toContain('event log');
    const lines = readFileSync(eventLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string | null; commit?: string });
    expect(lines.filter((l) => l.id !== null).map((l) => l.commit)).toEqual([commit]);
    expect(lsm(['-c', '--repo', repo, '--proc', PROCS[1]], env).code).toBe(0);
  });

  it('METRICS_FILE on a full disk: said in words (no space left on device, not ENOSPC), and no half-written temporary left beside it', () => {
    const small = mount('metrics', 'size=64k');
    const config = testConfig(join(disks.tmp, 'etc-metrics'), { METRICS_FILE: join(small, 'lsm.prom') });
    const repo = join(disks.tmp, 'repo-metrics');
    expect(lsm(['-c', '--repo', repo, '--proc', PROCS[0]], { LSM_CONFIG: config }).code).toBe(0);
    fill(small);
    const r = lsm(['-c', '--repo', repo, '--proc', PROCS[1]], { LSM_CONFIG: config });
    expect(r.stderr.split('\n').filter((l) => l.includes('METRICS_FILE'))).toEqual([`lsm: cannot write METRICS_FILE ${join(small, 'lsm.prom')}: no space left on device`]);
    expect(sh(['ls', '-A', small]).stdout.split('\n').filter(Boolean).sort()).toEqual(['filler', 'lsm.prom']);
  });

  it('a first scan on a disk that fills at any file: one line, exit 1, and the next run with room commits with git fsck clean', { timeout: 600_000 }, () => {
    const etc = join(disks.tmp, 'etc-first');
    // the spool and event log in the repository (with --repo and none configured): all on the full disk
    const config = testConfig(etc);
    writeFileSync(config, readFileSync(config, 'utf8').split('\n').filter((l) => !/^(SPOOL_DIR|EVENT_LOG)=/.test(l)).join('\n'));
    const env = { LSM_CONFIG: config };
    // a file system with room for k files (inodes): the first scan meets a full disk at its k-th file
    let n = 0;
    const attempt = (k: number) => {
      const small = mount(`first-${n++}-${k}`, `size=4m,nr_inodes=${k}`);
      return { small, repo: join(small, 'repo'), r: lsm(['scan', '--repo', join(small, 'repo'), '--proc', PROCS[0]], env) };
    };
    const unmount = (small: string) => { expect(sh(['umount', small]).code).toBe(0); mounts.splice(mounts.indexOf(small), 1); };
    // the fewest files a first scan needs (bisected): its last writes (journal, pack counter, alerted
    // ref) are the files just below, its first ones (the repository) far below
    let [lo, hi] = [2, 400];
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      const { small, r } = attempt(mid);
      if (r.code === 0 && r.stderr === '') hi = mid; else lo = mid;
      unmount(small);
    }
    const seen = new Set<string>();
    // the commit's hash (its time) decides whether its loose object needs a fan-out directory of its
    // own (.git/objects/xx/): one inode more or less from run to run, so a run just below the minimum
    // may have room; such a run did its job (exit 0), and the next attempt meets the full disk
    const failing = (k: number) => {
      for (let tries = 1; ; tries++) {
        const a = attempt(k);
        if (!(a.r.code === 0 && a.r.stderr === '' && k >= hi - 2 && tries < 5)) return a;
        unmount(a.small);
      }
    };
    for (const k of [2, hi >> 1, hi - 5, hi - 3, hi - 2, hi - 1]) {
      const { small, repo, r } = failing(k);
      expect([k, r.code, r.stderr]).toEqual([k, 1, expect.stringMatching(/^lsm: [^\n]*: no space left on device\n$/)]);
      seen.add(r.stderr.replace(/^lsm: ([^:/]*).*/s, '$1'));
      // room again: the next run works on what the full disk left
      expect(sh(['mount', '-o', 'remount,nr_inodes=10000', small]).code).toBe(0);
      const next = lsm(['scan', '--repo', repo, '--proc', PROCS[1]], env);
      expect([k, next.code, next.stderr]).toEqual([k, 0, expect.not.stringMatching(/internal error|no space/)]);
      expect([k, fsck(repo)]).toEqual([k, { code: 0, stdout: '', stderr: '' }]);
      unmount(small);
    }
    expect([...seen]).toEqual(expect.arrayContaining(['cannot create repository ', 'cannot commit to ']));
  });

  it('output to a full device (> /dev/full): one line and exit 1, never a stack; a closed pipe stays quiet', () => {
    const etc = join(disks.tmp, 'etc-out');
    const env = { LSM_CONFIG: testConfig(etc) };
    const repo = join(disks.tmp, 'repo-out');
    const full = openSync('/dev/full', 'w');
    try {
      for (const args of [['scan', '--proc', PROCS[0]], ['log'], ['status', '--json', '--proc', PROCS[0]], ['log', '-p'], ['show'], ['config']]) {
        const r = lsm([...args, '--repo', repo], env, full);
        expect([args.join(' '), r.code, r.stderr]).toEqual([args.join(' '), 1, 'lsm: cannot write output: no space left on device\n']);
      }
    } finally {
      closeSync(full);
    }
    expect(existsSync(join(repo, '.git'))).toBe(true); // the scan committed: only its output failed
    const head = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${LSM}" log -p --repo "${repo}" | head -c1 >/dev/null`], { env: { ...process.env, ...env }, encoding: 'utf8' });
    expect(head.stderr).toBe('');
    expect([0, 141]).toContain(head.status);
  });

  it('a run whose output pipe closes (lsm -c | head -1) still finishes its job: what it could not record is said and decides the exit', async () => {
    const small = mount('pipe', 'size=200k');
    const eventLog = join(small, 'events.jsonl');
    const env = { LSM_CONFIG: testConfig(join(disks.tmp, 'etc-pipe'), { EVENT_LOG: eventLog }) };
    const repo = join(disks.tmp, 'repo-pipe');
    expect(lsm(['scan', '--repo', repo, '--proc', PROCS[0]], env).code).toBe(0);
    fill(small);
    // the reader is gone before lsm writes a byte: its first write fails with EPIPE
    const closedPipe = (args: string[]) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [LSM, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (code) => { clearTimeout(timer); resolve({ code, stderr }); });
    });
    const r = await closedPipe(['-c', '--repo', repo, '--proc', PROCS[1]]);
    const commit = sh(['git', '-C', repo, 'rev-parse', 'HEAD']).stdout.trim();
    expect(r.stderr.split('\n').filter((l) => l.includes('event log'))).toEqual([`lsm: alert ${commit.slice(0, 10)}: eventlog: cannot write the event log ${eventLog}: no space left on device`]);
    expect(r.code).toBe(1); // the failure, not the closed pipe (141), decides
    expect(sh(['git', '-C', repo, 'log', '--format=%s']).stdout.trim().split('\n')).toHaveLength(2);
    // room again: the job done and only the reader gone is 141, as git ends, and the run counts as done
    rmSync(join(small, 'filler'));
    expect(lsm(['flush', '--repo', repo], env).stderr).not.toContain('event log');
    const done = await closedPipe(['-c', '--repo', repo, '--proc', PROCS[0]]);
    expect([done.code, done.stderr]).toEqual([141, '']);
    expect(sh(['git', '-C', repo, 'log', '--format=%s']).stdout.trim().split('\n')).toHaveLength(3);
    expect(lsm(['status', '--repo', repo, '--proc', PROCS[0]], env).stdout).not.toMatch(/could not record|not spooled/);
  });
});
