// Root lsm among hostile users (issue 8, points 6-10): every path it reads config or code from or
// writes to is checked like sshd's StrictModes, nothing is written through a planted symlink, a
// stripping SMTP server never gets the password, and a closed pipe ends quietly. Real files owned
// by a real unprivileged user (nobody), the real CLI on fixture /proc trees, a real SMTP server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, lchownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { LSM, ROOT, World } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

const NOBODY = 65534;
const FIX = join(ROOT, 'test', 'fixtures');
const PROCS = [join(FIX, 'basic', 'proc'), join(FIX, 'hostile', 'proc')];

function lsm(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [LSM, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A test's own config, repository and a victim file no lsm run may ever change. */
function setup(extra: Record<string, string> = {}) {
  const tmp = mkdtempSync(join(tmpdir(), 'lsm-rootsafe-'));
  const etc = join(tmp, 'etc');
  const config = testConfig(etc, { EVENT_LOG: join(tmp, 'log', 'events.jsonl'), ...extra });
  const repo = join(tmp, 'repo');
  const victim = join(tmp, 'victim');
  writeFileSync(victim, 'precious\n');
  let n = 0;
  // each scan alternates between two fixture hosts: every one after the first is a change
  const scan = (cmd = '-c') => lsm([cmd, '--repo', repo, '--proc', PROCS[n++ % 2]], { LSM_CONFIG: config });
  return { tmp, etc, config, repo, victim, scan, intact: () => readFileSync(victim, 'utf8') === 'precious\n' };
}

describe('root safety: directories and files', () => {
  it('refuses hooks directories others can write or own, and any unsafe parent; runs no hook then', () => {
    const t = setup();
    const hooks = join(t.etc, 'hooks.d');
    mkdirSync(hooks);
    writeFileSync(join(hooks, '10-ran'), `#!/bin/sh\ntouch ${t.tmp}/hook-ran\n`, { mode: 0o755 });
    expect(t.scan().code).toBe(0);
    const refused = (stderr: string) => { expect(existsSync(join(t.tmp, 'hook-ran'))).toBe(false); return stderr; };

    chmodSync(hooks, 0o777);
    let r = t.scan();
    expect([r.code, refused(r.stderr)]).toEqual([77, `lsm: refusing unsafe hooks directory: ${hooks} is writable by others (mode 777; chmod go-w ${hooks})\n`]);
    chmodSync(hooks, 0o1777); // sticky is fine for a parent like /tmp, never for the directory read
    expect(t.scan().code).toBe(77);
    chmodSync(hooks, 0o775);
    expect(refused(t.scan().stderr)).toMatch(/is writable by group \(mode 775;/);
    chmodSync(hooks, 0o755);
    chownSync(hooks, NOBODY, NOBODY);
    r = t.scan();
    expect([r.code, refused(r.stderr)]).toEqual([77, `lsm: refusing unsafe hooks directory: ${hooks} is owned by uid ${NOBODY}, not root (chown root ${hooks}, or use another path)\n`]);
    chownSync(hooks, 0, 0);
    chmodSync(t.etc, 0o757); // a parent: the config's directory too
    r = t.scan();
    expect([r.code, refused(r.stderr)]).toEqual([77, `lsm: refusing unsafe config file: ${t.etc} is writable by others (mode 757; chmod go-w ${t.etc})\n`]);
    chmodSync(t.etc, 0o755);
    // a symlink on the way, owned by another user: it could be pointed anywhere
    const link = join(t.tmp, 'hooks-link');
    symlinkSync(hooks, link);
    lchownSync(link, NOBODY, NOBODY);
    r = lsm(['-c', '--repo', t.repo, '--proc', PROCS[0]], { LSM_CONFIG: testConfig(t.etc, { EVENT_LOG: join(t.tmp, 'log', 'events.jsonl'), HOOKS_DIR: link }) });
    expect([r.code, refused(r.stderr)]).toEqual([77, `lsm: refusing unsafe hooks directory: the symbolic link ${link} is owned by uid ${NOBODY} (replace it, or use the real path)\n`]);
    lchownSync(link, 0, 0);
    r = lsm(['-c', '--repo', t.repo, '--proc', PROCS[1]], { LSM_CONFIG: testConfig(t.etc, { EVENT_LOG: join(t.tmp, 'log', 'events.jsonl'), HOOKS_DIR: link }) });
    expect(r.code).toBe(0);
    expect(existsSync(join(t.tmp, 'hook-ran'))).toBe(true); // safe again: it runs
  });

  it('a symlinked hook is refused, never followed: ln -s /bin/sh hooks.d/00-x', () => {
    const t = setup();
    const hooks = join(t.etc, 'hooks.d');
    mkdirSync(hooks);
    const real = join(t.tmp, 'real-hook');
    writeFileSync(real, `#!/bin/sh\ntouch ${t.tmp}/linked-ran\n`, { mode: 0o755 });
    symlinkSync('/bin/sh', join(hooks, '00-x'));
    symlinkSync(real, join(hooks, '05-y'));
    writeFileSync(join(hooks, '10-ok'), `#!/bin/sh\ncat > ${t.tmp}/ok.json\n`, { mode: 0o755 });
    expect(t.scan().code).toBe(0);
    const r = t.scan();
    expect(r.stderr).toContain(`lsm: hook ${join(hooks, '00-x')} refused: a symbolic link (a hook must be the file itself)\n`);
    expect(r.stderr).toContain(`lsm: hook ${join(hooks, '05-y')} refused: a symbolic link (a hook must be the file itself)\n`);
    expect(existsSync(join(t.tmp, 'linked-ran'))).toBe(false);
    expect(JSON.parse(readFileSync(join(t.tmp, 'ok.json'), 'utf8')).commit).toMatch(/^[0-9a-f]{40}$/);
  });

  it('a repository another user owns is refused, as git refuses it ("dubious ownership")', () => {
    const t = setup();
    expect(t.scan().code).toBe(0);
    spawnSync('chown', ['-R', `${NOBODY}:${NOBODY}`, t.repo]);
    const r = t.scan();
    expect([r.code, r.stderr]).toEqual([77, `lsm: refusing unsafe repository: ${t.repo} is owned by uid ${NOBODY}, not root (chown root ${t.repo}, or use another path)\n`]);
    spawnSync('chown', ['-R', '0:0', t.repo]);
    // a directory inside .git that another user owns, with symlinks planted in it
    expect(t.scan().code).toBe(0);
    const lsmDir = join(t.repo, '.git', 'lsm');
    chownSync(lsmDir, NOBODY, NOBODY);
    expect(t.scan().stderr).toBe(`lsm: refusing unsafe repository: ${lsmDir} is owned by uid ${NOBODY}, not root (chown root ${lsmDir}, or use another path)\n`);
    expect(t.intact()).toBe(true);
  });

  it('never writes through a symlink planted where lsm writes: journal, pack counter, event log, markers', () => {
    const t = setup();
    expect(t.scan().code).toBe(0);
    const planted = [
      join(t.repo, '.git', 'lsm', 'journal.jsonl'), join(t.repo, '.git', 'lsm', 'commits-since-pack'),
      join(t.repo, '.git', 'lsm-worktree-stale'), join(t.tmp, 'log', 'events.jsonl'), join(t.etc, 'spool', '.told-no-mail'),
    ];
    mkdirSync(join(t.etc, 'spool'), { mode: 0o700, recursive: true });
    mkdirSync(join(t.tmp, 'log'), { mode: 0o750, recursive: true });
    for (const p of planted) { spawnSync('rm', ['-f', p]); symlinkSync(t.victim, p); }
    // each run refuses the first planted link it meets, in one line; the administrator replaces it
    const refusedPaths: string[] = [];
    const movedPaths: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = t.scan();
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /); // never a stack
      const m = /^lsm: (?:.*: )?refusing (\S+): it is a symbolic link$/m.exec(r.stderr);
      // lsm's own files in .git/lsm are the layout check's: the link is moved aside unfollowed, said as damage (65)
      const moved = [...r.stderr.matchAll(/\.git\/(lsm\/[^\s,;]+) was a symbolic link to "[^"]*", not a regular file \(moved to /g)].map((x) => join(t.repo, '.git', x[1]));
      movedPaths.push(...moved);
      if (!m && moved.length) { expect(r.code).toBe(65); continue; }
      // the spool's 'told you once' marker: a link there is damage (65), said with the note it would have silenced
      const told = /^lsm: spool (\S+) is a symbolic link to "[^"]*", not a file lsm made: damage, never followed; move it aside/m.exec(r.stderr);
      if (!m && told) {
        expect([r.code, told[1]]).toEqual([65, planted[4]]);
        expect(r.stderr).toMatch(/^lsm: no mail delivery: /m);
        refusedPaths.push(told[1]);
        spawnSync('mv', [told[1], `${told[1]}.damaged`]);
        continue;
      }
      if (!m && r.code !== 0) {
        // alerts the event log refused wait out their back-off, and the run says so (exit 1) until they
        // are recorded: the administrator who replaced the link runs the flush the line names
        expect(r.stderr).toMatch(/alerts? waiting for eventlog, .*lsm flush tries now/);
        const f = lsm(['flush', '--repo', t.repo], { LSM_CONFIG: t.config });
        expect(f.stderr).not.toMatch(/internal error|\n\s+at |eventlog/);
        continue;
      }
      if (!m) { if (i > 2) break; continue; }
      expect(planted).toContain(m[1]);
      refusedPaths.push(m[1]);
      spawnSync('rm', ['-f', m[1]]);
      writeFileSync(m[1], '', { mode: 0o600 });
    }
    expect(t.intact()).toBe(true);
    expect(refusedPaths).toEqual(expect.arrayContaining([planted[3]])); // the stale-work-tree marker's link is removed, not followed
    expect(movedPaths).toEqual(expect.arrayContaining([planted[1]])); // the pack counter's: moved aside
    expect(refusedPaths).toEqual(expect.arrayContaining([planted[4]])); // the 'told you once' marker's: said, not followed
    // intact() above says nothing was written through any of them
  });

  it('a spool or event log directory another user controls is refused: no forged alert is delivered', () => {
    const t = setup();
    expect(t.scan().code).toBe(0);
    expect(t.scan().code).toBe(0); // one alert: delivered to the event log, waiting for mail
    const spool = join(t.etc, 'spool');
    const entry = readdirSync(spool).find((n) => n.endsWith('.json'))!;
    // another user's spool, holding a forged alert
    const forged = entry.replace(/-[0-9a-f]{40}\.json$/, `-${'f'.repeat(40)}.json`);
    writeFileSync(join(spool, forged), readFileSync(join(spool, entry), 'utf8').replaceAll(/"commit":"[0-9a-f]{40}"/g, `"commit":"${'f'.repeat(40)}"`));
    chownSync(spool, NOBODY, NOBODY);
    chownSync(join(spool, forged), NOBODY, NOBODY);
    const events = () => readFileSync(join(t.tmp, 'log', 'events.jsonl'), 'utf8');
    const before = events();
    for (const cmd of ['-c', 'flush']) {
      const r = lsm([cmd, '--repo', t.repo], { LSM_CONFIG: t.config });
      expect([r.code, r.stderr]).toEqual([77, `lsm: refusing unsafe spool directory: ${spool} is owned by uid ${NOBODY}, not root (chown root ${spool}, or use another path)\n`]);
    }
    expect(events()).toBe(before);
    expect(before).not.toContain('f'.repeat(40));
    // an event log directory another user owns, the log itself a symlink to a file of root's
    chownSync(spool, 0, 0);
    spawnSync('rm', ['-f', join(spool, forged)]);
    const log = join(t.tmp, 'log');
    chownSync(log, NOBODY, NOBODY);
    renameSync(join(log, 'events.jsonl'), join(t.tmp, 'events.old'));
    symlinkSync(t.victim, join(log, 'events.jsonl'));
    const r = t.scan();
    expect([r.code, r.stderr]).toEqual([77, `lsm: refusing unsafe event log directory: ${log} is owned by uid ${NOBODY}, not root (chown root ${log}, or use another path)\n`]);
    expect(t.intact()).toBe(true);
  });

  it('the spool and event log a --repo keeps in its .git/lsm are checked too', () => {
    const t = setup();
    const config = join(t.etc, 'own.conf');
    writeFileSync(config, `IGNORE_FILE="${join(t.etc, 'ignore')}"\nHOOKS_DIR="${join(t.etc, 'hooks.d')}"\nSENDMAIL=""\n`, { mode: 0o600 });
    const run = (proc: string) => lsm(['-c', '--repo', t.repo, '--proc', proc], { LSM_CONFIG: config });
    expect(run(PROCS[0]).code).toBe(0);
    expect(run(PROCS[1]).code).toBe(0);
    const spool = join(t.repo, '.git', 'lsm', 'spool');
    expect(readdirSync(spool).some((n) => n.endsWith('.json'))).toBe(true);
    chownSync(spool, NOBODY, NOBODY);
    const names = readdirSync(spool);
    // the spool is known only once the repository is: the commit is made, its alert waits (refs/lsm/alerted)
    const r = run(PROCS[0]);
    expect(r.stderr).toContain(`refusing unsafe spool directory: ${spool} is owned by uid ${NOBODY}, not root (chown root ${spool}, or use another path)\n`);
    expect(readdirSync(spool)).toEqual(names);
  });

  it('a world-writable sticky parent (like /tmp) is accepted; a directory to create in it is not', () => {
    const t = setup();
    const pub = join(t.tmp, 'pub');
    mkdirSync(pub);
    chmodSync(pub, 0o1777);
    const config = testConfig(t.etc, { SPOOL_DIR: join(pub, 'spool'), EVENT_LOG: join(t.tmp, 'log', 'events.jsonl') });
    const run = () => lsm(['-c', '--repo', t.repo, '--proc', PROCS[0]], { LSM_CONFIG: config });
    expect(run()).toMatchObject({ code: 77, stderr: `lsm: refusing unsafe spool directory: ${pub}/spool does not exist and ${pub} is world-writable: create it first (mkdir -m 700 ${pub}/spool)\n` });
    mkdirSync(join(pub, 'spool'), { mode: 0o700 });
    expect(run()).toMatchObject({ code: 0, stderr: '' });
    chmodSync(pub, 0o777); // not sticky: another user could rename spool away and put theirs
    expect(run().stderr).toBe(`lsm: refusing unsafe spool directory: ${pub} is writable by others (mode 777; chmod go-w ${pub})\n`);
  });

  it('a parent only root and a system group may write (Ubuntu\'s /var/log, root:syslog 0775) is accepted; a user group\'s is not', () => {
    const t = setup();
    const logs = join(t.tmp, 'var-log');
    mkdirSync(logs);
    chmodSync(logs, 0o775);
    const config = testConfig(t.etc, { EVENT_LOG: join(logs, 'lsm', 'events.jsonl') });
    let n = 0;
    const run = () => lsm(['-c', '--repo', t.repo, '--proc', PROCS[n++ % 2]], { LSM_CONFIG: config });
    chownSync(logs, 0, 4); // a system group (adm on Debian)
    expect(run()).toMatchObject({ code: 0, stderr: '' });
    expect(run().code).toBe(0); // a change: alerted into the event log below the group-writable parent
    expect(readFileSync(join(logs, 'lsm', 'events.jsonl'), 'utf8')).toMatch(/"commit":"[0-9a-f]{40}"/);
    chownSync(logs, 0, 1000); // a user's group: its members are people
    expect(run()).toMatchObject({ code: 77, stderr: `lsm: refusing unsafe event log directory: ${logs} is writable by group (mode 775; chmod go-w ${logs})\n` });
    chmodSync(logs, 0o777); chownSync(logs, 0, 4); // others may write: never, whatever the group
    expect(run().code).toBe(77);
  });
});

describe('closed pipes', () => {
  it('log -p, show, status, blame, drift, config into a closed pipe end quietly, as git does', { timeout: 180_000 }, () => {
    const t = setup();
    for (let i = 0; i < 3; i++) expect(t.scan().code).toBe(0);
    // a pipe whose reader is closed before lsm writes: its first write fails (EPIPE), every time
    const closed = (args: string[]) => spawnSync('python3', ['-c', [
      'import os, subprocess, sys',
      'r, w = os.pipe(); os.close(r)',
      'p = subprocess.run(sys.argv[1:], stdout=w, stderr=subprocess.PIPE)',
      'sys.stdout.write(f"{p.returncode} {p.stderr.decode()}")',
    ].join('\n'), process.execPath, LSM, ...args, '--repo', t.repo, '--proc', PROCS[0]], { env: { ...process.env, LSM_CONFIG: t.config }, encoding: 'utf8' }).stdout;
    for (const args of [['log', '-p'], ['show'], ['status'], ['blame', '22/tcp'], ['drift'], ['config']]) {
      expect([args.join(' '), closed(args)]).toEqual([args.join(' '), '141 ']);
    }
    // and the everyday form: a reader that stops after one line
    const head = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${LSM}" log -p --repo "${t.repo}" | head -1 >/dev/null`], { env: { ...process.env, LSM_CONFIG: t.config }, encoding: 'utf8' });
    expect(head.stderr).toBe('');
    expect([0, 141]).toContain(head.status);
  });
});

describe('mail credentials', () => {
  let world: World;
  let tmp: string;
  let sink: number | null = null;
  const SINK = join(ROOT, 'test', 'helpers', 'smtp-auth-sink.mjs');
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-strip-'));
    mkdirSync(join(tmp, 'inbox'));
    sink = (await world.spawn([process.execPath, SINK, '2526', join(tmp, 'inbox')])).pid;
  });
  afterAll(async () => {
    if (sink) await world.kill(sink);
    await world?.stop();
  });

  it('never sends the password to a server that offers AUTH without STARTTLS, unless SMTP_INSECURE="yes"', async () => {
    const etc = join(tmp, 'etc');
    const repo = join(tmp, 'repo');
    const strict = testConfig(etc, { SMTP_URL: 'smtp://lsm:s3cret@127.0.0.1:2526' }); // USER: the default, root
    const run = (args: string[], config: string) => world.lsm([...args, '--repo', repo], { LSM_CONFIG: config });
    expect((await run(['-c', '--proc', PROCS[0]], strict)).code).toBe(0);
    const r = await run(['-c', '--proc', PROCS[1]], strict);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^lsm: alert [0-9a-f]{10}: mail: the SMTP server does not do STARTTLS: the password is not sent in clear \(SMTP_INSECURE="yes" allows it\)\n$/);
    expect(existsSync(join(tmp, 'inbox', 'auth.log'))).toBe(false);
    expect(readdirSync(join(etc, 'spool')).filter((n) => n.endsWith('.json'))).toHaveLength(1); // kept, and retried
    const again = await run(['flush'], strict);
    expect(again.stderr).toContain('does not do STARTTLS');
    expect(existsSync(join(tmp, 'inbox', 'auth.log'))).toBe(false);
    // the administrator says clear text is acceptable here
    const insecure = join(tmp, 'insecure');
    const lax = testConfig(insecure, { SMTP_URL: 'smtp://lsm:s3cret@127.0.0.1:2526', SMTP_INSECURE: 'yes', SPOOL_DIR: join(etc, 'spool') });
    const f = await run(['flush'], lax);
    expect([f.code, f.stdout, f.stderr]).toEqual([0, '1 delivered, 0 waiting, 0 failed permanently\n', '']);
    expect(readFileSync(join(tmp, 'inbox', 'auth.log'), 'utf8')).toBe('lsm:s3cret\n');
    const mails = readdirSync(join(tmp, 'inbox')).filter((n) => n.endsWith('.eml'));
    expect(mails).toHaveLength(1);
    const m = await simpleParser(readFileSync(join(tmp, 'inbox', mails[0])));
    // the default recipient, root, is root at this host
    expect((Array.isArray(m.to) ? m.to : [m.to]).flatMap((x) => x!.value.map((v) => v.address))).toEqual([`root@${hostname()}`]);
  });
});
