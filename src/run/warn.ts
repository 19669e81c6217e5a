// What a run could not do but went on without (a delivery to retry, a push that failed, a note
// about the alerted state): one line each on stderr, as cron mails it. The stages below never
// print; the layer says it here.
export function warn(line: string): void {
  process.stderr.write(`lsm: ${line}\n`);
}
