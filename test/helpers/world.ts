// A test world: fresh network, PID and mount namespaces made with unshare, so lsm sees only the
// processes and sockets the test creates (its 'host' namespace is the world's). Needs root.
// Every process started in it is stopped by its pid, and the world itself when the test ends.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(here, '..', '..');
export const LSM = join(ROOT, 'dist', 'cli', 'main.js');
export const HOLDER = join(here, 'holder.py');

export interface RunResult { code: number | null; signal: string | null; stdout: string; stderr: string }

export interface SocketSpec { kind: string; addr?: string; port?: number; path?: string; name?: string; proto?: number; device?: string; v6only?: boolean }

export class World {
  /** environment for every lsm run (tests set LSM_CONFIG to a config of their own) */
  defaults: Record<string, string> = {};
  private next = 1;
  private waiting = new Map<number, (v: any) => void>();
  private constructor(private proc: ChildProcessWithoutNullStreams) {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const msg = JSON.parse(line);
      this.waiting.get(msg.id)?.(msg);
      this.waiting.delete(msg.id);
    });
    proc.on('exit', (code, signal) => {
      for (const resolve of this.waiting.values()) resolve({ error: `world exited (${code ?? signal})`, code: -1, stdout: '', stderr: 'world exited' });
      this.waiting.clear();
    });
  }

  static async start(): Promise<World> {
    // through real pipes (cat |, | cat): node's own stdio pipes are socket pairs in the outer
    // namespace, which lsm inside the world would rightly record as sockets in no table it can read
    const world = ['unshare', '--net', '--pid', '--fork', '--mount-proc', '--kill-child', process.execPath, join(here, 'world.mjs')];
    const proc = spawn('bash', ['-c', 'cat | "$@" 2> >(cat >&2) | cat', 'world', ...world], { stdio: ['pipe', 'pipe', 'inherit'] });
    const w = new World(proc);
    const r = await w.run(['true']); // answers once lo is up
    if (r.code !== 0) throw new Error('world did not start');
    return w;
  }

  private request(req: object, timeoutMs = 60_000): Promise<any> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.waiting.delete(id); reject(new Error(`world request timed out: ${JSON.stringify(req)}`)); }, timeoutMs);
      this.waiting.set(id, (v) => { clearTimeout(timer); resolve(v); });
      this.proc.stdin.write(JSON.stringify({ ...req, id }) + '\n');
    });
  }

  /** Run a command inside the world to completion. */
  run(argv: string[], options: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return this.request({ op: 'run', argv, env: options.env, input: options.input }, options.timeoutMs);
  }

  /** Run lsm inside the world. */
  lsm(args: string[], env: Record<string, string> = {}, input?: string): Promise<RunResult> {
    return this.run([process.execPath, LSM, ...args], { env: { NO_COLOR: '1', ...this.defaults, ...env }, input });
  }

  /** Start a long-running process; resolves with its pid (inside the world) once it prints a line. */
  async spawn(argv: string[], env?: Record<string, string>): Promise<{ pid: number; ready: string }> {
    const r = await this.request({ op: 'spawn', argv, env });
    if (r.error) throw new Error(r.error);
    return r;
  }

  /** A process holding the given sockets (python3 helper); comm sets its process name. */
  hold(sockets: SocketSpec[], comm?: string): Promise<{ pid: number; ready: string }> {
    return this.spawn(['python3', HOLDER, JSON.stringify({ comm, sockets })]);
  }

  kill(pid: number, signal = 'SIGTERM'): Promise<{ code: number | null; signal: string | null }> {
    return this.request({ op: 'kill', pid, signal });
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const done = new Promise((r) => this.proc.once('exit', r));
    this.proc.stdin.end();
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(t);
  }
}
