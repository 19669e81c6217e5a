// The watch probe's pid cursor (probe.ts readCursor) from a crafted /proc: on a host with many CPUs
// /proc/stat's `processes` line is far past its first page (a cpu line each, an intr line of one
// count per interrupt); missed, the cursor is unknown and every look walks every process's fds.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KeptFiles, readCursor } from '../../src/collect/probe.js';

const root = mkdtempSync(join(tmpdir(), 'lsm-cursor-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function proc(stat: string): string {
  const dir = mkdtempSync(join(root, 'proc-'));
  mkdirSync(join(dir, 'self'));
  mkdirSync(join(dir, 'sys/kernel'), { recursive: true });
  writeFileSync(join(dir, 'self/stat'), `${process.pid} (node) S 1 1 1 0 -1\n`);
  writeFileSync(join(dir, 'loadavg'), '0.10 0.20 0.30 3/512 4242\n');
  writeFileSync(join(dir, 'sys/kernel/pid_max'), '4194304\n');
  writeFileSync(join(dir, 'stat'), stat);
  return dir;
}

// as a 512-CPU host prints it: the cpu lines, then intr with 4,000 interrupt counts
function manyCpus(forks: number): string {
  const cpus = Array.from({ length: 512 }, (_, i) => `cpu${i} 123456 789 234567 98765432 1234 0 5678 0 0 0\n`).join('');
  const intr = `intr 987654321 ${Array.from({ length: 4000 }, (_, i) => String(i % 7 === 0 ? 12345 : 0)).join(' ')}\n`;
  return `cpu  1 2 3 4 5 6 7 0 0 0\n${cpus}${intr}ctxt 123456789\nbtime 1790000000\nprocesses ${forks}\nprocs_running 2\nprocs_blocked 0\n`;
}

describe('readCursor', () => {
  it('finds the processes line of a small /proc/stat', () => {
    const files = new KeptFiles();
    expect(readCursor(proc('cpu  1 2 3\nbtime 1\nprocesses 77\n'), files)).toEqual({ last: 4242, forks: 77, tasks: 512, max: 4194304 });
    files.close();
  });

  it('finds it past 4 KiB (a 512-CPU host), look after look, and as the file grows again', () => {
    const text = manyCpus(123456);
    expect(text.indexOf('processes')).toBeGreaterThan(32 * 1024);
    const dir = proc(text);
    const files = new KeptFiles();
    expect(readCursor(dir, files)?.forks).toBe(123456);
    writeFileSync(join(dir, 'stat'), manyCpus(123460));
    expect(readCursor(dir, files)?.forks).toBe(123460); // the same kept file, read again whole
    writeFileSync(join(dir, 'stat'), manyCpus(123470) + 'x'.repeat(300_000) + '\n');
    expect(readCursor(dir, files)?.forks).toBe(123470);
    files.close();
  });
});
