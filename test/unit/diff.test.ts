// lsm's unified diffs are git's, byte for byte: jsdiff for small changes, a linear merge walk for
// large ones (jsdiff is O(N·D): 10k changed lines took a minute), checked against the real git.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unifiedDiff } from '../../src/store/history.js';

function gitDiff(a: string[], b: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-diff-'));
  for (const [side, lines] of [['a', a], ['b', b]] as const) {
    mkdirSync(join(dir, side, 'host'), { recursive: true });
    writeFileSync(join(dir, side, 'host', 'tcp'), lines.length ? lines.join('\n') + '\n' : '');
  }
  try {
    return execFileSync('git', ['diff', '--no-index', '--no-color', 'a/host/tcp', 'b/host/tcp'], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28 });
  } catch (err) {
    return (err as { stdout: string }).stdout; // exit 1: the files differ
  }
}

const hunks = (d: string) => d.slice(d.indexOf('@@'));

describe('unified diffs', () => {
  it('are the hunks git writes, for small and for large changes of sorted snapshot files', () => {
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const pool = Array.from({ length: 12_000 }, (_, i) => `0.0.0.0:${10_000 + i}  svc${i % 7}  root  /usr/bin/svc`);
    const cases: [string[], string[]][] = [
      [pool.slice(0, 40), [...pool.slice(0, 10), ...pool.slice(11, 40), pool[45]]], // a few lines: jsdiff
      [pool.filter(() => rnd() < 0.5), pool.filter(() => rnd() < 0.5)], // thousands changed: the merge walk
      [pool.slice(0, 5000), pool.slice(2500, 9000)],
      [pool.filter((_, i) => i % 3 !== 0), pool.filter((_, i) => i % 5 !== 0)],
    ];
    for (const [a, b] of cases) {
      const ours = unifiedDiff(new Map([['host/tcp', a]]), new Map([['host/tcp', b]]));
      expect(ours.startsWith('diff --git a/host/tcp b/host/tcp\n')).toBe(true);
      expect(hunks(ours)).toBe(hunks(gitDiff(a, b)));
    }
  });
});
