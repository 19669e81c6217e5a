// A world for the application layer's in-process tests (test/mutation/run-*.test.ts): a /proc of
// our own (a copy of a fixture tree, listeners added by appending to its tcp table), a config whose
// every path is under the test's directory, and what the run said on stderr and set as exit code.
import { appendFileSync, cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vi } from 'vitest';
import { FIXTURES } from '../unit/fixtures.js';
import { testConfig } from './config.js';

export function runWorld(extra: Record<string, string> = {}, fixture = 'basic') {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-runmut-'));
  cpSync(join(FIXTURES, fixture), join(dir, 'root'), { recursive: true, verbatimSymlinks: true });
  const proc = join(dir, 'root', 'proc');
  const conf = join(dir, 'conf');
  const config = testConfig(conf, extra);
  return {
    dir, proc, config, conf, repo: join(dir, 'repo'),
    spool: join(conf, 'spool'), events: join(conf, 'events.jsonl'),
    args: { repo: join(dir, 'repo'), config, proc },
    /** a TCP listener on 0.0.0.0:port appears (a change the next scan commits) */
    listen: (port: number) => appendFileSync(join(proc, '1', 'net', 'tcp'),
      `  ${port % 100}: 00000000:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 ${90000 + port} 1 0000000000000000 100 0 0 10 0\n`),
  };
}

/** Every line written to stderr from now on (and nothing shown). */
export function stderrLines(): string[] {
  const lines: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => { lines.push(...String(c).split('\n').filter(Boolean)); return true; });
  return lines;
}

/** The exit listeners fn registers, taken off the process (so no test's end runs them), in order. */
export async function exitListeners<T>(fn: () => T | Promise<T>): Promise<{ result?: T; error?: unknown; listeners: ((code: number) => void)[] }> {
  const before = new Set(process.listeners('exit'));
  let result: T | undefined, error: unknown;
  try { result = await fn(); } catch (e) { error = e; }
  const listeners = process.listeners('exit').filter((l) => !before.has(l)) as ((code: number) => void)[];
  for (const l of listeners) process.removeListener('exit', l);
  return { result, error, listeners };
}

/** A Prometheus text file as metric -> value (comments left out). */
export function samples(text: string): Map<string, number> {
  return new Map(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const cut = l.lastIndexOf(' ');
    return [l.slice(0, cut), Number(l.slice(cut + 1))];
  }));
}
