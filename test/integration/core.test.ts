// Issue 2's loop end to end: real sockets in a namespace the test makes, lsm -g / -c, and the real
// git reading the result.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOLDER, World } from '../helpers/world.js';
import { fakeSendmail, testConfig } from '../helpers/config.js';
import { readFileSync, readdirSync } from 'node:fs';

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' });

describe('lsm in a network namespace', () => {
  let world: World;
  let tmp: string;
  let repo: string;
  const pids: number[] = [];
  let sendmail: { path: string; outbox: string };
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-core-'));
    repo = join(tmp, 'repo');
    sendmail = fakeSendmail(tmp);
    world.defaults = { LSM_CONFIG: testConfig(join(tmp, 'etc'), { SENDMAIL: sendmail.path, USER: 'admin@example.org' }) };
  });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    await world?.run(['ip', 'netns', 'del', `lsmtest${process.pid}`]);
    await world?.stop();
  });

  const exeOf = async (pid: number): Promise<string> => {
    const r = await world.lsm(['status', '--json', '--repo', repo]);
    expect(r.code).toBe(0);
    const st = JSON.parse(r.stdout).sockets as { owners: { pid: number; exe: string }[] }[];
    return st.flatMap((s) => s.owners).find((o) => o.pid === pid)!.exe;
  };

  it('lsm -g records every kind of socket in every namespace; -c commits exactly a new socket, once', async () => {
    pids.push((await world.hold([
      { kind: 'tcp4', addr: '0.0.0.0', port: 22 }, { kind: 'tcp6', addr: '::', port: 22 },
      { kind: 'udp4', addr: '0.0.0.0', port: 5353 }, { kind: 'udp6', addr: '::1', port: 546 },
      { kind: 'unix', path: join(tmp, 'daemon.sock') }, { kind: 'unix-dgram', path: join(tmp, 'log.sock') },
      { kind: 'abstract', name: 'lsm-test-abstract' }, { kind: 'packet' }, { kind: 'raw4' },
    ], 'sshd-t')).pid);
    const ns = `lsmtest${process.pid}`;
    expect((await world.run(['ip', 'netns', 'add', ns])).code).toBe(0);
    pids.push((await world.spawn(['ip', 'netns', 'exec', ns, 'python3', HOLDER, JSON.stringify({ comm: 'webapp', sockets: [{ kind: 'tcp4', addr: '0.0.0.0', port: 8080 }] })])).pid);

    const g = await world.lsm(['-g', '--repo', repo]);
    expect(g.stderr).toBe('');
    expect(g.code).toBe(0);
    expect(g.stdout).toMatch(/baseline set to [0-9a-f]{10}/);
    const exe = await exeOf(pids[0]);
    const line = (endpoint: string) => `${endpoint}  sshd-t  root  ${exe}`;
    expect(git(repo, 'show', 'HEAD:host/tcp')).toBe(`${line('0.0.0.0:22')}\n${line('[::]:22')}\n`);
    expect(git(repo, 'show', 'HEAD:host/udp')).toBe(`${line('[::1]:546')}\n${line('0.0.0.0:5353')}\n`);
    expect(git(repo, 'show', 'HEAD:host/unix')).toBe(
      `${join(tmp, 'daemon.sock')}  stream  sshd-t  root  ${exe}\n${join(tmp, 'log.sock')}  dgram  sshd-t  root  ${exe}\n@lsm-test-abstract  stream  sshd-t  root  ${exe}\n`);
    expect(git(repo, 'show', 'HEAD:host/packet')).toBe(`*:all  raw  sshd-t  root  ${exe}\n`);
    expect(git(repo, 'show', 'HEAD:host/raw')).toBe(`0.0.0.0:icmp  sshd-t  root  ${exe}\n`);
    expect(git(repo, 'show', `HEAD:netns/${ns}/tcp`)).toBe(`0.0.0.0:8080  webapp  root  ${exe}\n`);
    expect(git(repo, 'rev-parse', 'refs/lsm/baseline')).toBe(git(repo, 'rev-parse', 'HEAD'));

    const quiet = await world.lsm(['-c', '--repo', repo]);
    expect([quiet.code, quiet.stdout, quiet.stderr]).toEqual([0, '', '']);

    pids.push((await world.hold([{ kind: 'tcp4', addr: '127.0.0.1', port: 4444 }], 'backdoor')).pid);
    const c = await world.lsm(['-c', '--repo', repo]);
    expect(c.code).toBe(0);
    expect(c.stdout).toContain(`+ host/tcp  127.0.0.1:4444  backdoor  root  ${exe}`);
    expect(c.stdout).toContain('drift from baseline');
    expect(git(repo, 'rev-list', '--count', 'HEAD')).toBe('2\n');
    const diff = git(repo, 'diff', '--unified=0', 'HEAD~1', 'HEAD').split('\n').filter((l) => /^[+-][^+-]/.test(l));
    expect(diff).toEqual([`+127.0.0.1:4444  backdoor  root  ${exe}`]);
    expect(git(repo, 'log', '-1', '--format=%s')).toBe('+1 -0: host/tcp +1\n');

    // the change went out by sendmail, with the new socket's owner as it is now
    const mails = readdirSync(sendmail.outbox);
    expect(mails).toHaveLength(1);
    const mail = readFileSync(join(sendmail.outbox, mails[0]), 'utf8');
    expect(mail).toMatch(/^X-Sendmail-Args: .*admin@example\.org/);
    expect(mail).toMatch(/^Subject: LSM Port Monitor Alert on \S+/m);
    expect(mail).toContain(`pid ${pids[2]}  user root`);

    const again = await world.lsm(['-c', '--repo', repo]);
    expect([again.code, again.stdout]).toEqual([0, '']);
    expect(git(repo, 'rev-list', '--count', 'HEAD')).toBe('2\n');
    execFileSync('git', ['-C', repo, 'fsck', '--strict']);

    const log = await world.lsm(['log', '--json', '--repo', repo]);
    expect(log.code).toBe(0);
    expect(log.stdout.trim().split('\n').map((l) => JSON.parse(l).change.summary)).toEqual(['+1 -0: host/tcp +1', expect.stringMatching(/^first snapshot \+10 -0/)]);
    const show = await world.lsm(['show', '--repo', repo]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`+127.0.0.1:4444  backdoor  root  ${exe}`);
    // lsm show prints the same patch git does
    expect(show.stdout.slice(show.stdout.indexOf('diff --git'))).toBe(git(repo, 'show', '--format=', 'HEAD'));
  });

  it('lsm diff shows a socket that is not committed yet; -d forgets the baseline and keeps history', async () => {
    const h = await world.hold([{ kind: 'udp4', addr: '127.0.0.1', port: 9999 }], 'newcomer');
    const d = await world.lsm(['diff', '--repo', repo]);
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/^\+127\.0\.0\.1:9999  newcomer  root  /m);
    await world.kill(h.pid);
    const del = await world.lsm(['-d', '--repo', repo]);
    expect(del.code).toBe(0);
    expect(del.stdout).toMatch(/baseline [0-9a-f]{10} forgotten/);
    expect(() => git(repo, 'rev-parse', '--verify', '-q', 'refs/lsm/baseline')).toThrow();
    expect(Number(git(repo, 'rev-list', '--count', 'HEAD'))).toBeGreaterThanOrEqual(2);
    const purge = await world.lsm(['-d', '--purge', '--repo', repo]);
    expect([purge.code, purge.stderr]).toEqual([2, expect.stringMatching(/^lsm: --purge deletes .* add --yes to confirm\n$/)]);
  });

  it('a hostile process name and a unix path with a newline each give exactly one escaped line', async () => {
    const hostileRepo = join(tmp, 'hostile');
    const h = await world.hold([{ kind: 'tcp4', addr: '127.0.0.1', port: 6666 }, { kind: 'unix', path: join(tmp, 'a\nb  c') }], 'ev\nil  x\x1b[2J');
    // another repository: its own config and spool (--repo isolation refuses to share one)
    const r = await world.lsm(['scan', '--repo', hostileRepo], { LSM_CONFIG: testConfig(join(tmp, 'etc-hostile')) });
    expect([r.code, r.stderr]).toEqual([0, '']);
    const tcp = git(hostileRepo, 'show', 'HEAD:host/tcp').split('\n').filter(Boolean);
    expect(tcp.filter((l) => l.startsWith('127.0.0.1:6666'))).toEqual([expect.stringMatching(/^127\.0\.0\.1:6666  ev\\x0ail\\x20\\x20x\\x1b\[2J  root  \//)]);
    const unix = git(hostileRepo, 'show', 'HEAD:host/unix').split('\n').filter(Boolean);
    expect(unix.filter((l) => l.includes('a\\x0ab'))).toEqual([`${join(tmp, 'a\\x0ab\\x20\\x20c')}  stream  ev\\x0ail\\x20\\x20x\\x1b[2J  root  ${await exeOf(h.pid)}`]);
    expect(unix.some((l) => l.startsWith('b  c'))).toBe(false);
    await world.kill(h.pid);
  });

  it('bad input is one line on stderr and a non-zero exit, never a stack trace', async () => {
    for (const [args, code, msg] of [
      [['log', '-n', 'abc', '--repo', repo], 2, /^lsm: /],
      [['show', 'nosuchrev', '--repo', repo], 2, /^lsm: unknown revision 'nosuchrev'\n$/],
      [['frobnicate'], 2, /^lsm: /],
      [['scan', '--config', join(tmp, 'missing.conf'), '--repo', repo], 2, /^lsm: cannot read config .*missing\.conf: no such file\n$/],
      [['log', '--repo', join(tmp, 'nothing-here')], 1, /^lsm: no lsm repository at /],
      [['status', '--config'], 2, /^lsm: --config needs a value\n$/],
      [['scan', '--config='], 2, /^lsm: --config needs a value\n$/],
      [['--repo=', 'log'], 2, /^lsm: --repo needs a value\n$/],
      [['status', '--proc', join(tmp, 'no-proc-here')], 1, /^lsm: cannot read .*no-proc-here: ENOENT\n$/],
      [['baseline', '--json'], 2, /^lsm: Unknown argument: json/],
      [['install', '--root', tmp, '--schedule', 'hourly'], 2, /^lsm: --schedule "hourly": expected one of cron, systemd, none\n$/],
      // given twice: which one was meant is not lsm's guess
      [['log', '--repo', repo, '--repo', join(tmp, 'nothing-here')], 2, /^lsm: --repo given twice \(".*" and ".*nothing-here"\): give it once\n$/],
    ] as const) {
      const r = await world.lsm([...args]);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
