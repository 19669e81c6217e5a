// The inside of a test world: PID 1 of fresh network, PID and mount namespaces (started by
// world.ts through unshare). Reads JSON requests on stdin, one a line, and answers on stdout:
//   {id, op:'run', argv, env?, input?}  -> {id, code, signal, stdout, stderr}
//   {id, op:'spawn', argv, env?}        -> {id, pid, ready}  (waits for the child's first stdout line)
//   {id, op:'kill', pid, signal?}       -> {id, code, signal}
// When stdin closes, every child is killed by its pid and the world exits (so the namespaces go).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const children = new Map();
const reply = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const env = (extra) => ({ ...process.env, ...(extra ?? {}) });

// lo is down in a fresh namespace
await new Promise((res) => spawn('ip', ['link', 'set', 'lo', 'up'], { stdio: 'ignore' }).on('exit', res));
// namespaces bound on the host (another test's `ip netns add`) are mounts copied into this world's
// mount table, where lsm would rightly find them: detached here, so a world holds only its own
for (const line of readFileSync('/proc/self/mountinfo', 'latin1').split('\n')) {
  const f = line.split(' ');
  const dash = f.indexOf('-');
  if (dash > 4 && f[dash + 1] === 'nsfs') {
    const mountpoint = f[4].replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
    await new Promise((res) => spawn('umount', ['-l', mountpoint], { stdio: 'ignore' }).on('exit', res));
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const req = JSON.parse(line);
  if (req.op === 'run') {
    const p = spawn(req.argv[0], req.argv.slice(1), { env: env(req.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', (e) => reply({ id: req.id, code: -1, signal: null, stdout, stderr: String(e) }));
    p.on('close', (code, signal) => reply({ id: req.id, code, signal, stdout, stderr }));
    p.stdin.on('error', () => {}); // EPIPE: the command exited without reading its input
    p.stdin.end(req.input ?? '');
  } else if (req.op === 'spawn') {
    const p = spawn(req.argv[0], req.argv.slice(1), { env: env(req.env), stdio: ['pipe', 'pipe', 'inherit'] });
    children.set(p.pid, p);
    p.stdin.on('error', () => {});
    let answered = false;
    let buf = '';
    p.stdout.on('data', (d) => {
      buf += d;
      if (!answered && buf.includes('\n')) { answered = true; reply({ id: req.id, pid: p.pid, ready: buf.split('\n')[0] }); }
    });
    p.on('exit', (code, signal) => {
      children.delete(p.pid);
      if (!answered) { answered = true; reply({ id: req.id, pid: p.pid, error: `exited (${code ?? signal}) before ready: ${buf}` }); }
    });
  } else if (req.op === 'kill') {
    const p = children.get(req.pid);
    if (!p) { reply({ id: req.id, code: null, signal: null }); return; }
    p.once('exit', (code, signal) => reply({ id: req.id, code, signal }));
    p.kill(req.signal ?? 'SIGTERM');
  }
});
process.stdin.on('end', () => {
  for (const p of children.values()) p.kill('SIGKILL');
  process.exit(0);
});
