// The central repository's hooks as git runs them: the installed programs, their node counted by
// a wrapper put in its place (it logs each start, then runs node). The guard must run and refuse
// (also through a symbolic link to the install directory), never do nothing; a heartbeat is taken
// by the shell alone; a burst of pushes starts one drain, which records every push.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testConfig } from '../helpers/config.js';
import { fullDisks, sh } from '../helpers/full-disk.js';

const DIST = join(__dirname, '..', '..', 'dist');
const ZERO = '0'.repeat(40);

/** `lsm fleet init` as docs/fleet.md says; the hooks' node replaced by a wrapper that logs its arguments. */
function initCounted(tmp: string, config?: string, before = ''): { gitdir: string; starts: () => string[] } {
  const gitdir = join(tmp, 'srv', 'fleet.git');
  execFileSync(process.execPath, [join(DIST, 'cli', 'main.js'), 'fleet', 'init', gitdir, ...(config ? ['--config', config] : []), '--htpasswd', join(tmp, 'htpasswd')], { stdio: 'pipe' });
  const log = join(tmp, 'node-starts');
  const wrapper = join(tmp, 'node');
  writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> '${log}'\n${before}exec '${process.execPath}' "$@"\n`);
  chmodSync(wrapper, 0o755);
  for (const hook of ['pre-receive', 'post-receive']) {
    const path = join(gitdir, 'hooks', hook);
    const text = readFileSync(path, 'utf8');
    expect(text).toContain(`'${process.execPath}'`);
    writeFileSync(path, text.split(`'${process.execPath}'`).join(`'${wrapper}'`));
  }
  return { gitdir, starts: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []) };
}

/** A snapshot commit on hosts/<host> (git fast-import), child of parent when given. */
function commit(gitdir: string, host: string, line: string, parent?: string): string {
  let s = `commit refs/heads/hosts/${host}\ncommitter lsm <lsm@${host}> 1793491200 +0000\ndata 6\nchange\n${parent ? `from ${parent}\n` : ''}deleteall\n`;
  for (const [p, body] of [['host/tcp', `${line}\n`], ['host/udp', ''], ['host/raw', ''], ['host/packet', ''], ['host/unix', '']]) s += `M 100644 inline ${p}\ndata ${Buffer.byteLength(body)}\n${body}\n`;
  execFileSync('git', ['--git-dir', gitdir, 'fast-import', '--quiet', '--force'], { input: s });
  return execFileSync('git', ['--git-dir', gitdir, 'rev-parse', `refs/heads/hosts/${host}`], { encoding: 'utf8' }).trim();
}

/** Run an installed hook as git does: in the repository, GIT_DIR=., the web server's user, updates on stdin. */
function hook(gitdir: string, name: string, user: string | null, updates: string) {
  const env: Record<string, string | undefined> = { ...process.env, GIT_DIR: '.', REMOTE_USER: user ?? undefined };
  if (user === null) delete env.REMOTE_USER;
  return spawnSync('sh', [join(gitdir, 'hooks', name)], { cwd: gitdir, input: updates, encoding: 'utf8', env, timeout: 20_000 }); // a hook that hangs fails
}

describe('fleet hook entry', { timeout: 120_000 }, () => {
  it('refuses through a symbolic link to the install directory as it does directly', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'lsm-fleet-hook-'));
    const gitdir = join(tmp, 'fleet.git');
    execFileSync('git', ['init', '--quiet', '--bare', gitdir]);
    symlinkSync(DIST, join(tmp, 'lib'));
    for (const entry of [join(DIST, 'cli', 'fleet-hook.js'), join(tmp, 'lib', 'cli', 'fleet-hook.js')]) {
      const r = spawnSync(process.execPath, [entry, 'guard'], { cwd: gitdir, input: `${'0'.repeat(40)} ${'1'.repeat(40)} refs/heads/master\n`, encoding: 'utf8', env: { ...process.env, GIT_DIR: gitdir, REMOTE_USER: 'web-1' } });
      expect([r.status, r.stderr], entry).toEqual([1, 'lsm fleet guard: refused refs/heads/master: only hosts/<host id> and baselines/<host id> branches are accepted here\n']);
    }
  });

  it('pre-receive: a heartbeat on the own branches is accepted without node; everything else is the guard\'s, which refuses as before', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'lsm-fleet-hook-'));
    const { gitdir, starts } = initCounted(tmp);
    const tip = commit(gitdir, 'web-1', '0.0.0.0:22  sshd  root  /usr/sbin/sshd');
    execFileSync('git', ['--git-dir', gitdir, 'update-ref', 'refs/heads/baselines/web-1', tip]);
    const own = `${tip} ${tip} refs/heads/hosts/web-1\n`;
    for (const updates of [own, own + `${tip} ${tip} refs/heads/baselines/web-1\n`, own.trimEnd()]) {
      const r = hook(gitdir, 'pre-receive', 'web-1', updates);
      expect([r.status, r.stderr]).toEqual([0, '']);
    }
    expect(starts()).toEqual([]);
    // each of these goes to the guard (one node start each), which decides
    const refusals: [string | null, string, RegExp][] = [
      ['web-2', own, /refused refs\/heads\/hosts\/web-1: user 'web-2' may not push to hosts\/web-1/],
      [null, own, /refused refs\/heads\/hosts\/web-1: no authenticated user/],
      ['web-1', `${tip} ${ZERO} refs/heads/hosts/web-1\n`, /deleting a host branch is refused/],
      ['web-1', `${ZERO} ${ZERO} refs/heads/hosts/web-1\n`, /deleting a host branch is refused/],
      ['web-1', own + `${tip} ${tip} refs/heads/hosts/web-2\n`, /refused refs\/heads\/hosts\/web-2: user 'web-1' may not push/],
      ['web-1', `${tip} ${tip} refs/heads/master\n`, /refused refs\/heads\/master: only hosts\/<host id>/],
      ['web 1', own, /refused refs\/heads\/hosts\/web-1: user 'web 1' may not push/],
      ['web-1.lock', `${tip} ${tip} refs/heads/hosts/web-1.lock\n`, /only hosts\/<host id>/],
    ];
    for (const [user, updates, why] of refusals) {
      const before = starts().length;
      const r = hook(gitdir, 'pre-receive', user, updates);
      expect([r.status, r.stderr], updates).toEqual([1, expect.stringMatching(why)]);
      expect(starts().length, updates).toBe(before + 1);
    }
    // lsm/users maps web-1 elsewhere: its own heartbeat is no longer its own, the guard refuses it
    writeFileSync(join(gitdir, 'lsm', 'users'), 'web-1 web-9  # moved\n');
    expect(hook(gitdir, 'pre-receive', 'web-1', own).stderr).toMatch(/user 'web-1' may not push to hosts\/web-1/);
    writeFileSync(join(gitdir, 'lsm', 'users'), '# nobody mapped\nadmin *\n');
    // a real change goes to the guard and is accepted; a forged one is refused
    const next = commit(gitdir, 'web-1', '0.0.0.0:23  telnetd  root  /usr/sbin/telnetd', tip);
    execFileSync('git', ['--git-dir', gitdir, 'update-ref', 'refs/heads/hosts/web-1', tip]);
    const before = starts().length;
    expect(hook(gitdir, 'pre-receive', 'web-1', `${tip} ${next} refs/heads/hosts/web-1\n`).status).toBe(0);
    expect(starts().length).toBe(before + 1);
    expect(hook(gitdir, 'pre-receive', 'web-1', `${next} ${tip} refs/heads/hosts/web-1\n`).stderr).toMatch(/non-fast-forward/);
    // lsm/users or lsm/rate/<host> planted as a FIFO or a link: never waited on nor followed; the push
    // is refused in one line naming the path, fleet status says it (65); moved back, pushes go on
    const users = join(gitdir, 'lsm', 'users');
    const rate = join(gitdir, 'lsm', 'rate', 'web-1');
    const outside = join(tmp, 'outside');
    writeFileSync(outside, '');
    renameSync(users, `${users}.kept`);
    for (const [path, plant, what] of [[users, () => execFileSync('mkfifo', [users]), 'a FIFO'], [rate, () => { rmSync(rate); symlinkSync(outside, rate); }, `a symbolic link to "${outside}"`]] as const) {
      plant();
      const damage = `fleet server: ${path} is ${what}, not a regular file: damage, neither read nor written through; move it aside (mv ${path} ${path}.damaged), `;
      for (const updates of [`${tip} ${next} refs/heads/hosts/web-1\n`, ...(path === users ? [own] : [])]) { // a heartbeat is not counted: lsm/rate unread
        const r = hook(gitdir, 'pre-receive', 'web-1', updates);
        expect([r.status, r.signal, r.stderr.split('\n').length, r.stderr], path).toEqual([1, null, 2, expect.stringContaining(`lsm: refused: ${damage}`)]);
      }
      const status = spawnSync(process.execPath, [join(DIST, 'cli', 'main.js'), 'fleet', 'status', '--fleet', gitdir], { encoding: 'utf8', timeout: 20_000 });
      expect([status.status, status.stderr]).toEqual([65, expect.stringContaining(damage)]);
      rmSync(path);
    }
    expect(readFileSync(outside, 'utf8')).toBe('');
    renameSync(`${users}.kept`, users);
    expect(hook(gitdir, 'pre-receive', 'web-1', `${tip} ${next} refs/heads/hosts/web-1\n`).status).toBe(0);
    // fleet init again over a link to nowhere planted for lsm/users: never written through
    renameSync(users, `${users}.kept`);
    symlinkSync(join(tmp, 'planted'), users);
    execFileSync(process.execPath, [join(DIST, 'cli', 'main.js'), 'fleet', 'init', gitdir, '--htpasswd', join(tmp, 'htpasswd')], { stdio: 'pipe' });
    expect(existsSync(join(tmp, 'planted'))).toBe(false);
  });

  /** Bounded wait until `hosts` pushes are recorded, the queue is empty and no drain holds the lock. */
  async function drained(gitdir: string, hosts: number): Promise<number> {
    const records = () => { try { return readFileSync(join(gitdir, 'lsm', 'pushes.jsonl'), 'utf8').trim().split('\n').length; } catch { return 0; } };
    const free = () => spawnSync('flock', ['-n', join(gitdir, 'lsm', 'drain.lock'), 'true']).status === 0;
    for (let i = 0; i < 600 && !(records() >= hosts && readdirSync(join(gitdir, 'lsm', 'queue')).length === 0 && free()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(free()).toBe(true);
    return records();
  }

  it('post-receive: pushes at once start one drain (niced, one at a time), and every push is recorded and indexed', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'lsm-fleet-hook-'));
    const { gitdir, starts } = initCounted(tmp, testConfig(join(tmp, 'central')));
    const hosts = Array.from({ length: 12 }, (_, i) => `web-${i}`);
    const tips = hosts.map((h, i) => commit(gitdir, h, `0.0.0.0:${1000 + i}  svc  root  /usr/sbin/svc`));
    const runs = hosts.map((h, i) => new Promise<number | null>((done) => {
      const p = spawn('sh', [join(gitdir, 'hooks', 'post-receive')], { cwd: gitdir, env: { ...process.env, GIT_DIR: '.', REMOTE_USER: h }, stdio: ['pipe', 'ignore', 'ignore'] });
      p.on('exit', done);
      p.stdin.end(`${ZERO} ${tips[i]} refs/heads/hosts/${h}\n`);
    }));
    expect(await Promise.all(runs)).toEqual(hosts.map(() => 0));
    expect(await drained(gitdir, hosts.length)).toBe(hosts.length);
    expect(readdirSync(join(gitdir, 'lsm', 'queue'))).toEqual([]);
    for (const h of hosts) expect(JSON.parse(readFileSync(join(gitdir, 'lsm', 'index', 'now', `${h}.json`), 'utf8').split('\n')[0]).tip).toBe(tips[hosts.indexOf(h)]);
    const drains = starts().filter((s) => / drain /.test(s));
    expect(drains.length).toBeGreaterThanOrEqual(1);
    expect(drains.length).toBeLessThanOrEqual(2); // one, and at most a next one for what came as it ended
  });

  it('post-receive: a heartbeat only says when the host was seen: nothing queued, no node started', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'lsm-fleet-hook-'));
    const { gitdir, starts } = initCounted(tmp, testConfig(join(tmp, 'central')));
    const tip = commit(gitdir, 'web-1', '0.0.0.0:22  sshd  root  /usr/sbin/sshd');
    const t0 = Date.now();
    expect(hook(gitdir, 'post-receive', 'web-1', `${tip} ${tip} refs/heads/hosts/web-1\n`).status).toBe(0);
    const seen = Number(readFileSync(join(gitdir, 'lsm', 'seen', 'web-1'), 'utf8'));
    expect(seen).toBeGreaterThanOrEqual(t0 - 1000);
    expect(seen).toBeLessThanOrEqual(Date.now());
    expect(existsSync(join(gitdir, 'lsm', 'queue')) ? readdirSync(join(gitdir, 'lsm', 'queue')) : []).toEqual([]);
    expect(readdirSync(join(gitdir, 'lsm', 'seen'))).toEqual(['web-1']);
    expect(starts()).toEqual([]);
    // lsm/seen a planted link: never written through, said, the hook fails; moved back, it records again
    const elsewhere = join(tmp, 'elsewhere');
    mkdirSync(elsewhere);
    renameSync(join(gitdir, 'lsm', 'seen'), join(tmp, 'seen'));
    symlinkSync(elsewhere, join(gitdir, 'lsm', 'seen'));
    const planted = hook(gitdir, 'post-receive', 'web-1', `${tip} ${tip} refs/heads/hosts/web-1\n`);
    expect([planted.status, planted.stderr]).toEqual([1, `lsm fleet: ${join(gitdir, 'lsm', 'seen')} is a symbolic link: damage, nothing written through it; move it aside (lsm fleet status says it)\n`]);
    expect(readdirSync(elsewhere)).toEqual([]);
    rmSync(join(gitdir, 'lsm', 'seen'));
    renameSync(join(tmp, 'seen'), join(gitdir, 'lsm', 'seen'));
    expect(hook(gitdir, 'post-receive', 'web-1', `${tip} ${tip} refs/heads/hosts/web-1\n`).status).toBe(0);
    // lsm/seen/web-1 a directory: the heartbeat is not dropped into it but queued (the drain refuses the
    // damage and keeps it), said, the hook fails; moved aside, the next drain records it
    const seenDir = join(gitdir, 'lsm', 'seen', 'web-1');
    rmSync(seenDir);
    mkdirSync(seenDir);
    const intoDir = hook(gitdir, 'post-receive', 'web-1', `${tip} ${tip} refs/heads/hosts/web-1\n`);
    expect([intoDir.status, intoDir.stderr]).toEqual([1, `lsm fleet: ${seenDir} is a directory, not a regular file: damage, the heartbeat is kept in lsm/queue until it is moved aside (lsm fleet status says it)\n`]);
    expect(readdirSync(seenDir)).toEqual([]);
    const failing = join(gitdir, 'lsm', 'central-failing');
    for (let i = 0; i < 600 && !(existsSync(failing) && spawnSync('flock', ['-n', join(gitdir, 'lsm', 'drain.lock'), 'true']).status === 0); i++) await new Promise((r) => setTimeout(r, 100));
    expect(JSON.parse(readFileSync(failing, 'utf8')).problems).toEqual([expect.stringContaining(`fleet server: ${seenDir} is a directory, not a regular file: damage`)]);
    const kept = readdirSync(join(gitdir, 'lsm', 'queue'));
    expect(kept.map((n) => readFileSync(join(gitdir, 'lsm', 'queue', n), 'utf8'))).toEqual([`web-1\n${tip} ${tip} refs/heads/hosts/web-1\n`]);
    renameSync(seenDir, join(tmp, 'seen-web-1.damaged'));
    // lsm/ itself a planted link: not written through either (lsm/seen under it is no link)
    renameSync(join(gitdir, 'lsm'), join(tmp, 'lsm'));
    symlinkSync(elsewhere, join(gitdir, 'lsm'));
    const lsmLink = hook(gitdir, 'post-receive', 'web-1', `${tip} ${tip} refs/heads/hosts/web-1\n`);
    expect([lsmLink.status, lsmLink.stderr]).toEqual([1, `lsm fleet: ${join(gitdir, 'lsm')} is a symbolic link: damage, nothing written through it; move it aside (lsm fleet status says it)\n`]);
    expect(readdirSync(elsewhere)).toEqual([]);
    rmSync(join(gitdir, 'lsm'));
    renameSync(join(tmp, 'lsm'), join(gitdir, 'lsm'));
    // a heartbeat beside a change is queued whole, for the drain
    const next = commit(gitdir, 'web-2', '0.0.0.0:23  telnetd  root  /usr/sbin/telnetd');
    expect(hook(gitdir, 'post-receive', 'web-1', `${tip} ${tip} refs/heads/hosts/web-1\n${ZERO} ${next} refs/heads/hosts/web-2\n`).status).toBe(0);
    expect(await drained(gitdir, 1)).toBe(1);
    expect(starts().filter((s) => / drain /.test(s))).toHaveLength(2);
    expect(Number(readFileSync(seenDir, 'utf8'))).toBeGreaterThan(seen);
  });

  it('post-receive: a user name cannot add an update line to the queue (newlines and CRs become spaces)', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'lsm-fleet-hook-'));
    const { gitdir } = initCounted(tmp, testConfig(join(tmp, 'central')));
    const a = commit(gitdir, 'web-1', '0.0.0.0:22  sshd  root  /usr/sbin/sshd');
    const b = commit(gitdir, 'web-2', '0.0.0.0:23  telnetd  root  /usr/sbin/telnetd');
    expect(hook(gitdir, 'post-receive', `web-1\n${ZERO} ${b} refs/heads/hosts/web-2\r`, `${ZERO} ${a} refs/heads/hosts/web-1\n`).status).toBe(0);
    expect(await drained(gitdir, 1)).toBe(1);
    const records = readFileSync(join(gitdir, 'lsm', 'pushes.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records).toEqual([{ t: expect.any(Number), host: 'web-1', old: ZERO, new: a, user: `web-1 ${ZERO} ${b} refs/heads/hosts/web-2 ` }]);
  });

  it('a pushed pack that lacks an object its commit needs is still refused (without the alternate ref list)', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'lsm-fleet-hook-'));
    const { gitdir } = initCounted(tmp, testConfig(join(tmp, 'central')));
    expect(execFileSync('git', ['--git-dir', gitdir, 'config', 'core.alternateRefsCommand'], { encoding: 'utf8' }).trim()).toBe('true');
    const host = join(tmp, 'host.git');
    execFileSync('git', ['init', '--quiet', '--bare', host]);
    const tip = commit(host, 'web-1', '0.0.0.0:22  sshd  root  /usr/sbin/sshd');
    const objects = execFileSync('git', ['--git-dir', host, 'rev-list', '--objects', tip], { encoding: 'utf8' }).trim().split('\n').map((l) => l.split(' ')[0]);
    const tcpBlob = execFileSync('git', ['--git-dir', host, 'rev-parse', `${tip}:host/tcp`], { encoding: 'utf8' }).trim();
    const push = (list: string[]) => {
      const pack = execFileSync('git', ['--git-dir', host, 'pack-objects', '--stdout'], { input: list.join('\n') + '\n' });
      const cmd = `${ZERO} ${tip} refs/heads/hosts/web-1\0report-status\n`;
      const body = Buffer.concat([Buffer.from((cmd.length + 4).toString(16).padStart(4, '0') + cmd + '0000'), pack]);
      return spawnSync('git', ['receive-pack', '--stateless-rpc', gitdir], { input: body, encoding: 'utf8', env: { ...process.env, REMOTE_USER: 'web-1' } });
    };
    const lacking = push(objects.filter((o) => o !== tcpBlob));
    expect(lacking.stdout).toMatch(/[0-9a-f]{4}ng refs\/heads\/hosts\/web-1 /); // (fsckObjects: unpack-objects --strict finds it first)
    // without fsckObjects it is the connectivity check's, which lists the refs only once now
    execFileSync('git', ['--git-dir', gitdir, 'config', 'receive.fsckObjects', 'false']);
    expect(push(objects.filter((o) => o !== tcpBlob)).stdout).toMatch(/[0-9a-f]{4}ng refs\/heads\/hosts\/web-1 missing necessary objects/);
    expect(spawnSync('git', ['--git-dir', gitdir, 'rev-parse', '--verify', '--quiet', 'refs/heads/hosts/web-1']).status).not.toBe(0);
    const whole = push(objects);
    expect(whole.stdout).toContain('ok refs/heads/hosts/web-1');
    expect(execFileSync('git', ['--git-dir', gitdir, 'rev-parse', 'refs/heads/hosts/web-1'], { encoding: 'utf8' }).trim()).toBe(tip);
  });

  it('housekeeping is the drain\'s, after the push: receive-pack runs no gc inside it, the drain runs git gc --auto', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'lsm-fleet-hook-'));
    const { gitdir } = initCounted(tmp, testConfig(join(tmp, 'central')));
    const config = (...a: string[]) => execFileSync('git', ['--git-dir', gitdir, 'config', ...a], { encoding: 'utf8' }).trim();
    expect(config('receive.autogc')).toBe('false');
    config('gc.autoPackLimit', '1'); // any second pack is "too many": gc --auto repacks
    config('gc.autoDetach', 'false');
    config('fastimport.unpackLimit', '0'); // what commit() imports stays a pack
    const a = commit(gitdir, 'web-1', '0.0.0.0:22  sshd  root  /usr/sbin/sshd');
    const b = commit(gitdir, 'web-2', '0.0.0.0:23  telnetd  root  /usr/sbin/telnetd'); // fast-import: a pack each
    const packs = () => readdirSync(join(gitdir, 'objects', 'pack')).filter((f) => f.endsWith('.pack')).length;
    expect(packs()).toBe(2);
    expect(hook(gitdir, 'post-receive', 'web-1', `${ZERO} ${a} refs/heads/hosts/web-1\n${ZERO} ${b} refs/heads/hosts/web-2\n`).status).toBe(0);
    expect(await drained(gitdir, 2)).toBe(2); // a record per host
    expect(packs()).toBe(1);
    expect(spawnSync('git', ['--git-dir', gitdir, 'fsck', '--no-progress'], { encoding: 'utf8' }).status).toBe(0);
  });

  it('post-receive: a push queued as the drain ends (its hook found the lock taken) gets the next drain', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'lsm-fleet-hook-'));
    // the first drain ends at once, as if its last look at the queue came just before another push
    // was queued (whose hook then found the lock still taken): only the look after the lock went finds it
    const marker = join(tmp, 'first-done');
    const before = `case "$*" in *' drain '*) [ -e '${marker}' ] || { touch '${marker}'; "$(dirname "$0")/late"; exit 0; } ;; esac\n`;
    const { gitdir, starts } = initCounted(tmp, testConfig(join(tmp, 'central')), before);
    const a = commit(gitdir, 'web-1', '0.0.0.0:22  sshd  root  /usr/sbin/sshd');
    const b = commit(gitdir, 'web-2', '0.0.0.0:23  telnetd  root  /usr/sbin/telnetd');
    writeFileSync(join(tmp, 'late'), `#!/bin/sh\nprintf 'web-2\\n${ZERO} ${b} refs/heads/hosts/web-2\\n' > '${join(gitdir, 'lsm', 'queue', '1793491200000-1')}'\n`);
    chmodSync(join(tmp, 'late'), 0o755);
    expect(hook(gitdir, 'post-receive', 'web-1', `${ZERO} ${a} refs/heads/hosts/web-1\n`).status).toBe(0);
    expect(await drained(gitdir, 2)).toBe(2);
    expect(readdirSync(join(gitdir, 'lsm', 'queue'))).toEqual([]);
    expect(starts().filter((s) => / drain /.test(s))).toHaveLength(2);
  });
  it("fleet init --web-user refuses when that user cannot write what the hooks write (the spool, the event log), and says what to fix", () => {
    const tmp = mkdtempSync(join(tmpdir(), 'lsm-fleet-hook-'));
    chmodSync(tmp, 0o755); // the web server's user reaches the repository
    const srv = join(tmp, 'srv');
    const conf = testConfig(join(tmp, 'etc'), { SPOOL_DIR: join(srv, 'spool'), EVENT_LOG: join(srv, 'events.jsonl') });
    chmodSync(conf, 0o644); // the hooks read it as nobody (no password in it)
    const init = () => spawnSync(process.execPath, [join(DIST, 'cli', 'main.js'), 'fleet', 'init', join(srv, 'fleet.git'), '--config', conf, '--web-user', 'nobody', '--htpasswd', join(tmp, 'htpasswd')], { encoding: 'utf8' });
    const refused = init();
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(new RegExp(`^lsm: the web server's user nobody cannot write SPOOL_DIR \\(the central alerts' spool\\) ${join(srv, 'spool')} \\(${srv}\\); EVENT_LOG ${join(srv, 'events.jsonl')} \\(${srv}\\): .*chown nobody: PATH`));
    expect(statSync(join(srv, 'fleet.git', 'lsm')).uid).toBe(65534); // the repository is the web server's user's
    mkdirSync(join(srv, 'spool'), { mode: 0o700 });
    execFileSync('chown', ['nobody:', join(srv, 'spool')]);
    writeFileSync(join(srv, 'events.jsonl'), '');
    expect(init().stderr).toMatch(/cannot write EVENT_LOG/);
    execFileSync('chown', ['nobody:', join(srv, 'events.jsonl')]);
    const ok = init();
    expect([ok.status, ok.stderr]).toEqual([0, '']);
    expect(ok.stdout).toContain('server.username = "nobody"');
  });
});

