// A real fleet server for a test file, started once: `lsm fleet init` as README says, lighttpd with
// the configuration it prints (git http-backend, basic auth from an htpasswd file), and a real SMTP
// server, inside the test's network namespace. Hosts here are plain git repositories whose
// snapshot commits are made with git fast-import and pushed with the real `git` client.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { simpleParser, type ParsedMail } from 'mailparser';
import { ROOT, World, type RunResult } from './world.js';
import { testConfig } from './config.js';

const SINK = join(ROOT, 'test', 'helpers', 'smtp-sink.mjs');
const FILES = ['host/udp', 'host/raw', 'host/packet', 'host/unix'];
export const ZERO = '0'.repeat(40);

export interface FleetServer {
  world: World; tmp: string; central: string; url: string; inbox: string; centralConf: string;
  /** rewrite the central config with these keys beside the test's own (the hooks read it at each push) */
  configure(extra: Record<string, string>): void;
  /** http://USER:PASSWORD@... for a host id (each host's password is 'pw-<host>') */
  authUrl(host: string): string;
  git(args: string[]): Promise<RunResult>;
  /** a snapshot commit in HOST's own repository: host/tcp holds LINES; returns its id */
  commit(host: string, tcp: string[] | Buffer, parent?: string, extraFiles?: [string, string][], message?: string): string;
  push(host: string, commit: string): Promise<RunResult>;
  mails(to: string): Promise<ParsedMail[]>;
  /** the pushes are recorded, the queue drained and no drain holds the lock (bounded) */
  drained(commit: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startFleetServer(hosts: string[], extra: Record<string, string> = {}): Promise<FleetServer> {
  const world = await World.start();
  const tmp = mkdtempSync(join(tmpdir(), 'lsm-fleet-server-'));
  const central = join(tmp, 'srv', 'fleet.git');
  const inbox = join(tmp, 'inbox');
  mkdirSync(inbox);
  const url = 'http://127.0.0.1:8080/git/fleet.git';
  const base = { SMTP_URL: 'smtp://127.0.0.1:2525', USER: 'fleet@example.org', FROM: 'lsm@example.org' };
  const centralConf = testConfig(join(tmp, 'central'), { ...base, ...extra });
  const init = await world.lsm(['fleet', 'init', central, '--config', centralConf, '--listen', '127.0.0.1', '--port', '8080', '--htpasswd', join(tmp, 'htpasswd')]);
  expect([init.code, init.stderr]).toEqual([0, '']);
  writeFileSync(join(tmp, 'lighttpd.conf'), init.stdout + `server.errorlog = "${join(tmp, 'lighttpd.log')}"\n`);
  for (const [i, h] of hosts.entries()) execFileSync('htpasswd', ['-bB', ...(i === 0 ? ['-c'] : []), join(tmp, 'htpasswd'), h, `pw-${h}`], { stdio: 'ignore' });
  const pids: number[] = [];
  pids.push((await world.spawn([process.execPath, SINK, '2525', inbox])).pid);
  pids.push((await world.spawn(['sh', '-c', `echo started; exec lighttpd -D -f ${join(tmp, 'lighttpd.conf')}`])).pid);
  const up = await world.run(['python3', '-c', 'import socket,time\nfor i in range(100):\n  try:\n    socket.create_connection(("127.0.0.1",8080),1).close(); break\n  except OSError: time.sleep(0.05)\nelse: raise SystemExit(1)']);
  expect(up.code).toBe(0);
  const repo = (h: string) => {
    const dir = join(tmp, 'hosts', `${h}.git`);
    try { readdirSync(dir); } catch { execFileSync('git', ['init', '--quiet', '--bare', dir]); }
    return dir;
  };
  let t = 0;
  const server: FleetServer = {
    world, tmp, central, url, inbox, centralConf,
    configure: (more) => { testConfig(join(tmp, 'central'), { ...base, ...extra, ...more }); },
    authUrl: (h) => url.replace('http://', `http://${h}:pw-${h}@`),
    git: (args) => world.run(['git', ...args], { env: { GIT_TERMINAL_PROMPT: '0' } }),
    commit(host, tcp, parent, extraFiles = [], message = 'change') {
      const gitdir = repo(host);
      const body = Buffer.isBuffer(tcp) ? tcp : Buffer.from(tcp.length ? tcp.join('\n') + '\n' : '');
      const chunks = [Buffer.from(`commit refs/heads/main\ncommitter lsm <lsm@${host}> ${1_793_491_200 + t++} +0000\ndata ${Buffer.byteLength(message)}\n${message}\n${parent ? `from ${parent}\n` : ''}deleteall\n`)];
      chunks.push(Buffer.from(`M 100644 inline host/tcp\ndata ${body.length}\n`), body, Buffer.from('\n'));
      for (const [p, b] of [...FILES.map((f): [string, string] => [f, '']), ...extraFiles]) chunks.push(Buffer.from(`M 100644 inline ${p}\ndata ${Buffer.byteLength(b)}\n${b}\n`));
      execFileSync('git', ['--git-dir', gitdir, 'fast-import', '--quiet', '--force'], { input: Buffer.concat(chunks), maxBuffer: 1 << 28 });
      return execFileSync('git', ['--git-dir', gitdir, 'rev-parse', 'refs/heads/main'], { encoding: 'utf8' }).trim();
    },
    push: (host, commit) => server.git(['--git-dir', repo(host), 'push', server.authUrl(host), `${commit}:refs/heads/hosts/${host}`]),
    async mails(to) {
      const all = await Promise.all(readdirSync(inbox).filter((n) => n.endsWith('.eml')).sort().map((n) => simpleParser(readFileSync(join(inbox, n)))));
      return all.filter((m) => (Array.isArray(m.to) ? m.to : [m.to]).some((x) => x?.value.some((v) => v.address === to)));
    },
    async drained(commit) {
      const recorded = () => { try { return readFileSync(join(central, 'lsm', 'pushes.jsonl'), 'utf8').includes(commit); } catch { return false; } };
      const free = () => world.run(['flock', '-n', join(central, 'lsm', 'drain.lock'), 'true']).then((r) => r.code === 0);
      const queue = () => { try { return readdirSync(join(central, 'lsm', 'queue')).length; } catch { return 0; } };
      for (let i = 0; i < 300 && !(recorded() && queue() === 0 && await free()); i++) await new Promise((r) => setTimeout(r, 100));
      expect(recorded()).toBe(true);
    },
    async stop() {
      for (const pid of pids) await world.kill(pid);
      await world.stop();
    },
  };
  return server;
}
