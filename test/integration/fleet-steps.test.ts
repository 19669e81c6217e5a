// A host back online with a backlog bigger than the server's FLEET_MAX_PUSH_BYTES pushes it in steps
// (issue 19, item 5), against the real server (lighttpd + git http-backend, one start for the file):
// one `lsm -c` leaves the server at the host's HEAD through several accepted pushes, the central
// repository and its index whole; one commit alone over the limit is still refused, said loudly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFleetServer, type FleetServer } from '../helpers/fleet-server.js';
import { testConfig } from '../helpers/config.js';

const LIMIT = 64 * 1024;

describe('fleet push in steps', { timeout: 120_000 }, () => {
  let s: FleetServer;
  let conf: string, repo: string;
  const g = (args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();
  const central = (args: string[]) => execFileSync('git', ['--git-dir', s.central, ...args], { encoding: 'utf8' }).trim();
  const lsm = (args: string[]) => s.world.lsm([...args, '--repo', repo], { LSM_CONFIG: conf });
  /** A commit on the host's main whose host/tcp holds `lines` random sockets (random: incompressible). */
  const backlogCommit = (parent: string, lines: number): string => {
    const tcp = Array.from({ length: lines }, (_, i) => `0.0.0.0:${i + 1}  ${randomBytes(24).toString('hex')}  root  /usr/bin/x`).join('\n') + '\n';
    const blob = execFileSync('git', ['-C', repo, 'hash-object', '-w', '--stdin'], { input: tcp, encoding: 'utf8' }).trim();
    const host = execFileSync('git', ['-C', repo, 'mktree'], { input: g(['ls-tree', `${parent}:host`]).replace(/blob [0-9a-f]{40}\ttcp$/m, `blob ${blob}\ttcp`) + '\n', encoding: 'utf8' }).trim();
    const root = execFileSync('git', ['-C', repo, 'mktree'], { input: g(['ls-tree', parent]).replace(/tree [0-9a-f]{40}\thost$/m, `tree ${host}\thost`) + '\n', encoding: 'utf8' }).trim();
    const commit = g(['commit-tree', '-p', parent, '-m', `+${lines} -0: host/tcp +${lines}`, root]);
    g(['update-ref', 'refs/heads/main', commit]);
    return commit;
  };
  const records = () => readFileSync(join(s.central, 'lsm', 'pushes.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { host: string; old: string; new: string });

  beforeAll(async () => {
    s = await startFleetServer(['web-1'], { FLEET_MAX_PUSH_BYTES: '64K', FLEET_MAX_PUSHES_PER_MINUTE: '100' });
    const etc = join(s.tmp, 'web-1');
    repo = join(etc, 'repo');
    conf = testConfig(etc, { HOST_ID: 'web-1', REMOTE: s.authUrl('web-1'), REMOTE_TOKEN_FILE: '' });
    writeFileSync(join(etc, 'ignore'), 'tcp 127.0.0.1:2525\ntcp 127.0.0.1:8080\n');
    const first = await lsm(['-g']);
    expect([first.code, first.stderr]).toEqual([0, '']);
    expect(central(['rev-parse', 'refs/heads/hosts/web-1'])).toBe(g(['rev-parse', 'HEAD']));
  });
  afterAll(async () => { await s?.stop(); });

  it('a backlog over FLEET_MAX_PUSH_BYTES goes in several pushes, each taken; the server ends at HEAD, whole and indexed', async () => {
    const start = g(['rev-parse', 'HEAD']);
    // offline: 6 scans of ~30 KB each (packed), 180 KB together, over the 64 KiB limit
    const backlog: string[] = [];
    for (let i = 0; i < 6; i++) backlog.push(backlogCommit(backlog.at(-1) ?? start, 400));
    const before = records().length;
    const run = await lsm(['-c']);
    expect(run.stderr).not.toMatch(/fleet push/);
    const head = g(['rev-parse', 'HEAD']);
    expect(central(['rev-parse', 'refs/heads/hosts/web-1'])).toBe(head);
    expect(g(['rev-parse', 'refs/lsm/pushed'])).toBe(head);
    await s.drained(head);
    // several pushes, chained from the old tip to HEAD, each one the guard took (so under the limit)
    const steps = records().slice(before).filter((r) => r.host === 'web-1');
    expect(steps.length).toBeGreaterThan(1);
    expect(steps[0].old).toBe(start);
    for (let i = 1; i < steps.length; i++) expect(steps[i].old).toBe(steps[i - 1].new);
    expect(steps.at(-1)!.new).toBe(head);
    for (const r of steps) {
      const pack = execFileSync('git', ['-C', repo, 'pack-objects', '--stdout', '--revs'], { input: `${r.new}\n^${r.old}\n` });
      expect(pack.length).toBeLessThan(LIMIT);
    }
    expect(execFileSync('git', ['--git-dir', s.central, 'fsck', '--strict'], { encoding: 'utf8' })).toBe('');
    const log = JSON.parse((await s.world.lsm(['fleet', 'log', '--json', '--host', 'web-1', '--fleet', s.central])).stdout).changes as { commit: string }[];
    const logged = log.map((c) => c.commit);
    for (const c of backlog) expect(logged).toContain(c);
    expect(logged).toContain(head);
    expect((await lsm(['status'])).stdout).toMatch(new RegExp(`^fleet: hosts/web-1 up to date at ${head.slice(0, 10)} `, 'm'));
  });

  it('the long way (the host does not know the server\'s tip: refs/lsm/pushed lost) steps too, from the tip ref discovery gives', async () => {
    const start = g(['rev-parse', 'HEAD']);
    let tip = start;
    for (let i = 0; i < 6; i++) tip = backlogCommit(tip, 400);
    g(['update-ref', '-d', 'refs/lsm/pushed']);
    const before = records().length;
    const run = await lsm(['-c']);
    expect(run.stderr).not.toMatch(/fleet push/);
    const head = g(['rev-parse', 'HEAD']);
    expect(central(['rev-parse', 'refs/heads/hosts/web-1'])).toBe(head);
    expect(g(['rev-parse', 'refs/lsm/pushed'])).toBe(head);
    await s.drained(head);
    const steps = records().slice(before).filter((r) => r.host === 'web-1');
    expect(steps.length).toBeGreaterThan(1);
    expect(steps[0].old).toBe(start);
    expect(execFileSync('git', ['--git-dir', s.central, 'fsck', '--strict'], { encoding: 'utf8' })).toBe('');
  });

  it('one commit alone over FLEET_MAX_PUSH_BYTES is refused: one line on stderr, lsm status says it, the server keeps its tip', async () => {
    const tip = central(['rev-parse', 'refs/heads/hosts/web-1']);
    const good = backlogCommit(tip, 300);
    backlogCommit(good, 3000); // ~200 KB alone
    const run = await lsm(['-c']);
    expect(run.code).toBe(0); // as every failed push: the scan's job was done; said, kept for lsm status, retried
    const lines = run.stderr.split('\n').filter((l) => /fleet push/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/fleet push to hosts\/web-1 failed \(retried next run\): the server refused hosts\/web-1: .*FLEET_MAX_PUSH_BYTES=65536/);
    expect(lines[0]).toMatch(new RegExp(`pushed in steps up to ${good.slice(0, 10)}`));
    // what fits went; the rest waits
    expect(central(['rev-parse', 'refs/heads/hosts/web-1'])).toBe(good);
    expect((await lsm(['status'])).stdout).toMatch(/^fleet: push to hosts\/web-1 failing since .*FLEET_MAX_PUSH_BYTES=65536/m);
  });
});