describe('fleet server on a full or read-only disk', { timeout: 120_000 }, () => {
  const disks = fullDisks('lsm-fleet-full-');
  it('fleet check and status exit 1 with one line naming the path and the reason; the queued push is kept, no cut-short file left', () => {
    const disk = disks.mount('srv', 'size=2m');
    const { gitdir } = initCounted(disk, testConfig(join(disk, 'central')));
    const tip = commit(gitdir, 'web-1', '0.0.0.0:22  sshd  root  /usr/sbin/sshd');
    mkdirSync(join(gitdir, 'lsm', 'queue'));
    const queued = join(gitdir, 'lsm', 'queue', `${Date.now()}-1`);
    writeFileSync(queued, `web-1\n${ZERO} ${tip} refs/heads/hosts/web-1\n`);
    disks.fill(disk);
    const lsm = (cmd: string) => spawnSync(process.execPath, [join(DIST, 'cli', 'main.js'), 'fleet', cmd, '--fleet', gitdir, '--config', join(disk, 'central', 'lsm.conf')], { encoding: 'utf8', timeout: 30_000 });
    const index = join(gitdir, 'lsm', 'index', 'history', 'web-1.json');
    for (const [why, lock] of [['no space left on device', 'cannot lock'], ['read-only file system', 'cannot create lock']]) {
      if (why.startsWith('read-only')) expect(sh(['mount', '-o', 'remount,ro', disk]).code).toBe(0);
      const check = lsm('check');
      expect([check.status, check.stderr]).toEqual([1, `lsm: ${lock} ${join(gitdir, 'lsm', 'lsm.lock')}: ${why}\n`]);
      const status = lsm('status');
      expect([status.status, status.stderr]).toEqual([1, `lsm: cannot write the fleet index ${index} (derived: lsm makes it again once it can write): ${why}\n`]);
      expect(readFileSync(queued, 'utf8')).toBe(`web-1\n${ZERO} ${tip} refs/heads/hosts/web-1\n`);
      expect(readdirSync(join(gitdir, 'lsm', 'index', 'history'))).toEqual([]);
    }
  });

  it('a central spool on a full, then read-only disk: fleet check records the push (its host not silent), says why nothing is delivered, exits 1', () => {
    const tmp = mkdtempSync(join(disks.tmp, 'spool-'));
    const spool = disks.mount('spool', 'size=1m');
    const { gitdir } = initCounted(tmp, testConfig(join(tmp, 'central'), { SPOOL_DIR: spool }));
    const tip = commit(gitdir, 'web-1', '0.0.0.0:22  sshd  root  /usr/sbin/sshd'); // committed 2026-11-01: silent but for its queued push
    commit(gitdir, 'web-2', '0.0.0.0:22  sshd  root  /usr/sbin/sshd'); // silent: no push since
    mkdirSync(join(gitdir, 'lsm', 'queue'));
    writeFileSync(join(gitdir, 'lsm', 'queue', `${Date.now()}-1`), `web-1\n${ZERO} ${tip} refs/heads/hosts/web-1\n`);
    disks.fill(spool);
    const check = () => spawnSync(process.execPath, [join(DIST, 'cli', 'main.js'), 'fleet', 'check', '--fleet', gitdir, '--config', join(tmp, 'central', 'lsm.conf')], { encoding: 'utf8', timeout: 30_000 });
    const full = check();
    // web-1's push, queued, is recorded before the silence is looked at: only web-2 is silent
    expect([full.status, full.stdout, full.stderr]).toEqual([1, '1 silent host: web-2\n', `lsm: silent-host alert for web-2 not spooled in ${spool} (retried next check): no space left on device\nlsm: cannot lock ${join(spool, 'lsm.lock')}: no space left on device: it delivers what is spooled\n`]);
    expect(readdirSync(join(gitdir, 'lsm', 'queue'))).toEqual([]);
    expect(readFileSync(join(gitdir, 'lsm', 'pushes.jsonl'), 'utf8')).toContain(`"new":"${tip}"`);
    expect(sh(['mount', '-o', 'remount,ro', spool]).code).toBe(0);
    const ro = check();
    expect([ro.status, ro.stderr]).toEqual([1, `lsm: silent-host alert for web-2 not spooled in ${spool} (retried next check): read-only file system\nlsm: cannot create lock ${join(spool, 'lsm.lock')}: read-only file system: it delivers what is spooled\n`]);
  });
});
