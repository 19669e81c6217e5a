// Shared helpers for the benchmarks: run a command N times, wall time and peak RSS (via GNU time).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** The command as users run it (bin/lsm: node with the flags lsm ships with). */
export const BIN = new URL('../bin/lsm', import.meta.url).pathname;

/** Run argv `runs` times; returns median (and best) wall seconds and max peak RSS in MiB. */
export function measure(argv, { runs = 5, env = {}, before } = {}) {
  const walls = [];
  let rss = 0;
  for (let i = 0; i < runs; i++) {
    before?.();
    const t0 = process.hrtime.bigint();
    const r = spawnSync('/usr/bin/time', ['-f', '%M', ...argv], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 30 });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr.slice(-500)}`);
    walls.push(wall);
    rss = Math.max(rss, Number(r.stderr.trim().split('\n').pop()) / 1024);
  }
  walls.sort((a, b) => a - b);
  return { wall: walls[Math.floor(walls.length / 2)], best: walls[0], rss, runs };
}

export function machine() {
  const sh = (c) => { try { return execFileSync('sh', ['-c', c], { encoding: 'utf8' }).trim(); } catch { return '?'; } };
  return {
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: sh('uname -r'),
    node: process.version,
    ss: sh('ss -V'),
    git: sh('git --version'),
    load: sh('cat /proc/loadavg'),
  };
}

export const fmt = (s) => (s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`);
export const cleanup = (p) => rmSync(p, { recursive: true, force: true });
export { readFileSync };
