// `lsm fleet init` in-process (server.ts): the bare repository's settings, as git reads them back,
// its hooks, the web server's configuration; and git's own backstop under the guard's push limit
// (receive.maxInputSize), met by a real `git push` of a pack too big: git stops it before any hook.
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DEFAULT_LIMITS } from '../../src/fleet/limits.js';
import { initServer, maxInputSize } from '../../src/fleet/server.js';

const tmps: string[] = [];
afterEach(() => { for (const d of tmps.splice(0)) rmSync(d, { recursive: true, force: true }); });
const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'lsm-mserver-')); tmps.push(d); return d; };
const config = (dir: string, key: string) => execFileSync('git', ['--git-dir', dir, 'config', '--get', key], { encoding: 'utf8' }).trim();
const O = { listen: '127.0.0.1', port: 8099, htpasswd: '/etc/lsm/fleet.htpasswd' };

describe('lsm fleet init', () => {
  it("makes an append-only bare repository: git's settings, both hooks, lsm/users, and the web server's configuration", () => {
    const dir = join(tmp(), 'fleet.git');
    const served = initServer(dir, { ...O, maxPushBytes: 8 << 20 });
    expect(['receive.denyNonFastForwards', 'receive.denyDeletes', 'receive.fsckObjects', 'receive.autogc', 'core.alternateRefsCommand', 'http.receivepack', 'core.logAllRefUpdates', 'receive.maxInputSize'].map((k) => config(dir, k)))
      .toEqual(['true', 'true', 'true', 'false', 'true', 'true', 'true', String((8 << 20) + (1 << 20))]);
    for (const h of ['pre-receive', 'post-receive']) expect(statSync(join(dir, 'hooks', h)).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(dir, 'hooks', 'pre-receive'), 'utf8')).toMatch(/fleet-hook\.js' guard\n$/);
    expect(readFileSync(join(dir, 'hooks', 'post-receive'), 'utf8')).toContain(`drain '${dir}'`);
    expect(readFileSync(join(dir, 'lsm', 'users'), 'utf8')).toMatch(/^# USER HOST\.\.\. : who may push/);
    expect(existsSync(join(dir, 'lsm', 'empty'))).toBe(true);
    expect(served).toContain('server.bind = "127.0.0.1"\nserver.port = 8099\n');
    expect(served).toContain('# Hosts push to: http://127.0.0.1:8099/git/fleet.git\n');
    expect(served).toContain(`"GIT_PROJECT_ROOT" => "${dirname(dir)}"`);
    expect(served).not.toContain('server.username');
    // again, over what is there: lsm/users kept as the admin wrote it; the limit as now configured
    writeFileSync(join(dir, 'lsm', 'users'), 'ops *\n');
    initServer(dir, O);
    expect(readFileSync(join(dir, 'lsm', 'users'), 'utf8')).toBe('ops *\n');
    expect(config(dir, 'receive.maxInputSize')).toBe(String(maxInputSize(DEFAULT_LIMITS.pushBytes)));
  });

  it('the backstop is a little above the limit, never below it', () => {
    expect(maxInputSize(64 << 20)).toBe((64 << 20) + (4 << 20));
    expect(maxInputSize(1000)).toBe(1000 + (1 << 20));
    expect(maxInputSize((16 << 20) + 1)).toBe((16 << 20) + 1 + (1 << 20) + 1);
  });

  it('refuses a directory that holds something else; a listen address of 0.0.0.0 is named as THIS-SERVER', () => {
    const d = tmp();
    mkdirSync(join(d, 'other'));
    writeFileSync(join(d, 'other', 'x'), '');
    expect(() => initServer(join(d, 'other'), O)).toThrow(`${join(d, 'other')} exists and is not a bare repository`);
    expect(initServer(join(d, 'fleet.git'), { ...O, listen: '0.0.0.0', user: undefined })).toContain('# Hosts push to: http://THIS-SERVER:8099/git/fleet.git\n');
    writeFileSync(join(d, 'file.git'), '');
    expect(() => initServer(join(d, 'file.git', 'x'), O)).toThrow(/^cannot set up /);
  });

  it('git refuses a pack past receive.maxInputSize before any hook runs', () => {
    const d = tmp();
    const dir = join(d, 'fleet.git');
    initServer(dir, { ...O, maxPushBytes: 1000 }); // the backstop: 1000 bytes + 1 MiB
    const host = join(d, 'host');
    execFileSync('git', ['init', '--quiet', host]);
    const git = (...args: string[]) => spawnSync('git', ['-C', host, '-c', 'user.name=lsm', '-c', 'user.email=lsm@h', ...args], { encoding: 'utf8' });
    writeFileSync(join(host, 'noise'), randomBytes(2 << 20)); // incompressible: the pack is over 2 MiB
    git('add', 'noise');
    git('commit', '--quiet', '-m', 'big');
    const r = git('push', dir, 'HEAD:refs/heads/hosts/web-1');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/pack exceeds maximum allowed size/);
    expect(spawnSync('git', ['--git-dir', dir, 'rev-parse', '--verify', '--quiet', 'refs/heads/hosts/web-1']).status).toBe(1);
    // a small pack passes git's check and meets the hooks (which run lsm's guard: here, not built)
    git('rm', '--quiet', 'noise');
    writeFileSync(join(host, 'small'), 'x\n');
    git('add', 'small');
    git('commit', '--quiet', '-m', 'small');
    execFileSync('git', ['-C', host, 'checkout', '--quiet', '--orphan', 'fresh']);
    git('commit', '--quiet', '-m', 'only small');
    const s = git('push', dir, 'fresh:refs/heads/hosts/web-2');
    expect(s.stderr).not.toMatch(/maximum allowed size/);
    expect(s.stderr).toMatch(/pre-receive hook declined/);
  });
});
