// README's promises that had no test, each through the real command on the fixture /proc trees
// (test/fixtures: 'basic' has a container's and an ip netns namespace, 'hostile' has neither):
// exit codes, the first -c, a vanished namespace, diff REV / diff A B, log --container,
// -d --purge --yes, the non-root default repository, install choosing systemd.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockRepository } from '../../src/store/lock.js';
import { LSM, ROOT } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

const PROC = (name: string) => join(ROOT, 'test', 'fixtures', name, 'proc');
const git = (repo: string, ...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' });

/** A repository and config of its own; run(...) runs lsm on them. */
function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-promise-'));
  const repo = join(dir, 'repo');
  const config = testConfig(join(dir, 'etc'));
  const run = (...args: string[]) => {
    const r = spawnSync(process.execPath, [LSM, ...args, '--repo', repo], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', LSM_CONFIG: config } });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  return { dir, repo, config, run };
}

describe('exit codes', { timeout: 120_000 }, () => {
  it('scan --exit-code: 3 when the scan committed a change, 0 when nothing changed', () => {
    const { run } = setup();
    expect(run('scan', '--exit-code', '--proc', PROC('basic')).code).toBe(3); // the first snapshot is a change
    expect(run('scan', '--exit-code', '--proc', PROC('basic'))).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(run('scan', '--exit-code', '--proc', PROC('hostile')).code).toBe(3);
    expect(run('scan', '--proc', PROC('basic')).code).toBe(0); // a change without --exit-code is success
  });

  it('check --exit-code: 3 on drift from the baseline, also with nothing new; 0 on a change back to the baseline', () => {
    const { repo, run } = setup();
    expect(run('-g', '--proc', PROC('basic')).code).toBe(0);
    expect(run('scan', '--proc', PROC('hostile')).code).toBe(0); // committed, not approved
    // nothing new since that scan, but the state differs from the baseline
    expect(run('-c', '--exit-code', '--proc', PROC('hostile'))).toMatchObject({ code: 3, stderr: '' });
    expect(run('-c', '--proc', PROC('hostile')).code).toBe(0); // drift without --exit-code is no failure
    // a change (committed and printed) that returns to the approved state: no drift, exit 0
    const back = run('-c', '--exit-code', '--proc', PROC('basic'));
    expect([back.code, back.stderr]).toEqual([0, '']);
    expect(back.stdout).toMatch(/^[0-9a-f]{10} \+15 -6: /);
    expect(back.stdout).not.toContain('drift from baseline');
    expect(git(repo, 'rev-list', '--count', 'HEAD')).toBe('3\n');
  });

  it('70 for a bug (anything not a user error), with its stack, on the fast path and through yargs alike', () => {
    // a bug injected where every command passes: the default repository asks for the uid
    const bug = 'data:text/javascript,process.getuid=()=>{throw new TypeError("injected bug")}';
    for (const args of [['log'], ['show', 'HEAD'], ['log', '--help=false', '-n', '1']]) {
      const r = spawnSync(process.execPath, ['--import', bug, LSM, ...args], { encoding: 'utf8', env: { ...process.env, LSM_CONFIG: '', LSM_REPO: '' } });
      expect(r.status, args.join(' ')).toBe(70);
      expect(r.stderr).toMatch(/^lsm: internal error: TypeError: injected bug\n\s+at /);
    }
  });

  it('75 when another lsm holds the repository, for scan and for the fast path of -c alike', async () => {
    const { repo, run } = setup();
    expect(run('scan', '--proc', PROC('basic')).code).toBe(0);
    const held = await lockRepository(join(repo, '.git')); // a live holder: this test's process
    try {
      const busy = (...args: string[]) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const p = spawn(process.execPath, [LSM, ...args, '--proc', PROC('hostile'), '--repo', repo], { env: { ...process.env, LSM_CONFIG: setupConfig(repo) } });
        let stderr = '';
        p.stderr.on('data', (d) => (stderr += d));
        p.on('close', (code) => resolve({ code, stderr }));
      });
      // both wait out the lock's 30 s, side by side
      const results = await Promise.all([busy('scan'), busy('-c')]);
      for (const r of results) expect(r).toEqual({ code: 75, stderr: `lsm: repository is busy: another lsm (pid ${process.pid}) holds ${join(repo, '.git', 'lsm.lock')}\n` });
    } finally {
      held.release();
    }
    expect(git(repo, 'rev-list', '--count', 'HEAD')).toBe('1\n'); // nothing committed while busy
  }, 150_000);
});

// the config setup() wrote beside a repository
const setupConfig = (repo: string) => join(repo, '..', 'etc', 'lsm.conf');

