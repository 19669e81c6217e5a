// The mail paths docs/alerts.md promises, each through real parts: smtp-server with STARTTLS, with TLS from
// the first byte (smtps://), with AUTH required and checked, and LSM's default, the local sendmail,
// being a real MTA (Debian's msmtp-mta as /usr/sbin/sendmail) relaying to the test's server.
// Certificates are made here with openssl; lsm trusts them through NODE_EXTRA_CA_CERTS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { ROOT, World } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

const SINK = join(ROOT, 'test', 'helpers', 'smtp-sink.mjs');

describe('mail', () => {
  let world: World;
  let tmp: string, key: string, cert: string;
  const pids: number[] = [];
  let port = 2600; // servers
  let held = 4100; // the new sockets that raise the alerts

  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-mail-'));
    key = join(tmp, 'key.pem');
    cert = join(tmp, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    await world?.stop();
  });

  /** A sink with the given TLS/AUTH settings; its inbox. */
  const sink = async (env: Record<string, string>) => {
    const p = ++port;
    const inbox = join(tmp, `inbox-${p}`);
    mkdirSync(inbox);
    pids.push((await world.spawn([process.execPath, SINK, String(p), inbox], { SINK_KEY: key, SINK_CERT: cert, ...env })).pid);
    return { port: p, inbox };
  };
  /** A fresh repository and config, a first scan, then a new socket and `lsm -c`: one alert. */
  const alertThrough = async (name: string, config: Record<string, string | undefined>, env: Record<string, string> = {}) => {
    const dir = join(tmp, name);
    const conf = testConfig(join(dir, 'etc'), Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) as Record<string, string>);
    if (config.SENDMAIL === undefined) writeFileSync(conf, readFileSync(conf, 'utf8').replace(/^SENDMAIL=.*\n/m, '')); // the default
    writeFileSync(join(dir, 'etc', 'ignore'), 'tcp 127.0.0.1:26??   # the test SMTP servers\n');
    const repo = join(dir, 'repo');
    const lsmEnv = { LSM_CONFIG: conf, NODE_EXTRA_CA_CERTS: cert, ...env };
    const first = await world.lsm(['scan', '--repo', repo], lsmEnv);
    expect([first.code, first.stderr]).toEqual([0, '']);
    pids.push((await world.hold([{ kind: 'tcp4', addr: '127.0.0.1', port: ++held }], `svc-${name}`)).pid);
    const r = await world.lsm(['-c', '--repo', repo], lsmEnv);
    return { ...r, port: held, spool: join(dir, 'etc', 'spool') };
  };
  const mails = (inbox: string) => readdirSync(inbox).filter((n) => n.endsWith('.eml')).sort()
    .map((n) => ({ how: JSON.parse(readFileSync(join(inbox, n.replace(/\.eml$/, '.json')), 'utf8')), raw: readFileSync(join(inbox, n)) }));
  const spooled = (spool: string) => existsSync(spool) ? readdirSync(spool).filter((n) => n.endsWith('.json')) : [];

  it('smtp:// upgrades with STARTTLS when the server offers it', async () => {
    const s = await sink({ SINK_TLS: 'starttls' });
    const r = await alertThrough('starttls', { SMTP_URL: `smtp://127.0.0.1:${s.port}`, USER: 'ops@example.org', FROM: 'lsm@example.org' });
    expect([r.code, r.stderr]).toEqual([0, '']);
    const got = mails(s.inbox);
    expect(got.map((m) => m.how)).toEqual([{ secure: true, user: null, mailFrom: 'lsm@example.org', rcptTo: ['ops@example.org'] }]);
    expect((await simpleParser(got[0].raw)).text).toContain(`127.0.0.1:${r.port}  svc-starttls`);
    expect(spooled(r.spool)).toEqual([]);
  });

  it('smtps:// speaks TLS from the first byte', async () => {
    const s = await sink({ SINK_TLS: 'tls' });
    const r = await alertThrough('smtps', { SMTP_URL: `smtps://127.0.0.1:${s.port}`, USER: 'ops@example.org' });
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(mails(s.inbox).map((m) => [m.how.secure, m.how.rcptTo])).toEqual([[true, ['ops@example.org']]]);
    expect(spooled(r.spool)).toEqual([]);
  });

  it('logs in with the password of SMTP_URL when the server requires AUTH, after STARTTLS', async () => {
    const s = await sink({ SINK_TLS: 'starttls', SINK_AUTH: 'lsm:pa ss%word' });
    const r = await alertThrough('auth', { SMTP_URL: `smtp://lsm:pa%20ss%25word@127.0.0.1:${s.port}`, USER: 'ops@example.org' });
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(mails(s.inbox).map((m) => [m.how.secure, m.how.user])).toEqual([[true, 'lsm']]);
    expect(spooled(r.spool)).toEqual([]);
  });

  it('a wrong password delivers nothing and keeps the alert in the spool', async () => {
    const s = await sink({ SINK_TLS: 'starttls', SINK_AUTH: 'lsm:right' });
    const r = await alertThrough('badauth', { SMTP_URL: `smtp://lsm:wrong@127.0.0.1:${s.port}`, USER: 'ops@example.org' });
    expect(r.code).toBe(0); // delivery trouble never fails the scan
    expect(r.stderr).toMatch(/^lsm: alert [0-9a-f]{10}: mail: EAUTH: .*535/m);
    expect(mails(s.inbox)).toEqual([]);
    expect(spooled(r.spool)).toHaveLength(1);
  });

  it("LSM's default: /usr/sbin/sendmail, a real MTA (msmtp), relays the alert", async () => {
    expect(existsSync('/usr/sbin/sendmail')).toBe(true); // test/setup/need.sh (npm test's pretest) installs msmtp-mta
    const s = await sink({ SINK_TLS: 'starttls' });
    // msmtp's user config, found through HOME; it relays with STARTTLS, trusting the test's cert
    const home = join(tmp, 'msmtp-home');
    mkdirSync(home);
    writeFileSync(join(home, '.msmtprc'), ['defaults', 'syslog off', `logfile ${join(home, 'msmtp.log')}`, 'tls on', 'tls_starttls on',
      `tls_trust_file ${cert}`, 'account default', 'host 127.0.0.1', `port ${s.port}`, 'auth off', ''].join('\n'));
    chmodSync(join(home, '.msmtprc'), 0o600);
    const r = await alertThrough('sendmail', { SENDMAIL: undefined, USER: 'ops@example.org, sec@example.org', FROM: 'lsm@example.org' }, { HOME: home, XDG_CONFIG_HOME: join(home, '.config') });
    expect([r.code, r.stderr]).toEqual([0, '']);
    const got = mails(s.inbox);
    expect(got.map((m) => m.how)).toEqual([{ secure: true, user: null, mailFrom: 'lsm@example.org', rcptTo: ['ops@example.org', 'sec@example.org'] }]);
    const m = await simpleParser(got[0].raw);
    expect(m.subject).toMatch(/^LSM Port Monitor Alert on \S+/);
    expect(m.text).toContain(`127.0.0.1:${r.port}  svc-sendmail`);
    expect(m.attachments.map((a) => a.filename)).toEqual([expect.stringMatching(/^lsm-[0-9a-f]{10}\.diff$/)]);
    expect(readFileSync(join(home, 'msmtp.log'), 'utf8')).toMatch(/exitcode=EX_OK/);
    expect(spooled(r.spool)).toEqual([]);
  });
});
