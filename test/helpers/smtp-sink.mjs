// A real SMTP server (smtp-server) for tests, run inside the test's world: stores each message it
// accepts as OUTDIR/<unix ms>-<n>.eml, and beside it <same>.json with how it came in
// ({secure, user, mailFrom, rcptTo}). usage: smtp-sink.mjs PORT OUTDIR [REJECTED_RCPT]
// Environment: SINK_TLS=starttls|tls with SINK_KEY and SINK_CERT (PEM files): STARTTLS offered, or
// TLS from the first byte (smtps); SINK_AUTH=user:password: AUTH required and checked (smtp-server
// then refuses it before TLS); SINK_SIZE=bytes: the SIZE limit advertised and enforced (552 past it).
// Without them: plain SMTP, AUTH optional, no STARTTLS.
// Prints 'ready' once it listens; stops on SIGTERM.
import { SMTPServer } from 'smtp-server';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

const [port, outdir, rejected] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
const { SINK_TLS: tls, SINK_KEY: key, SINK_CERT: cert, SINK_AUTH: auth, SINK_SIZE: size } = process.env;
let n = 0;
const server = new SMTPServer({
  logger: false,
  ...(size ? { size: Number(size) } : {}),
  secure: tls === 'tls',
  ...(tls ? { key: readFileSync(key), cert: readFileSync(cert) } : { disabledCommands: ['STARTTLS'] }),
  authOptional: !auth,
  onAuth(a, _session, cb) {
    const [user, pass] = (auth ?? '').split(/:(.*)/s);
    if (a.username === user && a.password === pass) return cb(null, { user });
    cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
  },
  onRcptTo(address, _session, cb) {
    if (rejected && address.address === rejected) return cb(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
    cb();
  },
  onData(stream, session, cb) {
    // who the message was really sent to (the envelope), as a header the tests read back
    const chunks = [Buffer.from(`X-Envelope-To: ${session.envelope.rcptTo.map((r) => r.address).join(', ')}\r\n`)];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      if (stream.sizeExceeded) return cb(Object.assign(new Error('message exceeds fixed maximum message size'), { responseCode: 552 }));
      const name = `${Date.now()}-${String(++n).padStart(4, '0')}`;
      const how = { secure: session.secure, user: session.user || null, mailFrom: session.envelope.mailFrom.address, rcptTo: session.envelope.rcptTo.map((r) => r.address) };
      writeFileSync(join(outdir, `${name}.json`), JSON.stringify(how));
      writeFileSync(join(outdir, `.${name}.eml`), Buffer.concat(chunks));
      renameSync(join(outdir, `.${name}.eml`), join(outdir, `${name}.eml`));
      cb();
    });
  },
});
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
