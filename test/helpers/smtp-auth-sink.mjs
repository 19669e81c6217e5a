// A real SMTP server that wants AUTH and offers it without STARTTLS: what an attacker who strips
// STARTTLS presents. Writes each login it is given to OUTDIR/auth.log and each message to
// OUTDIR/<unix ms>-<n>.eml. usage: smtp-auth-sink.mjs PORT OUTDIR. Prints 'ready'; stops on SIGTERM.
import { SMTPServer } from 'smtp-server';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [port, outdir] = [Number(process.argv[2]), process.argv[3]];
let n = 0;
const server = new SMTPServer({
  disabledCommands: ['STARTTLS'], allowInsecureAuth: true, authOptional: false, logger: false,
  onAuth(auth, _session, cb) {
    appendFileSync(join(outdir, 'auth.log'), `${auth.username}:${auth.password}\n`);
    cb(null, { user: auth.username });
  },
  onData(stream, _session, cb) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => { writeFileSync(join(outdir, `${Date.now()}-${++n}.eml`), Buffer.concat(chunks)); cb(); });
  },
});
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
