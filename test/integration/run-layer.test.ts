// The application layer (src/run/): every setting and path decided once, and checked before
// anything is written. The spool a scan writes is the one metrics, status and flush read; a run
// its checks refuse writes nothing (no commit) and is recorded as failed; an alert that cannot be
// spooled (a real full disk: a small tmpfs) fails the run with exit 1 and is spooled by the next;
// the fleet's central repository keeps its alerts apart from the host's. Fixture /proc trees: the
// basic one, then the hostile one (a change that raises an alert).
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LSM, ROOT } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

const PROC = (name: string) => join(ROOT, 'test', 'fixtures', name, 'proc');

function lsm(args: string[], config: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [LSM, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', LSM_CONFIG: config, LSM_REPO: '', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const commits = (repo: string) => Number(execFileSync('git', ['-C', repo, 'rev-list', '--count', 'HEAD'], { encoding: 'utf8' }));
const head = (repo: string) => execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
const alerted = (repo: string) => readFileSync(join(repo, '.git', 'refs', 'lsm', 'alerted'), 'utf8').trim();
const metric = (file: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(readFileSync(file, 'utf8'))?.[1]);
const entries = (spool: string) => (existsSync(spool) ? readdirSync(spool).filter((f) => f.endsWith('.json')) : []);

/** A config that leaves SPOOL_DIR and EVENT_LOG at their defaults, as on a host; no mail, so alerts stay spooled. */
function defaultsConfig(dir: string, extra = ''): string {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'lsm.conf');
  writeFileSync(conf, `HOOKS_DIR="${join(dir, 'hooks.d')}"\nIGNORE_FILE="${join(dir, 'ignore')}"\nSENDMAIL=""\n${extra}`);
  chmodSync(conf, 0o600);
  writeFileSync(join(dir, 'ignore'), '');
  return conf;
}

describe('one spool for the whole run', () => {
  it('with --repo, metrics, status, flush and config all name the repository\'s own spool, where the alert went', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-layer-'));
    const prom = join(dir, 'textfile', 'lsm.prom');
    mkdirSync(join(dir, 'textfile'));
    const conf = defaultsConfig(join(dir, 'etc'), `METRICS_FILE="${prom}"\n`);
    const repo = join(dir, 'repo');
    const spool = join(repo, '.git', 'lsm', 'spool');
    expect(lsm(['-c', '-q', '--repo', repo, '--proc', PROC('basic')], conf).code).toBe(0);
    expect(lsm(['-c', '-q', '--repo', repo, '--proc', PROC('hostile')], conf).code).toBe(0);
    expect(entries(spool)).toHaveLength(1);
    expect(metric(prom, 'lsm_spool_alerts')).toBe(1);
    expect(lsm(['status', '--repo', repo, '--proc', PROC('hostile')], conf).stdout).toMatch(new RegExp(`^1 alert undelivered in ${spool} `, 'm'));
    const flush = lsm(['flush', '--repo', repo], conf);
    expect([flush.code, flush.stdout]).toEqual([1, '0 delivered, 1 waiting, 0 failed permanently\n']);
    const shown = JSON.parse(lsm(['config', '--json', '--repo', repo], conf).stdout) as { values: { key: string; value: string }[] };
    expect(shown.values.find((v) => v.key === 'SPOOL_DIR')?.value).toBe(spool);
    expect(shown.values.find((v) => v.key === 'EVENT_LOG')?.value).toBe(join(repo, '.git', 'lsm', 'events.jsonl'));
  });
});

describe('checked before anything is written', () => {
  it('a spool that belongs to another repository is refused before the commit: exit 2, the history unchanged', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-layer-'));
    const shared = testConfig(join(dir, 'etc'));
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    for (const repo of [a, b]) expect(lsm(['scan', '-q', '--repo', repo, '--proc', PROC('basic')], shared).code).toBe(0);
    expect(lsm(['scan', '-q', '--repo', a, '--proc', PROC('hostile')], shared).code).toBe(0); // a claims the spool
    for (const command of [['scan'], ['-c'], ['baseline'], ['watch', '--count', '1']]) {
      const r = lsm([...command, '-q', '--repo', b, '--proc', PROC('hostile')], shared);
      expect([r.code, r.stderr], command.join(' ')).toEqual([2, `lsm: spool ${join(dir, 'etc', 'spool')} belongs to repository ${a}, not ${b}: give this repository its own SPOOL_DIR (or leave SPOOL_DIR unset: with --repo the spool is kept in the repository)\n`]);
      expect(commits(b), command.join(' ')).toBe(1);
    }
    expect(lsm(['flush', '--repo', b], shared).code).toBe(2); // a's alerts are not b's to deliver
    expect(lsm(['status', '--repo', b, '--proc', PROC('basic')], shared).stdout).toMatch(/belongs to another repository: its alerts are not counted here/);
  });

  it('a run refused for an unsafe path (77) is recorded as failed in METRICS_FILE, keeping the last success', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-layer-'));
    const prom = join(dir, 'textfile', 'lsm.prom');
    mkdirSync(join(dir, 'textfile'));
    const conf = testConfig(join(dir, 'etc'), { METRICS_FILE: prom });
    const repo = join(dir, 'repo');
    expect(lsm(['-c', '-q', '--repo', repo, '--proc', PROC('basic')], conf).code).toBe(0);
    expect(metric(prom, 'lsm_last_run_success')).toBe(1);
    const success = metric(prom, 'lsm_last_success_timestamp_seconds');
    mkdirSync(join(dir, 'etc', 'hooks.d'), { mode: 0o777 });
    chmodSync(join(dir, 'etc', 'hooks.d'), 0o777);
    const r = lsm(['-c', '-q', '--repo', repo, '--proc', PROC('hostile')], conf);
    expect([r.code, r.stderr]).toEqual([77, expect.stringMatching(/^lsm: refusing unsafe hooks directory: .*hooks\.d is writable by others .*\n$/)]);
    expect(commits(repo)).toBe(1); // nothing written
    expect(metric(prom, 'lsm_last_run_success')).toBe(0);
    expect(metric(prom, 'lsm_last_success_timestamp_seconds')).toBe(success);
    expect(readFileSync(prom, 'utf8')).not.toMatch(/lsm_spool_alerts|lsm_sockets/); // a refused run reads none of its paths
  });
});

