// Mail through nodemailer: SMTP when SMTP_URL is set, else the local sendmail (LSM's behaviour).
// nodemailer costs ~47 ms to import: loaded only when a mail is sent
import { alertText, type Alert } from './message.js';

export interface MailSettings {
  to: string[];
  from: string;
  subject: string;
  smtpUrl: string;
  sendmail: string;
}

/** A delivery failure; permanent ones (a rejected recipient, 5xx) are not retried by themselves. */
export class DeliveryError extends Error {
  constructor(message: string, readonly permanent: boolean) { super(message); }
}

export function mailConfigured(m: MailSettings): boolean {
  return m.smtpUrl !== '' || m.sendmail !== '';
}

async function transport(m: MailSettings) {
  const nodemailer = (await import('nodemailer')).default;
  // short timeouts: a cron run must not hang on a dead server; the spool retries next run
  if (m.smtpUrl) return nodemailer.createTransport(m.smtpUrl, { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 } as object);
  return nodemailer.createTransport({ sendmail: true, path: m.sendmail, newline: 'unix' });
}

export async function sendAlertMail(alert: Alert, m: MailSettings): Promise<void> {
  const t = await transport(m);
  try {
    const info = await t.sendMail({
      from: m.from, to: m.to, subject: m.subject,
      text: alertText(alert),
      attachments: alert.diff ? [{ filename: `lsm-${alert.commit.slice(0, 10)}.diff`, content: alert.diff, contentType: 'text/x-diff' }] : [],
      headers: { 'X-LSM-Commit': alert.commit, 'X-LSM-Host': alert.host },
    });
    const rejected = (info.rejected ?? []) as (string | { address: string })[];
    if (rejected.length) {
      const who = rejected.map((r) => (typeof r === 'string' ? r : r.address)).join(', ');
      throw new DeliveryError(`recipient rejected: ${who}`, true);
    }
  } catch (err) {
    if (err instanceof DeliveryError) throw err;
    const e = err as { message?: string; code?: string; responseCode?: number; permanent?: boolean };
    // nodemailer marks 5xx permanent; 4xx, EDNS and connection errors are worth retrying
    const permanent = e.responseCode !== undefined ? e.responseCode >= 500 : e.code === 'EENVELOPE';
    throw new DeliveryError(`${e.code ? `${e.code}: ` : ''}${(e.message ?? String(err)).split('\n')[0]}`, permanent);
  } finally {
    t.close();
  }
}
