// Mail through nodemailer: SMTP when SMTP_URL is set, else the local sendmail (LSM's behaviour).
// nodemailer costs ~47 ms to import: loaded only when a mail is sent.
// Credentials never travel in clear: with a user in SMTP_URL, smtp:// must upgrade with STARTTLS
// (nodemailer's requireTLS) before AUTH, whatever the server offers, unless SMTP_INSECURE="yes".
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { alertAttachments, alertSubject, alertText, type Alert } from './message.js';
import { checkProgram } from '../safe-path.js';

export interface MailSettings {
  to: string[];
  from: string;
  subject: string;
  smtpUrl: string;
  sendmail: string;
  insecure?: boolean; // SMTP_INSECURE: AUTH allowed without TLS
  connect?: SmtpConnect; // never from the config: see SmtpConnect
  sendmailTimeoutMs?: number; // never from the config: tests shorten it
}

/** How long a sendmail may take: one that hangs held the run, and the repository lock, for good. */
export const SENDMAIL_TIMEOUT_MS = 30_000;

/** A delivery failure; permanent ones (a rejected recipient, 5xx) are not retried by themselves. */
export class DeliveryError extends Error {
  constructor(message: string, readonly permanent: boolean) { super(message); }
}

export { qualified } from './address.js';

export function mailConfigured(m: MailSettings): boolean {
  return m.smtpUrl !== '' || m.sendmail !== '';
}

export const SMTP_TIMEOUTS = { connection: 5_000, greeting: 5_000, socket: 20_000 };

/** The Message-ID of an alert's mail: derived from the alert id, so a repeat after a crash is recognisably the same mail. */
export function messageId(alert: { id: string; host: string }): string {
  return `<lsm-${alert.id}@${alert.host.replace(/[^A-Za-z0-9.-]/g, '_') || 'localhost'}>`;
}

/**
 * Opens the connection to the SMTP server in place of nodemailer's TCP connect. Only tests pass one
 * (a unix socket to their own smtp-server): a test process may open TCP only inside a network
 * namespace it made, and it is not in one. Everything past the connect is nodemailer's as in use.
 */
export type SmtpConnect = () => Socket;

async function transport(m: MailSettings) {
  const nodemailer = (await import('nodemailer')).default;
  // short timeouts: a cron run must not hang on a dead server; the spool retries next run
  // (the timeouts go in the transport's options: given as a second argument beside a URL they
  // are message defaults and were ignored, so a server that never greets cost 35 s a run)
  if (m.smtpUrl) {
    const u = new URL(m.smtpUrl);
    const requireTLS = u.protocol === 'smtp:' && u.username !== '' && !m.insecure;
    const { connect } = m;
    const getSocket = connect && ((_o: unknown, done: (err: null, s: { connection: Socket }) => void) => done(null, { connection: connect() }));
    return nodemailer.createTransport({ url: m.smtpUrl, requireTLS, connectionTimeout: SMTP_TIMEOUTS.connection, greetingTimeout: SMTP_TIMEOUTS.greeting, socketTimeout: SMTP_TIMEOUTS.socket, getSocket } as object);
  }
  checkProgram(m.sendmail, 'sendmail (SENDMAIL)'); // again, as it is run: lsm watch runs for days
  const t = nodemailer.createTransport({ sendmail: true, path: m.sendmail, newline: 'unix' });
  // nodemailer waits for sendmail without a limit: run it in a process group of its own, killed
  // whole (a script's children too) when it takes longer than SENDMAIL_TIMEOUT_MS
  const limit = m.sendmailTimeoutMs ?? SENDMAIL_TIMEOUT_MS;
  (t.transporter as unknown as { _spawn: unknown })._spawn = (cmd: string, args: string[]) => {
    const child = spawn(cmd, args, { detached: true });
    const timer = setTimeout(() => {
      timedOut.add(t);
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { child.kill('SIGKILL'); }
    }, limit).unref(); // (the child's own handles keep the run waiting for it)
    child.once('exit', () => clearTimeout(timer)).once('error', () => clearTimeout(timer));
    return child;
  };
  return t;
}

/** Transports whose sendmail was killed for taking too long. */
const timedOut = new WeakSet<object>();

/**
 * Mail an alert to `to` (by default every recipient). Resolves with who accepted and who was
 * rejected (a partly rejected list is not an error here: the caller records who has it).
 */
export async function sendAlertMail(alert: Alert, m: MailSettings, to: string[] = m.to): Promise<{ accepted: string[]; rejected: string[] }> {
  const t = await transport(m);
  const addr = (r: string | { address: string }) => (typeof r === 'string' ? r : r.address);
  try {
    const info = await t.sendMail({
      from: m.from, to, subject: alertSubject(alert, m.subject), messageId: messageId(alert),
      // the envelope given: nodemailer's own drops a bare name (USER's default, root), so sendmail
      // was run with no recipient (or without root, beside a full address) and nothing said so
      envelope: { from: m.from, to },
      text: alertText(alert),
      attachments: alertAttachments(alert),
      // RFC 3834: no vacation replies or auto-responders answering a machine
      headers: { 'Auto-Submitted': 'auto-generated', 'X-LSM-Commit': alert.commit, 'X-LSM-Parent': alert.parent ?? '', 'X-LSM-Host': alert.host },
    });
    return { accepted: ((info.accepted ?? []) as (string | { address: string })[]).map(addr), rejected: ((info.rejected ?? []) as (string | { address: string })[]).map(addr) };
  } catch (err) {
    if (err instanceof DeliveryError) throw err;
    if (timedOut.has(t)) throw new DeliveryError(`ETIMEDOUT: sendmail ${m.sendmail} did not finish within ${(m.sendmailTimeoutMs ?? SENDMAIL_TIMEOUT_MS) / 1000} s (killed)`, false);
    const e = err as { message?: string; code?: string; responseCode?: number; permanent?: boolean; command?: string };
    // nodemailer marks 5xx permanent; 4xx, EDNS and connection errors are worth retrying
    // a server that will not do STARTTLS may be an attacker stripping it: retried, never given up
    if (e.command === 'STARTTLS') throw new DeliveryError('the SMTP server does not do STARTTLS: the password is not sent in clear (SMTP_INSECURE="yes" allows it)', false);
    const permanent = e.code !== 'ETLS' && (e.responseCode !== undefined ? e.responseCode >= 500 : e.code === 'EENVELOPE');
    throw new DeliveryError(`${e.code ? `${e.code}: ` : ''}${(e.message ?? String(err)).split('\n')[0]}`, permanent);
  } finally {
    t.close();
  }
}
