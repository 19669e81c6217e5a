// lsm watch between its full scans: the probe alone (--full-every far away) must see every kind
// of change a snapshot records, new sockets, gone ones, new namespaces and owner-only changes
// (an exec, a setuid, a fork, an owner's exit), and get it alerted within two intervals, once; the
// head of a burst is alerted as soon as it is committed, the changes that follow it after ten
// intervals at most; METRICS_FILE is kept up to date.
// Real sockets in a world of its own; alerts read from the event log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LSM, World } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

const INTERVAL = 1000;
// what the machine may add to two intervals: a look, a scan, a commit and the spool, on 2 busy cores
const SLACK = 2500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Event { commit: string; parent: string | null; added: { path: string; line: string }[]; removed: { path: string; line: string }[] }

describe('lsm watch', { timeout: 120_000 }, () => {
  let world: World;
  let tmp: string;
  const pids: number[] = [];
  beforeAll(async () => { world = await World.start(); tmp = mkdtempSync(join(tmpdir(), 'lsm-watch-')); });
  afterAll(async () => { for (const p of pids) await world.kill(p); await world?.stop(); });

  /** A watch on a fresh repository (its first scan commits: the line world.spawn waits for). */
  async function watch(name: string, args: string[], extra: Record<string, string> = {}, before?: (repo: string, env: Record<string, string>) => Promise<void>, interval = INTERVAL) {
    const etc = join(tmp, name);
    const env = { LSM_CONFIG: testConfig(etc, extra) };
    const repo = join(tmp, `${name}-repo`);
    await before?.(repo, env);
    const w = await world.spawn([process.execPath, LSM, 'watch', '--interval', `${interval / 1000}s`, '--repo', repo, ...args], { NO_COLOR: '1', ...env });
    pids.push(w.pid);
    const log = join(etc, 'events.jsonl');
    const events = (): Event[] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.commit) : []);
    /** ms from `since` until an alert adds (or removes) a line matching `re`; Infinity if none in `within` ms */
    const alerted = async (re: RegExp, since: number, within: number, side: 'added' | 'removed' = 'added') => {
      for (let i = 0; Date.now() - since < within && i < 10_000; i++) {
        if (events().some((e) => e[side].some((l) => re.test(`${l.path} ${l.line}`)))) return Date.now() - since;
        await sleep(20);
      }
      return Infinity;
    };
    return { pid: w.pid, repo, etc, env, events, alerted };
  }

  /** A python3 process inside the world; `then` runs when the file `go` appears (polled, bounded). */
  const python = async (body: string, then = 'pass') => {
    const go = join(tmp, `go-${Math.random().toString(36).slice(2)}`);
    const script = `import os, socket, sys, time\n${body}\nprint('ready', flush=True)\nfor _ in range(3000):\n    if os.path.exists(${JSON.stringify(go)}): break\n    time.sleep(0.02)\n${then}\nsys.stdin.read()\n`;
    const p = await world.spawn(['python3', '-c', script]);
    pids.push(p.pid);
    return { pid: p.pid, go: () => writeFileSync(go, '') };
  };

  it('sees what the probe alone can see, and alerts it within two intervals, once', async () => {
    expect((await world.run(['sysctl', '-qw', 'net.ipv4.ping_group_range=0 2147483647'])).code).toBe(0);
    const w = await watch('probe', ['--full-every', '1h']); // no periodic full scan during the test
    await sleep(1500); // the first commit is not alerted; let a look or two pass
    const within = 2 * INTERVAL + SLACK;
    const latencies: Record<string, number> = {};
    const check = async (what: string, re: RegExp, act: () => Promise<unknown>, side: 'added' | 'removed' = 'added') => {
      await act();
      const t0 = Date.now();
      latencies[what] = await w.alerted(re, t0, within + 3000, side);
      await sleep(1200); // apart: one alert each
    };
    // new sockets of each kind
    let holder = 0;
    await check('tcp listener', /^host\/tcp 127\.0\.0\.1:7601  holder /, async () => pids.push((holder = (await world.hold([{ kind: 'tcp4', addr: '127.0.0.1', port: 7601 }], 'holder')).pid)));
    await check('udp6', /^host\/udp \[::1\]:7602  /, async () => pids.push((await world.hold([{ kind: 'udp6', addr: '::1', port: 7602 }])).pid));
    await check('unix', /^host\/unix \/.*w\.sock  /, async () => pids.push((await world.hold([{ kind: 'unix', path: join(tmp, 'w.sock') }])).pid));
    await check('abstract dgram', /^host\/unix @lsm-watch-test  dgram/, async () => pids.push((await world.hold([{ kind: 'abstract-dgram', name: 'lsm-watch-test' }])).pid));
    await check('packet', /^host\/packet /, async () => pids.push((await world.hold([{ kind: 'packet' }])).pid));
    await check('ping', /^host\/raw .*:ping  /, async () => pids.push((await world.hold([{ kind: 'ping4' }])).pid));
    // a namespace of its own, held by the process in it
    await check('new namespace', /^netns\/[^/]+\/tcp 127\.0\.0\.1:7603  /, async () => pids.push((await world.spawn(['unshare', '--net', 'sh', '-c', `ip link set lo up && exec python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1',7603)); s.listen(); print('ready', flush=True); sys.stdin.read()"`])).pid));
    // owner-only changes: the socket stays, its line does not
    const exec = await python(`s = socket.socket(); s.bind(('127.0.0.1', 7604)); s.listen(); os.set_inheritable(s.fileno(), True)`, `os.execv('/bin/sleep', ['sleep', '300'])`);
    await sleep(1500);
    await check('exec', /^host\/tcp 127\.0\.0\.1:7604  sleep  root  /, async () => exec.go());
    const setuid = await python(`s = socket.socket(); s.bind(('127.0.0.1', 7605)); s.listen()`, `os.setuid(65534)`);
    await sleep(1500);
    await check('setuid', /^host\/tcp 127\.0\.0\.1:7605  python3  nobody  /, async () => setuid.go());
    const fork = await python(`s = socket.socket(); s.bind(('127.0.0.1', 7606)); s.listen()`,
      `if os.fork() == 0:\n    open('/proc/self/comm', 'w').write('forked')\n    sys.stdin.close(); time.sleep(300); os._exit(0)`);
    await sleep(1500);
    await check('fork', /^host\/tcp 127\.0\.0\.1:7606  forked  /, async () => fork.go());
    // the parent exits, its child keeps the listener: only the owner changes
    await check('owner exit', /^host\/tcp 127\.0\.0\.1:7606  forked  root  [^+]*$/, async () => world.kill(fork.pid));
    await check('gone', /^host\/tcp 127\.0\.0\.1:7601  holder /, async () => world.kill(holder), 'removed');
    console.log(`watch --interval 1s, probe only: alerted after (ms) ${JSON.stringify(latencies)}`);
    for (const [what, ms] of Object.entries(latencies)) expect([what, ms < within]).toEqual([what, true]);

    // exactly once: every commit after the first in one alert, and the snapshot is the state now
    const chain = execFileSync('git', ['-C', w.repo, 'rev-list', '--first-parent', 'HEAD'], { encoding: 'utf8' }).trim().split('\n').reverse().slice(1);
    const covered = new Map<string, number>();
    for (const e of w.events()) {
      for (let i = chain.indexOf(e.commit); i >= 0 && chain[i] !== e.parent; i--) covered.set(chain[i], (covered.get(chain[i]) ?? 0) + 1);
    }
    expect(chain.map((c) => covered.get(c) ?? 0)).toEqual(chain.map(() => 1));
    const status = await world.lsm(['scan', '-q', '--repo', w.repo], w.env);
    expect(status.code).toBe(0);
    expect(execFileSync('git', ['-C', w.repo, 'rev-list', '--count', 'HEAD'], { encoding: 'utf8' }).trim()).toBe(String(chain.length + 1)); // nothing left to commit
  });

  it('alerts a burst of continuous changes: its head at once, what follows after ten intervals at most, then the rest once it is quiet', async () => {
    const w = await watch('burst', []);
    await sleep(1500);
    // a new listener every 0.4 s for 20 s: every look sees a change, so the burst never goes quiet
    const burst = await python('', `for i in range(50):\n    s = socket.socket(); s.bind(('127.0.0.1', 7700 + i)); s.listen(); globals()['k%d' % i] = s; time.sleep(0.4)\nprint('done', flush=True)`);
    const t0 = Date.now();
    burst.go();
    try {
      // its head: the first change, alerted at once
      expect(await w.alerted(/^host\/tcp 127\.0\.0\.1:77\d\d  /, t0, 2 * INTERVAL + SLACK)).toBeLessThan(Infinity);
      const quietBy = 20_000; // when the burst ends
      // the changes that follow it: one alert by the cap, while they go on
      let first = Infinity;
      for (let i = 0; i < 2000 && Date.now() - t0 < 20_000 + 2 * INTERVAL + SLACK; i++) {
        if (w.events().length >= 2) { first = Date.now() - t0; break; }
        await sleep(20);
      }
      // the first commit it covers (git's time is in whole seconds: +1 s for the rounding)
      const alert = w.events()[1];
      const firstCommit = execFileSync('git', ['-C', w.repo, 'rev-list', '--reverse', '--first-parent', `${alert.parent}..${alert.commit}`], { encoding: 'utf8' }).split('\n')[0];
      const committedAt = Number(execFileSync('git', ['-C', w.repo, 'show', '-s', '--format=%ct', firstCommit], { encoding: 'utf8' })) * 1000;
      const sinceCommit = t0 + first - committedAt;
      console.log(`burst: alert after its head ${first} ms after it began, ${sinceCommit} ms after its first commit (the cap: 10 intervals; the burst lasts ${quietBy} ms)`);
      expect(first).toBeLessThan(quietBy); // alerted while the changes go on
      expect(sinceCommit).toBeLessThanOrEqual(10 * INTERVAL + 1000 + INTERVAL + SLACK); // by the cap: ten intervals, a look and its scan
      // the rest of the burst: alerted once it is quiet, each listener in exactly one alert
      await sleep(Math.max(0, t0 + quietBy - Date.now()));
      expect(await w.alerted(/^host\/tcp 127\.0\.0\.1:7749  /, Date.now(), 2 * INTERVAL + SLACK + 3000)).toBeLessThan(Infinity);
      const added = w.events().flatMap((e) => e.added.map((l) => l.line)).filter((l) => /^127\.0\.0\.1:77\d\d  /.test(l));
      expect(added.length).toBe(50);
      expect(new Set(added).size).toBe(50);
    } finally {
      await world.kill(burst.pid);
    }
  });

  it('alerts a change that follows a quiet look as soon as its scan commits it, not at the next look', async () => {
    // a long interval, so that "at once" and "at the next look" are seconds apart even on busy cores
    const interval = 6000;
    const w = await watch('head', ['--full-every', '1h'], {}, undefined, interval);
    await sleep(interval + 500); // the first look after the first scan: quiet
    pids.push((await world.hold([{ kind: 'tcp4', addr: '127.0.0.1', port: 7811 }], 'headd')).pid);
    const committed = async () => {
      for (let i = 0; i < 1000; i++) {
        if (execFileSync('git', ['-C', w.repo, 'show', 'HEAD:host/tcp'], { encoding: 'utf8' }).includes('127.0.0.1:7811  headd')) return Date.now();
        await sleep(20);
      }
      return Infinity;
    };
    const at = await committed(); // within one interval and a scan
    expect(at).toBeLessThan(Infinity);
    const after = await w.alerted(/127\.0\.0\.1:7811  headd/, at, 2 * interval);
    console.log(`head of a burst: alerted ${after} ms after its commit was seen (interval ${interval} ms)`);
    expect(after).toBeLessThan(interval / 3); // the next look is an interval less the scan away
    expect(w.events().filter((e) => e.added.some((l) => l.line.startsWith('127.0.0.1:7811  ')))).toHaveLength(1);
  });

  it('keeps METRICS_FILE current: after every full scan, and at least every 10 s as a heartbeat', async () => {
    const file = join(tmp, 'textfile', 'lsm.prom');
    mkdirSync(join(tmp, 'textfile'), { recursive: true });
    // a baseline first, then a listener: watch's first scan commits it (drift 1)
    const w = await watch('metrics', ['--full-every', '1h'], { METRICS_FILE: file }, async (repo, env) => {
      expect((await world.lsm(['-g', '-q', '--repo', repo], env)).code).toBe(0);
      pids.push((await world.hold([{ kind: 'tcp4', addr: '127.0.0.1', port: 7801 }], 'metricd')).pid);
    });
    const read = () => { try { return readFileSync(file, 'utf8'); } catch { return ''; } };
    const value = (name: string) => { const m = new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(read()); return m ? Number(m[1]) : null; };
    const tcpLines = () => execFileSync('git', ['-C', w.repo, 'show', 'HEAD:host/tcp'], { encoding: 'utf8' }).trim().split('\n').length;
    for (let i = 0; i < 100 && value('lsm_last_run_success') === null; i++) await sleep(50);
    expect(value('lsm_last_run_success')).toBe(1); // written after the first scan
    expect(value('lsm_sockets{namespace="host",kind="tcp"}')).toBe(tcpLines());
    expect(value('lsm_drift_lines{change="added"}')).toBe(1);
    const first = value('lsm_last_run_timestamp_seconds')!;
    // a change: the full scan it causes rewrites the file
    pids.push((await world.hold([{ kind: 'tcp4', addr: '127.0.0.1', port: 7802 }], 'metricd')).pid);
    expect(await w.alerted(/127\.0\.0\.1:7802/, Date.now(), 2 * INTERVAL + SLACK + 3000)).toBeLessThan(Infinity);
    expect(value('lsm_sockets{namespace="host",kind="tcp"}')).toBe(tcpLines());
    expect(value('lsm_drift_lines{change="added"}')).toBe(2);
    // nothing changes now, and no full scan is due for an hour: the heartbeat still moves
    const seen = value('lsm_last_run_timestamp_seconds')!;
    expect(seen).toBeGreaterThan(first);
    const until = Date.now() + 10_000 + 2 * INTERVAL + SLACK;
    while (Date.now() < until && value('lsm_last_run_timestamp_seconds') === seen) await sleep(100);
    expect(value('lsm_last_run_timestamp_seconds')).toBeGreaterThan(seen);
    expect(value('lsm_sockets{namespace="host",kind="tcp"}')).toBe(tcpLines());
  });

  it('refuses a --full-every that is not a duration of a second or more, in one line', async () => {
    const r = await world.lsm(['watch', '--full-every', '500ms', '--repo', join(tmp, 'bad-repo')], { LSM_CONFIG: testConfig(join(tmp, 'bad')) });
    expect([r.code, r.stderr]).toEqual([2, 'lsm: --full-every "500ms": expected a duration from 1s to 7d (written as 10s, 5m, 2h, 1d)\n']);
  });
});
