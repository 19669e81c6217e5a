// A fleet for real: lighttpd + git http-backend with basic auth, as `lsm fleet init` prints it and
// docs/fleet.md documents, inside the test's network namespace; hosts (separate repositories, HOST_IDs)
// pushing with isomorphic-git; the guard's refusals seen by a real `git push`; central alerts read
// back from a real SMTP server; an outage and the catch-up; a `git clone` of the central copy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { ROOT, World } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

const SINK = join(ROOT, 'test', 'helpers', 'smtp-sink.mjs');
const HOSTS = ['web-1', 'web-2', 'web-3'];
const PASSWORD: Record<string, string> = { 'web-1': 'pw-one', 'web-2': 'pw-two', 'web-3': 'pw-three' };

// pushes, hooks and mail of three hosts on a 2-core machine shared with other test files
describe('fleet', { timeout: 240_000 }, () => {
  let world: World;
  let tmp: string, central: string, inbox: string, url: string;
  let web: number | null = null;
  let sink: number | null = null;
  const held: number[] = [];
  const conf: Record<string, string> = {};
  const repo = (h: string) => join(tmp, h, 'repo');
  const lsmOn = (h: string, args: string[]) => world.lsm([...args, '--repo', repo(h)], { LSM_CONFIG: conf[h] });
  const git = (args: string[], env: Record<string, string> = {}) => world.run(['git', ...args], { env: { GIT_TERMINAL_PROMPT: '0', ...env } });
  const authUrl = (user: string) => url.replace('http://', `http://${user}:${PASSWORD[user]}@`);
  const mails = async (to: string): Promise<ParsedMail[]> => {
    const all = await Promise.all(readdirSync(inbox).filter((n) => n.endsWith('.eml')).sort().map((n) => simpleParser(readFileSync(join(inbox, n)))));
    return all.filter((m) => (Array.isArray(m.to) ? m.to : [m.to]).some((t) => t?.value.some((v) => v.address === to)));
  };
  // the post-receive hook spools, and delivers in a process of its own: wait for it, bounded
  const mailsUntil = async (to: string, done: (m: ParsedMail[]) => boolean): Promise<ParsedMail[]> => {
    for (let i = 0; i < 300; i++) {
      const m = await mails(to);
      if (done(m)) return m;
      await new Promise((r) => setTimeout(r, 100));
    }
    return mails(to);
  };
  const startWeb = async () => {
    web = (await world.spawn(['sh', '-c', `echo started; exec lighttpd -D -f ${join(tmp, 'lighttpd.conf')}`])).pid;
    // bounded wait until it accepts connections
    const r = await world.run(['python3', '-c', 'import socket,time\nfor i in range(100):\n  try:\n    socket.create_connection(("127.0.0.1",8080),1).close(); break\n  except OSError: time.sleep(0.05)\nelse: raise SystemExit(1)']);
    expect(r.code).toBe(0);
  };
  const stopWeb = async () => { if (web) await world.kill(web); web = null; };
  const hold = async (port: number) => { held.push((await world.hold([{ kind: 'tcp4', addr: '0.0.0.0', port }], `svc${port}`)).pid); };

  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-fleet-'));
    central = join(tmp, 'srv', 'fleet.git');
    inbox = join(tmp, 'inbox');
    mkdirSync(inbox);
    url = 'http://127.0.0.1:8080/git/fleet.git';
    // every change its own central mail (FLEET_MAIL_INTERVAL=0): the digest is fleet-limits.test.ts's
    const centralConf = testConfig(join(tmp, 'central'), { SMTP_URL: 'smtp://127.0.0.1:2525', USER: 'fleet@example.org', SUB: 'lsm fleet change', FROM: 'lsm@example.org', FLEET_MAIL_INTERVAL: '0' });
    // the set-up docs/fleet.md documents: init, then lighttpd with the configuration it prints
    const init = await world.lsm(['fleet', 'init', central, '--config', centralConf, '--listen', '127.0.0.1', '--port', '8080', '--htpasswd', join(tmp, 'htpasswd')]);
    expect([init.code, init.stderr]).toEqual([0, '']);
    // (and an access log, to count a push's requests)
    writeFileSync(join(tmp, 'lighttpd.conf'), init.stdout + `server.errorlog = "${join(tmp, 'lighttpd.log')}"\nserver.modules += ( "mod_accesslog" )\naccesslog.filename = "${join(tmp, 'access.log')}"\n`);
    for (const h of HOSTS) execFileSync('htpasswd', ['-bB', ...(h === 'web-1' ? ['-c'] : []), join(tmp, 'htpasswd'), h, PASSWORD[h]], { stdio: 'ignore' });
    for (const h of HOSTS) {
      const etc = join(tmp, h);
      // web-1 and web-3 read a token file (sent with HOST_ID as the user); web-2 has its credentials in the URL
      writeFileSync(join(etc + '-token'), `${PASSWORD[h]}\n`, { mode: 0o600 });
      conf[h] = testConfig(etc, {
        HOST_ID: h, REMOTE: h === 'web-2' ? authUrl(h) : url, REMOTE_TOKEN_FILE: h === 'web-2' ? '' : join(etc + '-token'),
        SMTP_URL: 'smtp://127.0.0.1:2525', USER: `${h}@example.org`, FROM: 'lsm@example.org', METRICS_FILE: join(etc, 'lsm.prom'),
      });
      writeFileSync(join(etc, 'ignore'), 'tcp 127.0.0.1:2525\ntcp 127.0.0.1:8080\n');
    }
    sink = (await world.spawn([process.execPath, SINK, '2525', inbox])).pid;
    await startWeb();
  });
  afterAll(async () => {
    for (const pid of held) await world.kill(pid);
    await stopWeb();
    if (sink) await world.kill(sink);
    await world?.stop();
  });

  it('hosts push concurrently; each branch holds its host history; lsm config masks the credentials', async () => {
    await hold(4444);
    const runs = await Promise.all(HOSTS.map((h) => lsmOn(h, ['-g'])));
    for (const r of runs) expect([r.code, r.stderr]).toEqual([0, '']);
    const refs = (await git(['ls-remote', authUrl('web-1')])).stdout;
    for (const h of HOSTS) {
      const head = execFileSync('git', ['-C', repo(h), 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
      expect(refs).toContain(`${head}\trefs/heads/hosts/${h}`);
      expect(execFileSync('git', ['-C', repo(h), 'rev-parse', 'refs/lsm/pushed'], { encoding: 'utf8' }).trim()).toBe(head);
      expect((await lsmOn(h, ['status'])).stdout).toMatch(new RegExp(`^fleet: hosts/${h} up to date at ${head.slice(0, 10)} \\(pushed \\d{4}-`, 'm'));
    }
    const shown = await lsmOn('web-2', ['config']);
    expect(shown.stdout).toContain('REMOTE="http://web-2:****@127.0.0.1:8080/git/fleet.git"');
    expect(shown.stdout + shown.stderr).not.toContain(PASSWORD['web-2']);
    execFileSync('git', ['--git-dir', central, 'fsck', '--strict'], { stdio: 'pipe' });
  });

  it('every host change reaches the central mail, one per host, with the host named', async () => {
    await hold(4445);
    const runs = await Promise.all(HOSTS.map((h) => lsmOn(h, ['-c'])));
    for (const r of runs) expect([r.code, r.stderr]).toEqual([0, '']);
    const has4445 = (m: ParsedMail) => /^  host\/tcp  0\.0\.0\.0:4445  svc4445  root  /m.test(m.text!);
    const central = await mailsUntil('fleet@example.org', (ms) => new Set(ms.filter(has4445).map((m) => m.headers.get('x-lsm-host'))).size === 3);
    // one mail per host change (a host may have recorded a passing socket too)
    const with4445 = central.filter(has4445);
    expect(with4445.map((m) => m.headers.get('x-lsm-host')).sort()).toEqual(HOSTS);
    for (const m of central) {
      // the host that changed, then what changed: not SUB, which names the server
      expect(m.subject).toMatch(new RegExp(`^${m.headers.get('x-lsm-host')}: [+-]`));
      expect(m.text).toContain(`lsm on ${m.headers.get('x-lsm-host')} recorded a change`);
    }
    for (const m of with4445) expect(m.subject).toMatch(new RegExp(`^${m.headers.get('x-lsm-host')}: .*tcp 0\\.0\\.0\\.0:4445 \\(svc4445\\)`));
    // the hosts' own alerts went to their own admins as before
    expect(await mails('web-1@example.org')).toHaveLength(1);
  });

  it('the guard refuses a forced push, another host\'s branch, a deletion and a garbage tree, and the pusher sees why', async () => {
    const h = repo('web-1');
    const g = (...args: string[]) => execFileSync('git', ['-C', h, ...args], { encoding: 'utf8' }).trim();
    const tip = g('rev-parse', 'HEAD');
    // a rewritten history: the parent's tree under a new commit
    const rewritten = g('commit-tree', '-p', `${tip}~1`, '-m', 'rewritten', `${tip}^{tree}`);
    const forced = await git(['-C', h, 'push', '--force', authUrl('web-1'), `${rewritten}:refs/heads/hosts/web-1`]);
    expect(forced.code).not.toBe(0);
    expect(forced.stderr).toMatch(/remote: lsm fleet guard: refused refs\/heads\/hosts\/web-1: non-fast-forward/);
    // (hosts with the same snapshot in the same second make the same commit: a new one here)
    const mine = g('commit-tree', '-p', tip, '-m', 'mine', `${tip}^{tree}`);
    const other = await git(['-C', h, 'push', '--force', authUrl('web-1'), `${mine}:refs/heads/hosts/web-2`]);
    expect(other.stderr).toMatch(/remote: lsm fleet guard: refused refs\/heads\/hosts\/web-2: user 'web-1' may not push to hosts\/web-2/);
    const deletion = await git(['-C', h, 'push', authUrl('web-1'), ':refs/heads/hosts/web-1']);
    expect(deletion.code).not.toBe(0);
    expect(deletion.stderr).toMatch(/remote: lsm fleet guard: refused refs\/heads\/hosts\/web-1: deleting a host branch is refused/);
    // a fast-forward whose tree is not a snapshot
    const blob = execFileSync('git', ['-C', h, 'hash-object', '-w', '--stdin'], { input: '#!/bin/sh\nrm -rf /\n', encoding: 'utf8' }).trim();
    const tree = execFileSync('git', ['-C', h, 'mktree'], { input: `100755 blob ${blob}\tevil.sh\n`, encoding: 'utf8' }).trim();
    const garbage = g('commit-tree', '-p', tip, '-m', 'garbage', tree);
    const bad = await git(['-C', h, 'push', authUrl('web-1'), `${garbage}:refs/heads/hosts/web-1`]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/remote: lsm fleet guard: refused refs\/heads\/hosts\/web-1: commit [0-9a-f]{10}: not an lsm snapshot: 'evil\.sh' is not a snapshot file/);
    expect(bad.stderr).toMatch(/commit [0-9a-f]{10} deletes host\/tcp: every snapshot has the host's files/);
    // a line with a control character (a forged line) in an otherwise valid tree
    const files = g('ls-tree', tip).split('\n').map((l) => l.replace(/\t.*/, ''));
    expect(files.length).toBe(1); // host/
    const forged = execFileSync('git', ['-C', h, 'hash-object', '-w', '--stdin'], { input: '0.0.0.0:22  sshd\x1b[2J  root  /usr/sbin/sshd\n', encoding: 'utf8' }).trim();
    const hostTree = g('ls-tree', `${tip}:host`).replace(/blob [0-9a-f]{40}\ttcp/, `blob ${forged}\ttcp`);
    const forgedHost = execFileSync('git', ['-C', h, 'mktree'], { input: hostTree + '\n', encoding: 'utf8' }).trim();
    const forgedRoot = execFileSync('git', ['-C', h, 'mktree'], { input: `040000 tree ${forgedHost}\thost\n`, encoding: 'utf8' }).trim();
    const forgedCommit = g('commit-tree', '-p', tip, '-m', 'forged', forgedRoot);
    const forgedPush = await git(['-C', h, 'push', authUrl('web-1'), `${forgedCommit}:refs/heads/hosts/web-1`]);
    expect(forgedPush.stderr).toMatch(/refused refs\/heads\/hosts\/web-1: not an lsm snapshot: host\/tcp:1: control character/);
    // nothing moved
    const refs = (await git(['ls-remote', authUrl('web-1')])).stdout;
    expect(refs).toContain(`${tip}\trefs/heads/hosts/web-1`);
    expect(refs).toMatch(/refs\/heads\/hosts\/web-2/);
  });

  it('a server outage: scans and local alerts go on, the push is retried, then catches up', async () => {
    await stopWeb();
    await hold(4446);
    const r = await lsmOn('web-1', ['-c']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^lsm: fleet push to hosts\/web-1 failed \(retried next run\): http:\/\/127\.0\.0\.1:8080\/git\/fleet\.git: .*ECONNREFUSED/m);
    expect(r.stderr).not.toContain(PASSWORD['web-1']);
    expect((await mails('web-1@example.org')).pop()!.text).toContain('0.0.0.0:4446'); // the local alert went out
    expect((await lsmOn('web-1', ['status'])).stdout).toMatch(/^fleet: push to hosts\/web-1 failing since .* ECONNREFUSED/m);
    expect(readFileSync(join(tmp, 'web-1', 'lsm.prom'), 'utf8')).toMatch(/^lsm_fleet_push_success 0$/m);
    const events = readFileSync(join(tmp, 'web-1', 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(events.filter((e) => e.event === 'push').pop()).toMatchObject({ ok: false, host: 'web-1', branch: 'hosts/web-1' });
    await hold(4447);
    expect((await lsmOn('web-1', ['-c'])).code).toBe(0); // a second change while down
    await startWeb();
    const back = await lsmOn('web-1', ['-c']);
    expect([back.code, back.stderr]).toEqual([0, '']);
    expect(readFileSync(join(tmp, 'web-1', 'lsm.prom'), 'utf8')).toMatch(/^lsm_fleet_push_success 1\nlsm_fleet_last_push_timestamp_seconds|^lsm_fleet_push_success 1$/m);
    const head = execFileSync('git', ['-C', repo('web-1'), 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    expect((await git(['ls-remote', authUrl('web-1')])).stdout).toContain(`${head}\trefs/heads/hosts/web-1`);
    // both changes made while the server was down reached the central mail
    const fromWeb1 = (ms: ParsedMail[]) => ms.filter((m) => m.headers.get('x-lsm-host') === 'web-1');
    const central = fromWeb1(await mailsUntil('fleet@example.org', (ms) => fromWeb1(ms).some((m) => m.text!.includes('0.0.0.0:4447'))));
    expect(central.some((m) => m.text!.includes('0.0.0.0:4446'))).toBe(true);
    expect(central.some((m) => m.text!.includes('0.0.0.0:4447'))).toBe(true);
  });

  it('a rewritten local history and a diverged server history are alerted, never force-pushed', async () => {
    const h = repo('web-3');
    const g = (...args: string[]) => execFileSync('git', ['-C', h, ...args], { encoding: 'utf8' }).trim();
    const before = (await git(['ls-remote', authUrl('web-3')])).stdout;
    const tip = g('rev-parse', 'HEAD');
    g('update-ref', 'refs/heads/main', g('commit-tree', '-p', `${tip}~1`, '-m', 'rewritten', `${tip}^{tree}`));
    const r = await lsmOn('web-3', ['-c']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/fleet push to hosts\/web-3 failed \(retried next run\): local history rewritten: HEAD [0-9a-f]{10} does not descend from [0-9a-f]{10}/);
    const alert = (await mails('web-3@example.org')).pop()!;
    expect(alert.text).toMatch(/FLEET HISTORY DIVERGED \(refs\/heads\/hosts\/web-3\): local history rewritten/);
    await lsmOn('web-3', ['-c']); // alerted once, not every run
    expect((await mails('web-3@example.org')).filter((m) => m.text!.includes('FLEET HISTORY DIVERGED'))).toHaveLength(1);
    // a host whose lsm state is lost starts a new history: the server's branch is not its ancestor
    execFileSync('git', ['-C', h, 'update-ref', '-d', 'refs/lsm/pushed']);
    const r2 = await lsmOn('web-3', ['-c']);
    expect(r2.stderr).toMatch(/the server's hosts\/web-3 is not an ancestor of HEAD [0-9a-f]{10}: the histories diverged; not pushed \(never forced\)/);
    expect((await mails('web-3@example.org')).pop()!.text).toMatch(/FLEET HISTORY DIVERGED .*the histories diverged/);
    expect((await git(['ls-remote', authUrl('web-3')])).stdout).toBe(before);
  });

  it("each host pushes its baseline; the guard holds it to that host's own history; fleet status shows the drift", async () => {
    // lsm -g at the start approved web-1's snapshot with 4444; since then 4445..4447 came
    const b = (h: string) => execFileSync('git', ['-C', repo(h), 'rev-parse', 'refs/lsm/baseline'], { encoding: 'utf8' }).trim();
    const refs = (await git(['ls-remote', authUrl('web-1')])).stdout;
    for (const h of ['web-1', 'web-2']) expect(refs).toContain(`${b(h)}\trefs/heads/baselines/${h}`);
    const status = JSON.parse((await world.lsm(['fleet', 'status', '--json', '--fleet', central], { LSM_CONFIG: conf['web-1'] })).stdout);
    const web1 = status.hosts.find((x: { host: string }) => x.host === 'web-1');
    expect(web1.drift.baseline).toBe(b('web-1'));
    expect(web1.drift.added.map((l: { path: string; line: string }) => `${l.path} ${l.line.split('  ')[0]}`)).toEqual(['host/tcp 0.0.0.0:4445', 'host/tcp 0.0.0.0:4446', 'host/tcp 0.0.0.0:4447']);
    expect(web1.drift.removed).toEqual([]);
    const text = (await world.lsm(['fleet', 'status', '--fleet', central], { LSM_CONFIG: conf['web-1'] })).stdout;
    expect(text).toMatch(/^HOST  LAST SEEN  LAST CHANGE  CHANGES  SOCKETS  DRIFT$/m);
    expect(text).toMatch(/^web-1  \S+  \S+  \d+  tcp=4  \+3 -0$/m);
    // approving now (lsm -g) pushes the new baseline at once: no drift left
    const approved = await lsmOn('web-1', ['-g']);
    expect([approved.code, approved.stderr]).toEqual([0, '']);
    expect((await git(['ls-remote', authUrl('web-1')])).stdout).toContain(`${b('web-1')}\trefs/heads/baselines/web-1`);
    const after = JSON.parse((await world.lsm(['fleet', 'status', '--json', '--fleet', central], { LSM_CONFIG: conf['web-1'] })).stdout);
    expect(after.hosts.find((x: { host: string }) => x.host === 'web-1').drift).toEqual({ baseline: b('web-1'), added: [], removed: [] });
    // the guard: another host's baseline, a commit outside the host's history, a deletion, moving it back
    const h = repo('web-1');
    const g = (...args: string[]) => execFileSync('git', ['-C', h, ...args], { encoding: 'utf8' }).trim();
    const tip = g('rev-parse', 'HEAD');
    const other = await git(['-C', h, 'push', '--force', authUrl('web-1'), `${tip}:refs/heads/baselines/web-2`]);
    expect(other.stderr).toMatch(/remote: lsm fleet guard: refused refs\/heads\/baselines\/web-2: user 'web-1' may not push to baselines\/web-2/);
    // (hosts with the same snapshot in the same second make the same commit: a new one here, valid, on no branch)
    const unpushed = g('commit-tree', '-p', tip, '-m', 'approved by nobody', `${tip}^{tree}`);
    const outside = await git(['-C', h, 'push', authUrl('web-1'), `${unpushed}:refs/heads/baselines/web-1`]);
    expect(outside.stderr).toMatch(/refused refs\/heads\/baselines\/web-1: [0-9a-f]{10} is not a commit of hosts\/web-1/);
    const deletion = await git(['-C', h, 'push', authUrl('web-1'), ':refs/heads/baselines/web-1']);
    expect(deletion.stderr).toMatch(/refused refs\/heads\/baselines\/web-1: deleting a host's baseline is refused/);
    const back = await git(['-C', h, 'push', '--force', authUrl('web-1'), `${tip}~1:refs/heads/baselines/web-1`]);
    expect(back.stderr).toMatch(/refused refs\/heads\/baselines\/web-1: non-fast-forward/);
    expect((await git(['ls-remote', authUrl('web-1')])).stdout).toContain(`${b('web-1')}\trefs/heads/baselines/web-1`);
    expect((await world.lsm(['fleet', 'verify', '--fleet', central])).stdout).toBe('index agrees with the branches\n');
  });

  it('a clone of the central repository shows each host history; the fleet questions answer from it', async () => {
    const clone = join(tmp, 'clone');
    expect((await git(['clone', '--quiet', '--mirror', authUrl('web-1'), clone])).code).toBe(0);
    for (const h of ['web-1', 'web-2']) {
      expect(execFileSync('git', ['--git-dir', clone, 'log', '--format=%H', `hosts/${h}`], { encoding: 'utf8' }))
        .toBe(execFileSync('git', ['-C', repo(h), 'log', '--format=%H', 'main'], { encoding: 'utf8' }));
    }
    const status = JSON.parse((await world.lsm(['fleet', 'status', '--json', '--fleet', central], { LSM_CONFIG: conf['web-1'] })).stdout);
    expect(status.hosts.map((x: { host: string }) => x.host)).toEqual(HOSTS);
    expect(status.hosts[0]).toMatchObject({ host: 'web-1', silent: false, sockets: { tcp: 4 } });
    const where = JSON.parse((await world.lsm(['fleet', 'where', '4446', '--json', '--fleet', central])).stdout);
    expect(where.hits.map((x: { host: string }) => x.host)).toEqual(['web-1']);
    const everywhere = JSON.parse((await world.lsm(['fleet', 'where', '4444', '--json', '--fleet', central])).stdout);
    expect(everywhere.hits.map((x: { host: string }) => x.host)).toEqual(HOSTS);
    const log = JSON.parse((await world.lsm(['fleet', 'log', '--json', '--host', 'web-1', '--fleet', central])).stdout);
    expect(log.changes.map((c: { commit: string }) => c.commit)).toEqual(execFileSync('git', ['-C', repo('web-1'), 'log', '--reverse', '--format=%H', 'main'], { encoding: 'utf8' }).trim().split('\n'));
    const diff = JSON.parse((await world.lsm(['fleet', 'diff', 'web-1', 'web-2', '--json', '--fleet', central])).stdout);
    for (const answer of [status, where, everywhere, log, diff]) expect(answer.schema).toBe(1); // as every --json (issue 20)
    expect(diff.files).toEqual([{ path: 'host/tcp', onlyA: [expect.stringMatching(/^0\.0\.0\.0:4446/), expect.stringMatching(/^0\.0\.0\.0:4447/)], onlyB: [] }]);
    // the mirror clone answers too (it indexes itself), and reindex/verify agree
    const fromClone = JSON.parse((await world.lsm(['fleet', 'where', '4444', '--json', '--fleet', clone])).stdout);
    expect(fromClone.hits.map((x: { host: string }) => x.host)).toEqual(HOSTS);
    expect((await world.lsm(['fleet', 'reindex', '--fleet', central])).stdout).toBe('3 hosts indexed\n');
    expect((await world.lsm(['fleet', 'verify', '--fleet', central])).stdout).toBe('index agrees with the branches\n');
    // silence: with a tiny threshold every host is silent, and fleet check alerts once per host
    const check = await world.lsm(['fleet', 'check', '--silent-after', '1ms', '--json', '--fleet', central], { LSM_CONFIG: join(tmp, 'central', 'lsm.conf') });
    expect(JSON.parse(check.stdout)).toEqual({ schema: 1, silent: HOSTS, raised: 3 });
    const silent = (await mails('fleet@example.org')).filter((m) => m.text!.includes('SILENT HOST'));
    expect(silent.map((m) => m.headers.get('x-lsm-host')).sort()).toEqual(HOSTS);
    for (const m of silent) {
      // its own words: no '+0 -0', no 'recorded a change', and the host named first
      expect(m.subject).toMatch(new RegExp(`^${m.headers.get('x-lsm-host')}: silent for \\d+[smhd], last push \\d{4}-\\S+$`));
      expect(m.text).not.toContain('recorded a change');
    }
    const again = await world.lsm(['fleet', 'check', '--silent-after', '1ms', '--json', '--fleet', central], { LSM_CONFIG: join(tmp, 'central', 'lsm.conf') });
    expect(JSON.parse(again.stdout)).toEqual({ schema: 1, silent: HOSTS, raised: 0 });
  });

  it('a change on top of what the server has goes in one request; a server branch not where the host thinks is pushed the long way', async () => {
    // (the pushes' requests: the test's own ls-remote is upload-pack)
    const requests = () => readFileSync(join(tmp, 'access.log'), 'utf8').split('\n').filter((l) => / web-2 \[/.test(l) && /receive-pack/.test(l)).map((l) => /"(\w+ \S+) HTTP\/[\d.]+" (\d+)/.exec(l)?.slice(1).join(' '));
    // lighttpd writes its access log in batches (at least once a second): wait until the lines a
    // push made are there, and one flush more, so that a request too many would show
    const logged = async (n: number) => {
      for (let i = 0; i < 100 && requests().length < n; i++) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 1500));
      return requests();
    };
    const head = () => execFileSync('git', ['-C', repo('web-2'), 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const before = (await logged(0)).length;
    await hold(4448);
    const r = await lsmOn('web-2', ['-c']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect((await logged(before + 1)).slice(before)).toEqual(['POST /git/fleet.git/git-receive-pack 200']);
    expect((await git(['ls-remote', authUrl('web-2')])).stdout).toContain(`${head()}\trefs/heads/hosts/web-2`);
    // refs/lsm/pushed one behind the server's branch: git refuses that update, the push with discovery lands the change
    execFileSync('git', ['-C', repo('web-2'), 'update-ref', 'refs/lsm/pushed', `${head()}~1`]);
    await hold(4449);
    const again = await lsmOn('web-2', ['-c']);
    expect([again.code, again.stderr]).toEqual([0, '']);
    expect((await git(['ls-remote', authUrl('web-2')])).stdout).toContain(`${head()}\trefs/heads/hosts/web-2`);
    expect(execFileSync('git', ['-C', repo('web-2'), 'rev-parse', 'refs/lsm/pushed'], { encoding: 'utf8' }).trim()).toBe(head());
    expect((await logged(before + 4)).slice(before + 1)).toEqual(['POST /git/fleet.git/git-receive-pack 200', 'GET /git/fleet.git/info/refs?service=git-receive-pack 200', 'POST /git/fleet.git/git-receive-pack 200']);
    execFileSync('git', ['--git-dir', central, 'fsck', '--strict'], { stdio: 'pipe' });
  });
  // the drain the post-receive hook started has recorded the push of `commit` and ended (bounded)
  const drainIdle = async (commit: string) => {
    const recorded = () => { try { return readFileSync(join(central, 'lsm', 'pushes.jsonl'), 'utf8').includes(commit); } catch { return false; } };
    const free = () => spawnSync('flock', ['-n', join(central, 'lsm', 'drain.lock'), 'true']).status === 0;
    for (let i = 0; i < 300 && !(recorded() && readdirSync(join(central, 'lsm', 'queue')).length === 0 && free()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(recorded()).toBe(true);
  };
  const centralLsm = (args: string[]) => world.lsm([...args, '--fleet', central], { LSM_CONFIG: join(tmp, 'central', 'lsm.conf') });

  it('a central alert the drain cannot spool is not counted as spooled: fleet check and status say so, and it is mailed once fixed', async () => {
    const spool = join(tmp, 'central', 'spool');
    // the pushed change is held (lsm/digest/<host>.json) until its alert is spooled: taken from the push record, never dropped
    const held = () => JSON.parse(readFileSync(join(central, 'lsm', 'digest', 'web-2.json'), 'utf8')).held.map((h: { oid: string }) => h.oid);
    let head = '';
    execFileSync('chattr', ['+i', spool]); // not writable, not even by root (the web server's user here)
    try {
      await hold(4450);
      const r = await lsmOn('web-2', ['-c']);
      expect([r.code, r.stderr]).toEqual([0, '']);
      head = execFileSync('git', ['-C', repo('web-2'), 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
      await drainIdle(head);
      expect(held()).toEqual([head]);
      const failingStatus = await centralLsm(['fleet', 'status']);
      expect(failingStatus.stdout).toMatch(/^central alerts: failing since \S+: central alert for hosts\/web-2 [0-9a-f]{10} not spooled in .*spool \(retried next time\): permission denied; lsm fleet check retries$/m);
      expect(failingStatus.code).toBe(1); // the answer is given, and the exit says the server is not doing its job
      const failingJson = await centralLsm(['fleet', 'status', '--json']);
      expect(failingJson.code).toBe(1);
      expect(failingJson.stderr).toMatch(/^lsm: central alerts failing since \S+: central alert for hosts\/web-2 .*permission denied; lsm fleet check retries\n$/);
      expect(JSON.parse(failingJson.stdout).central).toMatchObject({ failingSince: expect.any(String), problems: expect.arrayContaining([expect.stringMatching(/^central alert for hosts\/web-2 /)]) });
      const check = await centralLsm(['fleet', 'check']);
      expect(check.code).toBe(1);
      expect(check.stderr).toMatch(/^lsm: central alert for hosts\/web-2 [0-9a-f]{10} not spooled in .* \(retried next time\): permission denied/m);
      expect(held()).toEqual([head]);
    } finally {
      execFileSync('chattr', ['-i', spool]);
    }
    const fixed = await centralLsm(['fleet', 'check']);
    expect([fixed.code, fixed.stderr]).toEqual([0, '']);
    expect(held()).toEqual([]);
    const has4450 = (m: ParsedMail) => m.headers.get('x-lsm-host') === 'web-2' && /^  host\/tcp  0\.0\.0\.0:4450 /m.test(m.text!);
    expect((await mailsUntil('fleet@example.org', (ms) => ms.some(has4450))).filter(has4450)).toHaveLength(1);
    const healthy = await centralLsm(['fleet', 'status']);
    expect(healthy.stdout).not.toMatch(/central alerts/);
    expect(healthy.code).toBe(0);
  });
  it('the index never answers wrong: a port changed by hand in now/ or changes/ is found by verify, and the questions rebuild that host first', async () => {
    const file = (part: string, h: string) => join(central, 'lsm', 'index', part, `${h}.json`);
    writeFileSync(file('now', 'web-2'), readFileSync(file('now', 'web-2'), 'utf8').split('0.0.0.0:4444 ').join('0.0.0.0:4999 '));
    writeFileSync(file('changes', 'web-1'), readFileSync(file('changes', 'web-1'), 'utf8').replace(/,1,0,/, ',7,0,'));
    const verify = await world.lsm(['fleet', 'verify', '--fleet', central]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toBe('hosts/web-1: lsm/index/changes/web-1.json is damaged (its header or checksum does not hold)\n' +
      'hosts/web-2: lsm/index/now/web-2.json is damaged (its header or checksum does not hold)\nlsm fleet reindex rebuilds the index\n');
    expect(JSON.parse((await world.lsm(['fleet', 'where', '4999', '--json', '--fleet', central])).stdout).hits).toEqual([]);
    expect(JSON.parse((await world.lsm(['fleet', 'where', '4444', '--json', '--fleet', central])).stdout).hits.map((x: { host: string }) => x.host)).toEqual(HOSTS);
    const log = JSON.parse((await world.lsm(['fleet', 'log', '--json', '--host', 'web-1', '--fleet', central])).stdout);
    expect(log.changes.every((c: { added: number }) => c.added !== 7)).toBe(true);
    // the whole fleet's questions answer from the shards; one host's (log above, diff here) rebuild that host's files first
    expect((await world.lsm(['fleet', 'diff', 'web-1', 'web-2', '--fleet', central])).code).toBe(0);
    expect((await world.lsm(['fleet', 'verify', '--fleet', central])).stdout).toBe('index agrees with the branches\n');
  });

  it("the timeline is the server's clock: changes a host dated 2100 and 1980 are in log --since 1d in the order they arrived, the host's date beside them, flagged", async () => {
    const h = repo('web-3');
    const g = (args: string[], env: Record<string, string> = {}) => execFileSync('git', ['-C', h, ...args], { encoding: 'utf8', env: { ...process.env, ...env } }).trim();
    // a snapshot commit on `parent` with one more tcp line, committed at `date` (a host's clock is its root's)
    const dated = (parent: string, line: string, date: string) => {
      const tcp = g(['cat-file', '-p', `${parent}:host/tcp`]) + `\n${line}\n`;
      const blob = execFileSync('git', ['-C', h, 'hash-object', '-w', '--stdin'], { input: tcp, encoding: 'utf8' }).trim();
      const host = execFileSync('git', ['-C', h, 'mktree'], { input: g(['ls-tree', `${parent}:host`]).replace(/blob [0-9a-f]{40}\ttcp$/m, `blob ${blob}\ttcp`) + '\n', encoding: 'utf8' }).trim();
      const root = execFileSync('git', ['-C', h, 'mktree'], { input: `040000 tree ${host}\thost\n`, encoding: 'utf8' }).trim();
      return g(['commit-tree', '-p', parent, '-m', `+1 -0: host/tcp +1`, root], { GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date });
    };
    // (on the server's branch: web-3's own history was rewritten by an earlier test, and refused)
    const tip = /^([0-9a-f]{40})\trefs\/heads\/hosts\/web-3$/m.exec((await git(['ls-remote', authUrl('web-3')])).stdout)![1];
    const future = dated(tip, '0.0.0.0:4460  future  root  /usr/bin/future', '@4102444800 +0000'); // 2100-01-01
    const past = dated(future, '0.0.0.0:4461  past  root  /usr/bin/past', '@315532800 +0000'); // 1980-01-01
    const t0 = Date.now();
    const pushed = await git(['-C', h, 'push', authUrl('web-3'), `${future}:refs/heads/hosts/web-3`]);
    expect(pushed.code).toBe(0);
    await drainIdle(future);
    expect((await git(['-C', h, 'push', authUrl('web-3'), `${past}:refs/heads/hosts/web-3`])).code).toBe(0);
    await drainIdle(past);
    const log = JSON.parse((await world.lsm(['fleet', 'log', '--since', '1d', '--json', '--fleet', central])).stdout).changes;
    expect(log.slice(-2)).toEqual([
      expect.objectContaining({ host: 'web-3', commit: future, received: true, committed: '2100-01-01T00:00:00.000Z', clockOff: true }),
      expect.objectContaining({ host: 'web-3', commit: past, received: true, committed: '1980-01-01T00:00:00.000Z', clockOff: true }),
    ]);
    for (const e of log.slice(-2)) expect(Date.parse(e.time)).toBeGreaterThanOrEqual(t0 - 1000);
    expect((await world.lsm(['fleet', 'log', '--since', '1d', '--host', 'web-3', '--fleet', central])).stdout).toMatch(new RegExp(`^\\S+  web-3  ${past.slice(0, 10)}  \\+1 -0: host/tcp \\+1  \\(host clock: 1980-01-01T00:00:00\\.000Z\\)$`, 'm'));
    const web3 = JSON.parse((await world.lsm(['fleet', 'status', '--json', '--fleet', central])).stdout).hosts.find((x: { host: string }) => x.host === 'web-3');
    expect(web3).toMatchObject({ lastChangeCommitted: '1980-01-01T00:00:00.000Z', clockOff: true });
    expect(Date.parse(web3.lastChange)).toBeGreaterThanOrEqual(t0 - 1000);
    expect(Date.parse(web3.lastChange)).toBeLessThanOrEqual(Date.now());
    const where = JSON.parse((await world.lsm(['fleet', 'where', '4460', '--json', '--fleet', central])).stdout).hits;
    expect(Date.parse(where[0].since)).toBeGreaterThanOrEqual(t0 - 1000); // since it arrived, not since 2100
    expect((await world.lsm(['fleet', 'verify', '--fleet', central])).stdout).toBe('index agrees with the branches\n');
  });
  it('a silent host that pushes again is told once; no central subject names the server or says +0 -0', async () => {
    // every host was told silent (--silent-after 1ms above) and has pushed or been checked since: the
    // checks with the default limit told each return once; one more check tells nothing
    const back = (ms: ParsedMail[]) => ms.filter((m) => / pushing again, silent since /.test(m.subject!));
    expect((await centralLsm(['fleet', 'check', '--json'])).stdout).toBe('{"schema":1,"silent":[],"raised":0}\n');
    const all = await mails('fleet@example.org');
    expect(back(all).map((m) => m.headers.get('x-lsm-host')).sort()).toEqual(HOSTS);
    for (const m of back(all)) {
      expect(m.subject).toMatch(new RegExp(`^${m.headers.get('x-lsm-host')}: pushing again, silent since \\d{4}-\\S+$`));
      expect(m.text).toMatch(new RegExp(`^${m.headers.get('x-lsm-host')} is pushing again`));
    }
    for (const m of all) expect(m.subject).not.toMatch(/Alert on|lsm fleet change|\+0 -0/);
    expect(all.filter((m) => /:4450\b/.test(m.subject!)).map((m) => m.subject)).toEqual(['web-2: +1 tcp 0.0.0.0:4450 (svc4450)']);
  });
});
