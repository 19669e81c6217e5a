// The per-host limits' edges (limits.ts) on real things: pack indexes written by the real git
// (index-pack's version 1 and 2, an empty pack, an index cut at each of its bounds), a quarantine
// holding names that are nearly object names, and the rate file at exactly its size bound.
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_LIMITS, countPush, packIndexOids, readQuarantine } from '../../src/fleet/limits.js';

const tmps: string[] = [];
afterEach(() => { for (const d of tmps.splice(0)) rmSync(d, { recursive: true, force: true }); });
const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'lsm-mlimits-')); tmps.push(d); return d; };

/** A bare repository holding `count` blobs packed by git; its pack's index and the ids git lists in it. */
function packed(count: number, indexVersion?: 1 | 2): { idx: Buffer; oids: string[] } {
  const g = join(tmp(), 'x.git');
  execFileSync('git', ['init', '-q', '--bare', g]);
  const files = Array.from({ length: count }, (_, i) => { const f = join(g, `blob-${i}`); writeFileSync(f, `blob ${i}\n`); return f; });
  const blobs = count ? execFileSync('git', ['--git-dir', g, 'hash-object', '-w', ...files], { encoding: 'utf8' }).trim().split('\n') : [];
  const name = execFileSync('git', ['--git-dir', g, 'pack-objects', join(g, 'pack')], { input: blobs.map((b) => `${b}\n`).join('') }).toString().trim();
  let idxPath = join(g, `pack-${name}.idx`);
  if (indexVersion) {
    idxPath = join(g, `v${indexVersion}.idx`);
    execFileSync('git', ['--git-dir', g, 'index-pack', `--index-version=${indexVersion}`, '-o', idxPath, join(g, `pack-${name}.pack`)]);
  }
  const idx = readFileSync(idxPath);
  const oids = count ? execFileSync('git', ['show-index'], { input: idx, encoding: 'utf8' }).trim().split('\n').map((l) => l.split(' ')[1]) : [];
  return { idx, oids };
}

describe("a pack index's object ids", () => {
  it('an empty pack lists none; an index cut exactly after its ids still lists them, one byte less does not', () => {
    const empty = packed(0);
    expect(packIndexOids(empty.idx)).toEqual([]);
    expect(packIndexOids(empty.idx.subarray(0, 8 + 1024))).toEqual([]); // header and fan-out only: 0 ids, all there
    expect(packIndexOids(empty.idx.subarray(0, 8 + 1023))).toBeNull();
    const { idx, oids } = packed(3, 2);
    expect(oids).toHaveLength(3);
    expect(packIndexOids(idx.subarray(0, 8 + 1024 + 3 * 20))).toEqual(oids);
    expect(packIndexOids(idx.subarray(0, 8 + 1024 + 3 * 20 - 1))).toBeNull();
  });

  it('only version 2 is read: a version 1 index (no magic) and a version 2 index marked 3 are not', () => {
    const v1 = packed(3, 1);
    expect(packIndexOids(v1.idx)).toBeNull();
    const v2 = packed(3, 2);
    expect(packIndexOids(v2.idx)).toEqual(v2.oids);
    const v3 = Buffer.from(v2.idx);
    v3.writeUInt32BE(3, 4);
    expect(packIndexOids(v3)).toBeNull();
    const noMagic = Buffer.from(v2.idx);
    noMagic.writeUInt32BE(0xff744f64, 0);
    expect(packIndexOids(noMagic)).toBeNull();
  });
});

describe("git's quarantine, walked", () => {
  it('a loose object is exactly two hex digits, then exactly 38: longer or prefixed names are counted, never listed', () => {
    const q = tmp();
    const h38 = 'c'.repeat(38);
    for (const d of ['ab', 'xab', 'abx', 'pack']) mkdirSync(join(q, d));
    writeFileSync(join(q, 'ab', h38), Buffer.alloc(1));
    writeFileSync(join(q, 'ab', `${h38}c`), Buffer.alloc(2)); // 39 digits
    writeFileSync(join(q, 'ab', `g${h38}`), Buffer.alloc(4)); // a letter before 38 digits
    writeFileSync(join(q, 'xab', h38), Buffer.alloc(8));
    writeFileSync(join(q, 'abx', h38), Buffer.alloc(16));
    writeFileSync(join(q, 'pack', 'x.idx'), Buffer.alloc(32));
    writeFileSync(join(q, 'x.idx'), Buffer.alloc(64)); // an index outside pack/
    expect(readQuarantine(q)).toEqual({ bytes: 127, loose: [`ab${h38}`], packIndexes: [join(q, 'pack', 'x.idx')] });
  });
});

describe('the rate file', () => {
  it('at exactly its bound it is appended to; one byte past it, rewritten with the last minute', () => {
    const L = { ...DEFAULT_LIMITS, pushesPerMinute: 2 };
    const bound = 64 * (L.pushesPerMinute + 16); // 1152
    const t = 1_800_000_000_000;
    const g = tmp();
    mkdirSync(join(g, 'lsm', 'rate'), { recursive: true });
    const file = join(g, 'lsm', 'rate', 'web-1');
    const old = Array.from({ length: 82 }, (_, i) => `${t - 120_000 + i}\n`).join('') + 'old\n'; // 1148 + 4
    expect(old.length).toBe(bound);
    writeFileSync(file, old);
    expect(countPush(g, 'web-1', L, t)).toBeNull();
    expect(readFileSync(file, 'utf8')).toBe(`${old}${t}\n`);
    writeFileSync(file, `${old}x\n${t - 1000}\n`); // past the bound; one push within the minute kept
    expect(countPush(g, 'web-1', L, t + 1)).toBeNull();
    expect(readFileSync(file, 'utf8')).toBe(`${t - 1000}\n${t + 1}\n`);
    expect(readdirSync(join(g, 'lsm', 'rate'))).toEqual(['web-1']);
  });
});
