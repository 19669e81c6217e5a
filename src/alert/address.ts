// A mail address as SMTP needs it; apart from mail.ts so the run's settings (run/alerts.ts) do not
// load the mail and message code at every start (test/integration/cron-imports.test.ts).
import { hostname } from 'node:os';

/** A bare name (USER's default, root) is a mailbox on this host, as sendmail reads it. */
export function qualified(address: string): string {
  return address.includes('@') ? address : `${address}@${hostname()}`;
}
