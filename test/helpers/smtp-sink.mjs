// A real SMTP server (smtp-server) for tests, run inside the test's world: stores each message it
// accepts as OUTDIR/<unix ms>-<n>.eml. usage: smtp-sink.mjs PORT OUTDIR [REJECTED_RCPT]
// Prints 'ready' once it listens; stops on SIGTERM.
import { SMTPServer } from 'smtp-server';
import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

const [port, outdir, rejected] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
let n = 0;
const server = new SMTPServer({
  authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
  onRcptTo(address, _session, cb) {
    if (rejected && address.address === rejected) return cb(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
    cb();
  },
  onData(stream, session, cb) {
    // who the message was really sent to (the envelope), as a header the tests read back
    const chunks = [Buffer.from(`X-Envelope-To: ${session.envelope.rcptTo.map((r) => r.address).join(', ')}\r\n`)];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      const name = `${Date.now()}-${String(++n).padStart(4, '0')}.eml`;
      writeFileSync(join(outdir, `.${name}`), Buffer.concat(chunks));
      renameSync(join(outdir, `.${name}`), join(outdir, name));
      cb();
    });
  },
});
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
