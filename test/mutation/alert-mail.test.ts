// Mail through the local sendmail, on the wire: what lsm hands a sendmail-compatible program (a
// stand-in that keeps it), in Unix line endings as sendmail reads them, and what a sendmail that
// is missing or fails says. SMTP (TLS, AUTH, 5xx) needs a network namespace: test/integration/mail.test.ts.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeliveryError, sendAlertMail, type MailSettings } from '../../src/alert/mail.js';
import type { Alert } from '../../src/alert/message.js';
import { fakeSendmail } from '../helpers/config.js';

const T = Date.UTC(2026, 0, 1);
const A = 'a'.repeat(40);
const alert: Alert = {
  id: A, commit: A, parent: 'b'.repeat(40), host: 'web1', time: T, summary: '+1 -0: host/tcp +1',
  added: [{ path: 'host/tcp', line: '0.0.0.0:1  nc  root  /usr/bin/nc', owners: [] }], removed: [], diff: '+0.0.0.0:1  nc  root  /usr/bin/nc\n', repo: '/r',
};

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-mut-mail-'));
  const sm = fakeSendmail(dir);
  const m: MailSettings = { to: ['ops@example.org', 'sec@example.org'], from: 'lsm@web1', subject: 'S', smtpUrl: '', sendmail: sm.path };
  const outbox = () => readdirSync(sm.outbox).sort().map((f) => readFileSync(join(sm.outbox, f), 'utf8'));
  return { dir, m, outbox };
}

describe('mail through the local sendmail', () => {
  it('hands sendmail the message in Unix line endings, the recipients asked for as arguments; resolves with no rejected recipient', async () => {
    const { m, outbox } = setup();
    expect(await sendAlertMail(alert, m, ['sec@example.org'])).toEqual({ accepted: [], rejected: [] }); // sendmail says nothing per recipient
    expect(await sendAlertMail(alert, m)).toEqual({ accepted: [], rejected: [] });
    const [one, all] = outbox();
    expect(one).not.toContain('\r');
    expect(one.split('\n')[0]).toBe('X-Sendmail-Args: -i -f lsm@web1 sec@example.org');
    expect(all.split('\n')[0]).toBe('X-Sendmail-Args: -i -f lsm@web1 ops@example.org sec@example.org');
    expect(one).toMatch(/\nAuto-Submitted: auto-generated\n/);
    expect(one).toMatch(/\nContent-Type: text\/x-diff; name=lsm-aaaaaaaaaa\.diff\n/);
  });

  it('a sendmail that is missing or fails is a transient delivery error that names the cause in one line', async () => {
    const { dir, m } = setup();
    const errorOf = async (s: MailSettings) => { try { await sendAlertMail(alert, s); } catch (e) { return e; } return null; };
    const missing = await errorOf({ ...m, sendmail: join(dir, 'no-such-sendmail') });
    expect(missing).toBeInstanceOf(DeliveryError);
    expect([(missing as DeliveryError).message, (missing as DeliveryError).permanent]).toEqual([`ENOENT: spawn ${join(dir, 'no-such-sendmail')} ENOENT`, false]);
    const failing = join(dir, 'failing');
    writeFileSync(failing, '#!/bin/sh\ncat >/dev/null\necho "line one\nline two" >&2\nexit 69\n', { mode: 0o755 });
    const failed = await errorOf({ ...m, sendmail: failing });
    expect([(failed as DeliveryError).message, (failed as DeliveryError).permanent]).toEqual(['ESENDMAIL: Sendmail exited with code 69', false]);
  });

  it('a sendmail that hangs is killed, its children too, after the time limit: a transient error that says so (it held the run and the repository lock for good)', async () => {
    const { dir, m } = setup();
    const hanging = join(dir, 'hanging');
    writeFileSync(hanging, `#!/bin/sh
cat >/dev/null
sleep 300 &
echo $! > ${join(dir, 'child.pid')}
wait
`, { mode: 0o755 });
    let err: unknown = null;
    try { await sendAlertMail(alert, { ...m, sendmail: hanging, sendmailTimeoutMs: 1500 }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(DeliveryError);
    expect([(err as DeliveryError).message, (err as DeliveryError).permanent]).toEqual([`ETIMEDOUT: sendmail ${hanging} did not finish within 1.5 s (killed)`, false]);
    const child = Number(readFileSync(join(dir, 'child.pid'), 'utf8'));
    for (let i = 0; i < 50 && existsSync(`/proc/${child}`) && !readFileSync(`/proc/${child}/stat`, 'utf8').includes(') Z '); i++) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(`/proc/${child}`) && !readFileSync(`/proc/${child}/stat`, 'utf8').includes(') Z ')).toBe(false); // its child killed too
  }, 20_000);
});
