// METRICS_FILE: the Prometheus text file each lsm -c rewrites, parsed the way the textfile collector
// reads it, from real scans in a world of its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

/** Prometheus text format: every sample's metric has HELP and TYPE before it; returns 'name{labels}' -> value. */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.trimEnd().split('\n')) {
    const t = /^# (HELP|TYPE) ([a-z_]+) (.+)$/.exec(line);
    if (t) { if (t[1] === 'TYPE') { expect(t[3]).toBe(t[2].endsWith('_total') ? 'counter' : 'gauge'); typed.add(t[2]); } continue; }
    const m = /^([a-z_]+)(\{(?:[a-z_]+="(?:[^"\\]|\\.)*",?)*\})? (-?[\d.e+]+)$/.exec(line);
    expect(m, line).not.toBeNull();
    expect(typed.has(m![1]), line).toBe(true);
    samples.set(m![1] + (m![2] ?? ''), Number(m![3]));
  }
  return samples;
}

describe('METRICS_FILE', () => {
  let world: World;
  const pids: number[] = [];
  beforeAll(async () => { world = await World.start(); });
  afterAll(async () => { for (const p of pids) await world.kill(p); await world?.stop(); });

  it('each lsm -c rewrites it whole: run time and success, sockets per namespace and kind, drift, spool, last commit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-metrics-'));
    const file = join(dir, 'textfile', 'lsm.prom');
    const conf = testConfig(join(dir, 'etc'), { METRICS_FILE: file });
    const repo = join(dir, 'repo');
    await world.run(['mkdir', '-p', join(dir, 'textfile')]);
    pids.push((await world.hold([{ kind: 'tcp4', addr: '127.0.0.1', port: 7501 }, { kind: 'udp4', addr: '127.0.0.1', port: 7502 }], 'metricd')).pid);
    const t0 = Date.now() / 1000;
    expect((await world.lsm(['-c', '--repo', repo, '--config', conf])).code).toBe(0);
    let m = parse(readFileSync(file, 'utf8'));
    expect(m.get('lsm_last_run_success')).toBe(1);
    expect(m.get('lsm_last_run_timestamp_seconds')).toBeGreaterThanOrEqual(Math.floor(t0));
    expect(m.get('lsm_last_run_timestamp_seconds')).toBeLessThanOrEqual(Date.now() / 1000 + 1);
    expect(m.get('lsm_sockets{namespace="host",kind="tcp"}')).toBe(1);
    expect(m.get('lsm_sockets{namespace="host",kind="udp"}')).toBe(1);
    expect([m.get('lsm_drift_lines{change="added"}'), m.get('lsm_drift_lines{change="removed"}')]).toEqual([0, 0]);
    const firstCommit = m.get('lsm_last_commit_timestamp_seconds')!;
    expect(firstCommit).toBeGreaterThanOrEqual(Math.floor(t0));
    expect((statSync(file).mode & 0o777).toString(8)).toBe('644');

    // a new listener: committed, drifted from the baseline, its alert waiting (no mail configured)
    pids.push((await world.hold([{ kind: 'tcp4', addr: '127.0.0.1', port: 7503 }], 'newcomer')).pid);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await world.lsm(['-c', '--repo', repo, '--config', conf])).code).toBe(0);
    m = parse(readFileSync(file, 'utf8'));
    expect(m.get('lsm_sockets{namespace="host",kind="tcp"}')).toBe(2);
    expect([m.get('lsm_drift_lines{change="added"}'), m.get('lsm_drift_lines{change="removed"}')]).toEqual([1, 0]);
    expect(m.get('lsm_spool_alerts')).toBe(1);
    expect(m.get('lsm_dead_alerts')).toBe(0);
    expect(m.get('lsm_last_commit_timestamp_seconds')).toBeGreaterThan(firstCommit);
    // nothing new: the drift still counts, the last commit time stays
    expect((await world.lsm(['-c', '--repo', repo, '--config', conf])).code).toBe(0);
    const same = parse(readFileSync(file, 'utf8'));
    expect(same.get('lsm_drift_lines{change="added"}')).toBe(1);
    expect(same.get('lsm_last_commit_timestamp_seconds')).toBe(m.get('lsm_last_commit_timestamp_seconds'));
    const success = same.get('lsm_last_success_timestamp_seconds')!;

    // a run that fails says so, and keeps the time of the last good one
    writeFileSync(join(repo, '.git', 'refs', 'heads', 'main'), 'damaged\n');
    const bad = await world.lsm(['-c', '--repo', repo, '--config', conf]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/^lsm: .*\n$/);
    const failed = parse(readFileSync(file, 'utf8'));
    expect(failed.get('lsm_last_run_success')).toBe(0);
    expect(failed.get('lsm_last_success_timestamp_seconds')).toBe(success);
    expect(readdirSync(join(dir, 'textfile'))).toEqual(['lsm.prom']); // renamed into place: no temporary left
  });

  it('is never written in a directory others can write to; the run itself goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-metrics-'));
    mkdirSync(join(dir, 'open'), { mode: 0o777 });
    chmodSync(join(dir, 'open'), 0o777);
    const conf = testConfig(join(dir, 'etc'), { METRICS_FILE: join(dir, 'open', 'lsm.prom') });
    const r = await world.lsm(['-c', '--repo', join(dir, 'repo'), '--config', conf]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^lsm: cannot write METRICS_FILE .*\/open\/lsm\.prom: refusing unsafe METRICS_FILE directory: .*\/open is writable by others/m);
    expect(readdirSync(join(dir, 'open'))).toEqual([]);
  });

  it('must be an absolute path ending in .prom', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-metrics-'));
    const conf = testConfig(join(dir, 'etc'), { METRICS_FILE: 'lsm.txt' });
    const r = await world.lsm(['-c', '--repo', join(dir, 'repo'), '--config', conf]);
    expect([r.code, r.stderr]).toEqual([2, `lsm: ${conf}:6: METRICS_FILE must be an absolute path ending in .prom (node_exporter's textfile collector reads *.prom), not 'lsm.txt'\n`]);
  });
});
