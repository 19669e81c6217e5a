// Mail over SMTP in-process: mail.ts with the real nodemailer against a real smtp-server started
// here, STARTTLS and smtps with a certificate made here, AUTH required and checked. The connection
// runs over a unix socket (MailSettings.connect): a test process may open TCP only inside a network
// namespace it made, and it is not in one. test/integration/mail.test.ts does the same over TCP,
// through bin/lsm, in a namespace; here mail.ts's own choices are pinned where mutants can reach them:
// when TLS is required, what is permanent, what the error says.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { simpleParser } from 'mailparser';
import { DeliveryError, messageId, sendAlertMail, type MailSettings } from '../../src/alert/mail.js';
import type { Alert } from '../../src/alert/message.js';
import { deliver, type AlertSettings } from '../../src/alert/index.js';
import { Spool } from '../../src/alert/spool.js';

const T = Date.UTC(2026, 0, 1);
const A = 'c'.repeat(40);
const alert: Alert = {
  id: A, commit: A, parent: 'd'.repeat(40), host: 'web1', time: T, summary: '+1 -0: host/tcp +1',
  added: [{ path: 'host/tcp', line: '0.0.0.0:31337  nc  root  /usr/bin/nc', owners: [] }], removed: [], diff: '+0.0.0.0:31337  nc  root  /usr/bin/nc\n', repo: '/r',
};

let dir: string, key: Buffer, cert: Buffer, ca: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lsm-mut-smtp-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
  key = readFileSync(join(dir, 'key.pem'));
  cert = readFileSync(join(dir, 'cert.pem'));
  ca = `tls.ca=${encodeURIComponent(cert.toString())}`; // trusted as a private CA is, through SMTP_URL
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Got { secure: boolean; user: string | null; mailFrom: string; rcptTo: string[]; raw: Buffer }
const servers: { close(cb: () => void): void }[] = [];
afterEach(async () => { await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(r)))); });
let n = 0;

/** A real smtp-server on a unix socket: what it received, the logins tried, and the connect for mail.ts. */
async function sink(opts: { tls?: 'starttls' | 'tls'; auth?: string; insecureAuth?: boolean; reject?: Record<string, number | undefined> }) {
  const path = join(dir, `smtp-${++n}.sock`);
  const got: Got[] = [];
  const logins: { user: string; secure: boolean }[] = [];
  const reject = opts.reject ?? {}; // changed by a test while the server runs
  const options: SMTPServerOptions = {
    logger: false, disableReverseLookup: true,
    secure: opts.tls === 'tls',
    ...(opts.tls ? { key, cert } : { disabledCommands: ['STARTTLS'] }),
    authOptional: !opts.auth, allowInsecureAuth: opts.insecureAuth ?? false,
    onAuth(a, session, cb) {
      logins.push({ user: a.username ?? '', secure: session.secure });
      const [user, pass] = (opts.auth ?? '').split(/:(.*)/s);
      if (a.username === user && a.password === pass) return cb(null, { user });
      cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, cb) {
      const code = reject[address.address];
      if (code) return cb(Object.assign(new Error('mailbox unavailable'), { responseCode: code }));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        got.push({ secure: session.secure, user: (session.user as string | false | undefined) || null, mailFrom: (session.envelope.mailFrom as { address: string }).address,
          rcptTo: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks) });
        cb();
      });
    },
  };
  const server = new SMTPServer(options);
  await new Promise<void>((r) => server.listen(path, r));
  servers.push(server);
  return { got, logins, reject, connect: () => connect(path) };
}

const settings = (smtpUrl: string, more: Partial<MailSettings> = {}): MailSettings =>
  ({ to: ['ops@example.org', 'sec@example.org'], from: 'lsm@web1', subject: 'LSM on $HOSTNAME', smtpUrl, sendmail: '', ...more });
async function failure(p: Promise<unknown>): Promise<[string, boolean]> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(DeliveryError);
  return [(e as DeliveryError).message, (e as DeliveryError).permanent];
}