describe('README promises', { timeout: 120_000 }, () => {
  it("the first -c with no baseline approves the current state, as LSM's first run made its base file", () => {
    const { repo, run } = setup();
    const r = run('-c', '--proc', PROC('basic'));
    expect([r.code, r.stderr]).toEqual([0, '']);
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    expect(r.stdout).toContain(`no baseline yet: approved the current state (${head.slice(0, 10)}) as the baseline`);
    expect(git(repo, 'rev-parse', 'refs/lsm/baseline').trim()).toBe(head);
    expect(run('-c', '--exit-code', '--proc', PROC('basic'))).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('a namespace that is gone is committed as the removal of its files', () => {
    const { repo, run } = setup();
    expect(run('scan', '--proc', PROC('basic')).code).toBe(0);
    expect(git(repo, 'ls-tree', '-r', '--name-only', 'HEAD')).toContain('netns/myapp-4026532600/tcp\n');
    const r = run('scan', '--proc', PROC('hostile'));
    expect(r.code).toBe(0);
    expect(git(repo, 'log', '-1', '--format=%s')).toMatch(/, netns\/3f4e5d6c7b8a\/tcp -1, netns\/myapp-4026532600\/tcp -1\n$/);
    expect(git(repo, 'ls-tree', '-r', '--name-only', 'HEAD').split('\n').filter((p) => p.startsWith('netns/'))).toEqual([]);
    const gone = git(repo, 'diff', '--name-status', 'HEAD~1', 'HEAD', '--', 'netns').trim().split('\n');
    expect(gone).toContain('D\tnetns/myapp-4026532600/tcp');
    expect(gone.every((l) => /^D\tnetns\/(3f4e5d6c7b8a|myapp-4026532600)\/[a-z]+$/.test(l))).toBe(true); // every file of both, deleted
    expect(existsSync(join(repo, 'netns'))).toBe(false); // the work tree follows
    expect(git(repo, 'status', '--porcelain')).toBe('');
  });

  it('diff REV compares REV with the last snapshot, diff A B compares A with B, each as git diff does', () => {
    const { repo, run } = setup();
    for (const p of ['basic', 'hostile', 'basic']) expect(run('scan', '--proc', PROC(p)).code).toBe(0);
    const one = run('diff', 'HEAD~2');
    expect([one.code, one.stdout]).toEqual([0, '']); // basic against basic
    const rev = run('diff', 'HEAD~1');
    expect([rev.code, rev.stdout]).toEqual([0, git(repo, 'diff', 'HEAD~1', 'HEAD')]);
    const ab = run('diff', 'HEAD~2', 'HEAD~1');
    expect([ab.code, ab.stdout]).toEqual([0, git(repo, 'diff', 'HEAD~2', 'HEAD~1')]);
    expect(ab.stdout).toContain('--- a/netns/myapp-4026532600/tcp\n+++ /dev/null\n');
    expect(run('diff', 'HEAD~1', 'HEAD~2').stdout).toBe(git(repo, 'diff', 'HEAD~1', 'HEAD~2'));
  });

  it('log --container lists only the changes in that container\'s namespace', () => {
    const { repo, run } = setup();
    expect(run('scan', '--proc', PROC('hostile')).code).toBe(0);
    expect(run('scan', '--proc', PROC('basic')).code).toBe(0); // the container appears
    const ids = (...args: string[]) => run('log', '--json', ...args).stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).change.commit);
    expect(ids('--container', '3f4e5d6c7b8a')).toEqual([git(repo, 'rev-parse', 'HEAD').trim()]);
    expect(ids('--container', 'myapp-4026532600')).toEqual([git(repo, 'rev-parse', 'HEAD').trim()]);
    expect(ids('--container', '3f4e5d6c7b8')).toEqual([]); // a namespace, not a prefix of one
    expect(ids()).toHaveLength(2);
  });

  it('-d --purge --yes deletes the repository; without --yes nothing is deleted', () => {
    const { repo, run } = setup();
    expect(run('-g', '--proc', PROC('basic')).code).toBe(0);
    expect(run('-d', '--purge').code).toBe(2);
    expect(existsSync(join(repo, '.git'))).toBe(true);
    const r = run('-d', '--purge', '--yes');
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(existsSync(repo)).toBe(false);
  });

  it('not root: the repository defaults to $XDG_STATE_HOME/lsm/snapshots, else ~/.local/state/lsm/snapshots', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-user-'));
    chownSync(dir, 65534, 65534); // nobody's home: its own, not writable by others (lsm checks)
    chmodSync(dir, 0o755);
    const asNobody = (env: Record<string, string>) => spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, LSM, 'scan', '--proc', PROC('basic')],
      { encoding: 'utf8', env: { PATH: process.env.PATH!, NO_COLOR: '1', HOME: dir, LSM_CONFIG: '', LSM_REPO: '', XDG_CONFIG_HOME: '', ...env } });
    const xdg = asNobody({ XDG_STATE_HOME: join(dir, 'state') });
    expect([xdg.status, xdg.stderr]).toEqual([0, '']);
    expect(git(join(dir, 'state', 'lsm', 'snapshots'), '-c', 'safe.directory=*', 'rev-list', '--count', 'HEAD')).toBe('1\n');
    const home = asNobody({ XDG_STATE_HOME: '' });
    expect([home.status, home.stderr]).toEqual([0, '']);
    expect(git(join(dir, '.local', 'state', 'lsm', 'snapshots'), '-c', 'safe.directory=*', 'rev-list', '--count', 'HEAD')).toBe('1\n');
  });

  it('install picks systemd when systemd runs (/run/systemd/system), cron otherwise', () => {
    const install = (root: string) => spawnSync(process.execPath, [LSM, 'install', '--root', root], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    const withSystemd = mkdtempSync(join(tmpdir(), 'lsm-root-'));
    mkdirSync(join(withSystemd, 'run', 'systemd', 'system'), { recursive: true });
    expect(install(withSystemd).status).toBe(0);
    expect(readdirSync(join(withSystemd, 'etc', 'systemd', 'system')).sort()).toEqual(['lsm.service', 'lsm.timer']);
    expect(existsSync(join(withSystemd, 'etc', 'cron.d', 'lsm'))).toBe(false);
    const withCron = mkdtempSync(join(tmpdir(), 'lsm-root-'));
    expect(install(withCron).status).toBe(0);
    expect(existsSync(join(withCron, 'etc', 'cron.d', 'lsm'))).toBe(true);
    expect(existsSync(join(withCron, 'etc', 'systemd', 'system', 'lsm.timer'))).toBe(false);
  });
});
