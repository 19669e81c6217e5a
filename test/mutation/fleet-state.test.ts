// The central repository's small state files and the git runner, in-process on real directories
// and the real git binary: held changes (digest.ts) read back whatever is on disk, the drain's
// problems (central-state.ts) kept with the time they began, the quarantine walk (limits.ts)
// counting what git's quarantine holds, and git's output and errors (git-run.ts) as the guard and
// the drain read them.
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { centralFailing, recordCentralProblems } from '../../src/fleet/central-state.js';
import { digestHosts, readDigest, writeDigest } from '../../src/fleet/digest.js';
import { batchObjects, gitOut, runGit } from '../../src/fleet/git-run.js';
import { DEFAULT_LIMITS, countPush, readQuarantine, recentPushes, rateProblem } from '../../src/fleet/limits.js';

const tmps: string[] = [];
afterEach(() => { for (const d of tmps.splice(0)) rmSync(d, { recursive: true, force: true }); });
const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'lsm-mstate-')); tmps.push(d); return d; };

describe('held changes on disk', () => {
  it('reads back what is there; what is damaged or of the wrong shape is said (65, naming the file), never read as nothing held', () => {
    const g = tmp();
    const dir = join(g, 'lsm', 'digest');
    mkdirSync(dir, { recursive: true });
    expect(readDigest(g, 'web-1')).toEqual({ lastMail: null, held: [] }); // none yet
    for (const bad of ['{"lastMail":"yesterday","held":{"a":1}}', '{"lastMail":5', '{"lastMail":0,"held":[{"oid":"x","t":1}]}']) {
      writeFileSync(join(dir, 'web-1.json'), bad);
      expect(() => readDigest(g, 'web-1'), bad).toThrow(expect.objectContaining({ code: 'Damaged', message: expect.stringContaining(`${join(dir, 'web-1.json')} is damaged`) }));
    }
    const oid = 'a'.repeat(40);
    writeFileSync(join(dir, 'web-1.json'), `{"lastMail":0,"held":[{"oid":"${oid}","t":1}]}`);
    expect(readDigest(g, 'web-1')).toEqual({ lastMail: 0, held: [{ oid, t: 1 }] });
    // hosts are the files named <host id>.json; a write in progress, or another name, is not one
    for (const n of ['.web-2.123.tmp', 'web-3.json.tmp', '-x.json', 'web-4.txt', '.json']) writeFileSync(join(dir, n), '{}');
    writeDigest(g, 'db-1', { lastMail: 7, held: [] });
    expect(digestHosts(g)).toEqual(['db-1', 'web-1']);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp') && n.startsWith('.db-1'))).toEqual([]);
    expect(JSON.parse(readFileSync(join(dir, 'db-1.json'), 'utf8'))).toEqual({ lastMail: 7, held: [] });
    expect(digestHosts(join(g, 'none'))).toEqual([]);
  });
});

describe("the drain's problems, kept for fleet status", () => {
  it('kept with the time they began (a later failing run keeps it), at most 20, and forgotten by a run without any', () => {
    const g = tmp();
    mkdirSync(join(g, 'lsm'));
    expect(centralFailing(g)).toBeNull();
    recordCentralProblems(g, ['one'], 1000);
    expect(centralFailing(g)).toEqual({ since: 1000, problems: ['one'] });
    const many = Array.from({ length: 25 }, (_, i) => `p${i}`);
    recordCentralProblems(g, many, 2000);
    expect(centralFailing(g)).toEqual({ since: 1000, problems: many.slice(0, 20) });
    expect(readdirSync(join(g, 'lsm'))).toEqual(['central-failing']); // no temporary file left
    recordCentralProblems(g, [], 3000);
    expect(centralFailing(g)).toBeNull();
    recordCentralProblems(g, [], 3000); // nothing to forget: still fine
    recordCentralProblems(g, ['two'], 4000);
    expect(centralFailing(g)).toEqual({ since: 4000, problems: ['two'] });
    // lsm/ not there: nothing kept, nothing thrown (the caller's own report says)
    expect(() => recordCentralProblems(join(g, 'none'), ['x'], 5000)).not.toThrow();
    expect(centralFailing(join(g, 'none'))).toBeNull();
  });
});