describe('mail over SMTP (SMTP_URL)', () => {
  it('smtp:// without a password upgrades with STARTTLS when offered and delivers the alert to every recipient', async () => {
    const s = await sink({ tls: 'starttls' });
    expect(await sendAlertMail(alert, settings(`smtp://localhost/?${ca}`, { connect: s.connect })))
      .toEqual({ accepted: ['ops@example.org', 'sec@example.org'], rejected: [] });
    expect(s.got.map(({ raw: _r, ...how }) => how)).toEqual([{ secure: true, user: null, mailFrom: 'lsm@web1', rcptTo: ['ops@example.org', 'sec@example.org'] }]);
    const m = await simpleParser(s.got[0].raw);
    expect(m.messageId).toBe(messageId(alert));
    expect(m.headers.get('auto-submitted')).toBe('auto-generated');
    expect(m.text).toContain('0.0.0.0:31337  nc  root  /usr/bin/nc');
    expect(m.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([['lsm-cccccccccc.diff', alert.diff]]);
  });

  it('smtp:// without a password still delivers, in clear, to a server that offers no STARTTLS (nothing secret to protect)', async () => {
    const s = await sink({});
    expect(await sendAlertMail(alert, settings('smtp://localhost/', { connect: s.connect }), ['sec@example.org'])).toEqual({ accepted: ['sec@example.org'], rejected: [] });
    expect(s.got.map((g) => [g.secure, g.user, g.rcptTo])).toEqual([[false, null, ['sec@example.org']]]);
  });

  it('smtp:// with a password never sends it in clear: a server without STARTTLS gets no AUTH and no mail, and the failure is retried (not permanent)', async () => {
    const s = await sink({ auth: 'lsm:secret', insecureAuth: true }); // the server would take it in clear
    expect(await failure(sendAlertMail(alert, settings(`smtp://lsm:secret@localhost/`, { connect: s.connect }))))
      .toEqual(['the SMTP server does not do STARTTLS: the password is not sent in clear (SMTP_INSECURE="yes" allows it)', false]);
    expect([s.logins, s.got]).toEqual([[], []]);
  });

  it('SMTP_INSECURE="yes" lets the password go in clear to a server without STARTTLS', async () => {
    const s = await sink({ auth: 'lsm:secret', insecureAuth: true });
    expect(await sendAlertMail(alert, settings(`smtp://lsm:secret@localhost/`, { insecure: true, connect: s.connect }))).toEqual({ accepted: ['ops@example.org', 'sec@example.org'], rejected: [] });
    expect([s.logins, s.got.map((g) => [g.secure, g.user])]).toEqual([[{ user: 'lsm', secure: false }], [[false, 'lsm']]]);
  });

  it('smtp:// with a password logs in after STARTTLS; smtps:// speaks TLS from the first byte', async () => {
    const starttls = await sink({ tls: 'starttls', auth: 'lsm:pa ss%word' });
    await sendAlertMail(alert, settings(`smtp://lsm:pa%20ss%25word@localhost/?${ca}`, { connect: starttls.connect }));
    expect([starttls.logins, starttls.got.map((g) => [g.secure, g.user])]).toEqual([[{ user: 'lsm', secure: true }], [[true, 'lsm']]]);
    const smtps = await sink({ tls: 'tls', auth: 'lsm:secret' });
    await sendAlertMail(alert, settings(`smtps://lsm:secret@localhost/?${ca}`, { connect: smtps.connect }));
    expect([smtps.logins, smtps.got.map((g) => [g.secure, g.user])]).toEqual([[{ user: 'lsm', secure: true }], [[true, 'lsm']]]);
  });

  it('a partly rejected recipient list resolves with who has the alert and who refused it', async () => {
    const s = await sink({ reject: { 'sec@example.org': 550 } });
    expect(await sendAlertMail(alert, settings('smtp://localhost/', { connect: s.connect }))).toEqual({ accepted: ['ops@example.org'], rejected: ['sec@example.org'] });
    expect(s.got.map((g) => g.rcptTo)).toEqual([['ops@example.org']]);
  });

  it('5xx is permanent (500 included), 4xx is retried; the error is one line: code, message, the server\'s reply', async () => {
    for (const [code, permanent] of [[550, true], [500, true], [451, false], [499, false]] as const) {
      const s = await sink({ reject: { 'ops@example.org': code, 'sec@example.org': code } });
      const [message, perm] = await failure(sendAlertMail(alert, settings('smtp://localhost/', { connect: s.connect })));
      expect([message, perm]).toEqual([expect.stringMatching(new RegExp(`^EENVELOPE: .*${code} mailbox unavailable$`)), permanent]);
      expect(message).not.toContain('\n');
    }
  });

  it('a wrong password is permanent (535); no recipient at all is permanent (EENVELOPE without a reply)', async () => {
    const s = await sink({ tls: 'starttls', auth: 'lsm:right' });
    const [wrong, perm] = await failure(sendAlertMail(alert, settings(`smtp://lsm:wrong@localhost/?${ca}`, { connect: s.connect })));
    expect([wrong, perm]).toEqual([expect.stringMatching(/^EAUTH: .*535/), true]);
    const [none, permNone] = await failure(sendAlertMail(alert, settings('smtp://localhost/', { connect: (await sink({})).connect }), []));
    expect([none, permNone]).toEqual([expect.stringMatching(/^EENVELOPE: /), true]);
    expect(s.got).toEqual([]);
  });

  it('a certificate the host does not trust fails the TLS upgrade: retried, nothing sent', async () => {
    const s = await sink({ tls: 'starttls' });
    const [message, permanent] = await failure(sendAlertMail(alert, settings('smtp://localhost/', { connect: s.connect })));
    expect([message, permanent]).toEqual(['ESOCKET: self-signed certificate', false]);
    expect(s.got).toEqual([]);
  });
});

describe('deliver() over SMTP', () => {
  it('a partly rejected list: the accepted recipient is recorded, the refused named, the channel dead (permanent) until --retry-dead, which mails only those who refused', async () => {
    const s = await sink({ reject: { 'sec@example.org': 550, 'audit@example.org': 550 } });
    const spoolDir = join(mkdtempSync(join(dir, 'deliver-')), 'spool');
    const settings: AlertSettings = { repoDir: join(dir, 'repo'), spoolDir, eventLog: '', hooksDir: join(dir, 'no-hooks'), host: 'web1',
      mail: { to: ['ops@example.org', 'sec@example.org', 'audit@example.org'], from: 'lsm@web1', subject: 'S', smtpUrl: 'smtp://localhost/', sendmail: '', connect: s.connect } };
    await new Spool(spoolDir).add(alert);
    const T = Date.UTC(2026, 0, 1);
    const r1 = await deliver(settings, { now: T });
    expect(r1).toMatchObject({ delivered: 0, pending: 0, dead: 1 });
    expect(r1.problems).toEqual([`alert ${A.slice(0, 10)}: mail: recipient rejected: sec@example.org, audit@example.org (permanent: kept in the spool; fix, then lsm flush --retry-dead)`]);
    const [entry] = new Spool(spoolDir).list();
    expect(entry.channels.mail).toMatchObject({ done: false, dead: true, attempts: 1, sentTo: ['ops@example.org'] });
    expect(readdirSync(spoolDir).filter((f) => f.endsWith('.state.next'))).toEqual([]); // the success state prepared is dropped
    // dead: not tried again by a later run, even once its back-off is over
    expect(await deliver(settings, { now: T + 86_400_000 })).toMatchObject({ delivered: 0, dead: 1, problems: [] });
    s.reject['sec@example.org'] = s.reject['audit@example.org'] = undefined; // the mailboxes fixed
    expect(await deliver(settings, { now: T + 86_400_000, retryDead: true })).toMatchObject({ delivered: 1, dead: 0, problems: [] });
    expect(s.got.map((g) => g.rcptTo)).toEqual([['ops@example.org'], ['sec@example.org', 'audit@example.org']]);
  });
});