describe('an alert that cannot be spooled fails the run', () => {
  const mounts: string[] = [];
  afterAll(() => { for (const m of mounts) spawnSync('umount', [m]); });

  it('a full spool disk: exit 1 and one line, the change committed and refs/lsm/alerted left behind; the next run spools it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-layer-'));
    const fs = join(dir, 'spoolfs');
    mkdirSync(fs);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', fs]);
    mounts.push(fs);
    const conf = testConfig(join(dir, 'etc'), { SPOOL_DIR: join(fs, 'spool') });
    const repo = join(dir, 'repo');
    expect(lsm(['-c', '-q', '--repo', repo, '--proc', PROC('basic')], conf).code).toBe(0);
    const first = head(repo);
    spawnSync('dd', ['if=/dev/zero', `of=${join(fs, 'fill')}`, 'bs=4k'], { stdio: 'ignore' }); // until the disk is full
    for (const command of ['-c', 'scan']) {
      const r = lsm([command, '-q', '--repo', repo, '--proc', PROC('hostile')], conf);
      expect([r.code, r.stderr], command).toEqual([1, 'lsm: cannot spool the alert (the change is committed; the next run spools it): no space left on device\n']);
    }
    expect(commits(repo)).toBe(2);
    expect(alerted(repo)).toBe(first);
    expect(entries(join(fs, 'spool'))).toEqual([]);
    rmSync(join(fs, 'fill'));
    const r = lsm(['scan', '-q', '--repo', repo, '--proc', PROC('hostile')], conf);
    expect([r.code, r.stderr]).toEqual([0, expect.stringMatching(/^lsm: no mail delivery: [^\n]*\n$/)]); // the alert waits in the spool
    expect(alerted(repo)).toBe(head(repo));
    expect(entries(join(fs, 'spool'))).toHaveLength(1);
  });
});

describe('the fleet\'s central repository', () => {
  it('made with the default SPOOL_DIR and EVENT_LOG, keeps its alerts in its own lsm/ directory, never in the host\'s spool', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-layer-'));
    const conf = defaultsConfig(join(dir, 'etc'));
    const gitdir = join(dir, 'fleet.git');
    execFileSync(process.execPath, [LSM, 'fleet', 'init', gitdir, '--config', conf, '--htpasswd', join(dir, 'htpasswd')], { stdio: 'pipe' });
    let parent = '';
    for (const line of ['0.0.0.0:22  sshd  root  /usr/sbin/sshd', '0.0.0.0:4444  nc  root  /usr/bin/nc']) {
      let s = `commit refs/heads/hosts/web-1\ncommitter lsm <lsm@web-1> 1793491200 +0000\ndata 6\nchange\n${parent ? `from ${parent}\n` : ''}deleteall\n`;
      for (const [p, body] of [['host/tcp', `${line}\n`], ['host/udp', ''], ['host/raw', ''], ['host/packet', ''], ['host/unix', '']]) s += `M 100644 inline ${p}\ndata ${Buffer.byteLength(body)}\n${body}\n`;
      execFileSync('git', ['--git-dir', gitdir, 'fast-import', '--quiet', '--force'], { input: s });
      parent = execFileSync('git', ['--git-dir', gitdir, 'rev-parse', 'refs/heads/hosts/web-1'], { encoding: 'utf8' }).trim();
    }
    // what the post-receive hook queues for a push (the user, then git's update lines)
    mkdirSync(join(gitdir, 'lsm', 'queue'), { recursive: true });
    writeFileSync(join(gitdir, 'lsm', 'queue', `${Date.now()}-1`), `web-1\n${'0'.repeat(40)} ${parent} refs/heads/hosts/web-1\n`);
    // the host's defaults (/var/lib/lsm, /var/log/lsm) on tmpfs mounts of this process tree only
    const script = [
      'set -e', 'mount -t tmpfs -o size=8m,mode=0755 tmpfs /var/lib', 'mount -t tmpfs -o size=8m,mode=0755 tmpfs /var/log',
      `"${process.execPath}" "${LSM}" fleet deliver --fleet "${gitdir}"`,
      'echo "host spool: $(ls /var/lib/lsm/spool 2>/dev/null | grep -c json || true)"',
      `"${process.execPath}" "${LSM}" status --proc "${PROC('basic')}" | grep -c undelivered || true`,
    ].join('\n');
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', LSM_CONFIG: conf, LSM_REPO: '' } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('host spool: 0\n0\n');
    expect(entries(join(gitdir, 'lsm', 'spool')).map((f) => f.replace(/^\d+-\d+-/, ''))).toEqual([`${parent}-fleet-host-web-1.json`]);
    expect(readFileSync(join(gitdir, 'lsm', 'events.jsonl'), 'utf8')).toContain(parent);
  });
});