describe("git's quarantine, walked", () => {
  it('every file counted; loose objects are two hex digits then 38; pack indexes only in pack/; links not followed into', () => {
    const q = tmp();
    mkdirSync(join(q, 'ab'));
    mkdirSync(join(q, 'pack'));
    mkdirSync(join(q, 'info'));
    writeFileSync(join(q, 'ab', 'c'.repeat(38)), Buffer.alloc(10));
    writeFileSync(join(q, 'ab', 'c'.repeat(37)), Buffer.alloc(20)); // not an object name: counted, not listed
    writeFileSync(join(q, 'ab', 'C'.repeat(38)), Buffer.alloc(30));
    mkdirSync(join(q, 'zz'));
    writeFileSync(join(q, 'zz', 'd'.repeat(38)), Buffer.alloc(40));
    writeFileSync(join(q, 'pack', 'pack-1.idx'), Buffer.alloc(50));
    writeFileSync(join(q, 'pack', 'pack-1.idx.bak'), Buffer.alloc(60));
    writeFileSync(join(q, 'info', 'x.idx'), Buffer.alloc(70)); // an .idx outside pack/
    symlinkSync('/nonexistent', join(q, 'pack', 'dangling'));
    const r = readQuarantine(q);
    expect(r).toEqual({ bytes: 10 + 20 + 30 + 40 + 50 + 60 + 70, loose: [`ab${'c'.repeat(38)}`], packIndexes: [join(q, 'pack', 'pack-1.idx')] });
  });

  it('the rate file: concurrent lines appended, garbage ignored; the wait rounds up and is at least a second', () => {
    const g = tmp();
    const L = { ...DEFAULT_LIMITS, pushesPerMinute: 2 };
    const t = 1_800_000_000_000;
    expect(recentPushes('', t)).toEqual([]);
    expect(rateProblem(L, [t - 59_999, t - 1000], t)).toBe('3 pushes in a minute, over FLEET_MAX_PUSHES_PER_MINUTE=2; try again in 1s');
    expect(rateProblem(L, [t - 58_500, t - 1000], t)).toBe('3 pushes in a minute, over FLEET_MAX_PUSHES_PER_MINUTE=2; try again in 2s');
    expect(rateProblem(L, [t - 1], t)).toBeNull();
    expect(countPush(g, 'web-1', L, t)).toBeNull();
    expect(readFileSync(join(g, 'lsm', 'rate', 'web-1'), 'utf8')).toBe(`${t}\n`);
    // within its bound (64 bytes a line allowed, for the limit and 16 more): appended to
    const old = Array.from({ length: 82 }, (_, i) => `${t - 120_000 + i}\n`).join('');
    expect(old.length).toBe(1148);
    writeFileSync(join(g, 'lsm', 'rate', 'web-1'), old);
    expect(countPush(g, 'web-1', L, t + 1)).toBeNull();
    expect(readFileSync(join(g, 'lsm', 'rate', 'web-1'), 'utf8')).toBe(`${old}${t + 1}\n`);
    // grown past its bound: rewritten with the last minute only (and this push)
    writeFileSync(join(g, 'lsm', 'rate', 'web-1'), Array.from({ length: 100 }, (_, i) => `${t - 120_000 + i}\n`).join(''));
    expect(countPush(g, 'web-1', L, t + 2)).toBeNull();
    expect(readFileSync(join(g, 'lsm', 'rate', 'web-1'), 'utf8')).toBe(`${t + 2}\n`);
    expect(readdirSync(join(g, 'lsm', 'rate'))).toEqual(['web-1']);
  });
});

describe('git in the central repository', () => {
  it("output, exit code and git's first line of complaint; a missing object in a batch", () => {
    const g = join(tmp(), 'x.git');
    execFileSync('git', ['init', '--quiet', '--bare', g]);
    const blob = execFileSync('git', ['--git-dir', g, 'hash-object', '-w', '--stdin'], { input: 'hello\n', encoding: 'utf8' }).trim();
    expect(gitOut(g, ['cat-file', '-p', blob]).toString()).toBe('hello\n');
    const bad = runGit(g, ['cat-file', '-p', 'f'.repeat(40)]);
    expect(bad.code).toBe(128);
    expect(bad.tooBig).toBe(false);
    expect(() => gitOut(g, ['cat-file', '-p', 'f'.repeat(40)])).toThrow(`git cat-file failed in ${g}: fatal: Not a valid object name ${'f'.repeat(40)}`);
    expect(() => gitOut(g, ['rev-parse', '--verify', '--quiet', 'nothing'])).toThrow(`git rev-parse failed in ${g}: exit 1`);
    const big = runGit(g, ['cat-file', '-p', blob], undefined, 3);
    expect(big.tooBig).toBe(true);
    expect(big.code).toBe(-1);
    const objects = batchObjects(gitOut(g, ['cat-file', '--batch'], `${blob}\n${'e'.repeat(40)}\n${blob}\n`));
    expect(objects.map((o) => [o.oid, o.type, o.size, o.body.toString()])).toEqual([[blob, 'blob', 6, 'hello\n'], ['e'.repeat(40), 'missing', 0, ''], [blob, 'blob', 6, 'hello\n']]);
    expect(batchObjects(Buffer.from('no newline'))).toEqual([]);
    // runs in the repository given, whatever the caller's directory holds
    chmodSync(g, 0o755);
    expect(runGit(g, ['rev-parse', '--git-dir']).out.toString().trim()).toBe(g);
  });
});
