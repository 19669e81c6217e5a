// The limit arithmetic of the fleet server (limits.ts, digest.ts): at the limit is allowed, one
// past is refused and named with its key and value; the rate's window is a minute, sliding; a
// host's held changes go out once its last mail is an interval old.
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_LIMITS, countPush, humanBytes, limitsOf, overLimit, packIndexOids, rateProblem, readQuarantine, recentPushes } from '../../src/fleet/limits.js';
import { execFileSync } from 'node:child_process';
import { DIGEST_LISTED, digestHead, digestHosts, mailDue, pendingMail, readDigest, sendAfter, writeDigest } from '../../src/fleet/digest.js';
import { loadConfig } from '../../src/config.js';

const L = { ...DEFAULT_LIMITS, pushBytes: 1000, fileBytes: 2048, lines: 10, pushesPerMinute: 3 };

describe('fleet limits', () => {
  it('a value at its limit passes; one more is refused, naming the key, the limit and the value', () => {
    expect(overLimit(L, 'pushBytes', 1000, 'the push brings')).toBeNull();
    expect(overLimit(L, 'pushBytes', 1001, 'the push brings')).toBe('the push brings 1001 bytes (1001 bytes), over FLEET_MAX_PUSH_BYTES=1000 (1000 bytes)');
    expect(overLimit(L, 'fileBytes', 2049, 'host/tcp is')).toBe('host/tcp is 2049 bytes (2.0 KiB), over FLEET_MAX_FILE_BYTES=2048 (2 KiB)');
    expect(overLimit(L, 'lines', 10, 'host/tcp has')).toBeNull();
    expect(overLimit(L, 'lines', 11, 'host/tcp has')).toBe('host/tcp has 11 lines, over FLEET_MAX_LINES=10');
  });

  it('sizes read as a person does', () => {
    expect([humanBytes(0), humanBytes(1023), humanBytes(1024), humanBytes(1536), humanBytes(64 << 20), humanBytes(3 * 2 ** 30)]).toEqual(['0 bytes', '1023 bytes', '1 KiB', '1.5 KiB', '64 MiB', '3 GiB']);
  });

  it('the defaults fit a busy host (100k sockets: ~10 MB, 100k lines), and the config sets each limit', () => {
    expect(DEFAULT_LIMITS.fileBytes).toBeGreaterThanOrEqual(16 << 20);
    expect(DEFAULT_LIMITS.lines).toBeGreaterThanOrEqual(200_000);
    expect(DEFAULT_LIMITS.pushBytes).toBeGreaterThanOrEqual(DEFAULT_LIMITS.fileBytes);
    expect(DEFAULT_LIMITS.pushesPerMinute).toBeGreaterThanOrEqual(6); // a scan a minute, its baseline, retries
    const dir = mkdtempSync(join(tmpdir(), 'lsm-limits-'));
    const conf = join(dir, 'lsm.conf');
    const env = { root: false, configDir: dir, stateDir: dir };
    expect(limitsOf(loadConfig(undefined, env).config)).toEqual(DEFAULT_LIMITS);
    writeFileSync(conf, 'FLEET_MAX_PUSH_BYTES="8M"\nFLEET_MAX_FILE_BYTES="512K"\nFLEET_MAX_LINES="1000"\nFLEET_MAX_PUSHES_PER_MINUTE="2"\nFLEET_MAIL_INTERVAL="1h"\n');
    const c = loadConfig(conf, env).config;
    expect(limitsOf(c)).toEqual({ pushBytes: 8 << 20, fileBytes: 512 << 10, lines: 1000, pushesPerMinute: 2, pushCommits: 1000 });
    expect(c.fleetMailInterval).toBe(3_600_000);
    for (const [k, v] of [['FLEET_MAX_PUSH_BYTES', '0'], ['FLEET_MAX_PUSH_BYTES', '8X'], ['FLEET_MAX_LINES', '-1'], ['FLEET_MAX_PUSHES_PER_MINUTE', '0'], ['FLEET_MAIL_INTERVAL', '10']]) {
      writeFileSync(conf, `${k}="${v}"\n`);
      expect(() => loadConfig(conf, env), `${k}=${v}`).toThrow(new RegExp(`lsm.conf:1: ${k} must be`));
    }
    writeFileSync(conf, 'FLEET_MAIL_INTERVAL="0"\n');
    expect(loadConfig(conf, env).config.fleetMailInterval).toBe(0);
  });

  it('pushes a minute: a sliding window of 60 s; the third push passes, the fourth is refused until the first is a minute old', () => {
    const t = 1_800_000_000_000;
    expect(recentPushes(`${t - 60_000}\n${t - 59_999}\n${t}\n${t + 1}\ngarbage\n`, t)).toEqual([t - 59_999, t]);
    expect(rateProblem(L, [t - 3000, t - 2000], t)).toBeNull();
    expect(rateProblem(L, [t - 3000, t - 2000, t - 1000], t)).toBe('4 pushes in a minute, over FLEET_MAX_PUSHES_PER_MINUTE=3; try again in 57s');
    const gitdir = mkdtempSync(join(tmpdir(), 'lsm-rate-'));
    for (let i = 0; i < 3; i++) expect(countPush(gitdir, 'web-1', L, t + i)).toBeNull();
    expect(countPush(gitdir, 'web-1', L, t + 3)).toMatch(/^4 pushes in a minute, over FLEET_MAX_PUSHES_PER_MINUTE=3; try again in 60s$/);
    expect(countPush(gitdir, 'web-2', L, t + 3)).toBeNull(); // per host
    expect(countPush(gitdir, 'web-1', L, t + 59_999)).not.toBeNull(); // a refusal is not counted, the window slides
    expect(countPush(gitdir, 'web-1', L, t + 60_000)).toBeNull();
    // the file is pruned to the last minute when it grows: a host pushing for days keeps it small
    for (let i = 0; i < 1000; i++) countPush(gitdir, 'web-3', L, t + i * 30_000);
    expect(readFileSync(join(gitdir, 'lsm', 'rate', 'web-3'), 'utf8').length).toBeLessThan(64 * (L.pushesPerMinute + 16) + 20);
  });

  it('a quarantine counts every file it holds, and lists loose objects and pack indexes', () => {
    const q = mkdtempSync(join(tmpdir(), 'lsm-quarantine-'));
    mkdirSync(join(q, 'ab'));
    mkdirSync(join(q, 'pack'));
    writeFileSync(join(q, 'ab', 'c'.repeat(38)), Buffer.alloc(100));
    writeFileSync(join(q, 'pack', 'pack-1.pack'), Buffer.alloc(1000));
    writeFileSync(join(q, 'pack', 'pack-1.idx'), Buffer.alloc(50));
    expect(readQuarantine(q)).toEqual({ bytes: 1150, loose: [`ab${'c'.repeat(38)}`], packIndexes: [join(q, 'pack', 'pack-1.idx')] });
    expect(readQuarantine(join(q, 'none'))).toEqual({ bytes: 0, loose: [], packIndexes: [] });
  });

  it("a pack index's object ids are git's own (git show-index)", () => {
    const g = join(mkdtempSync(join(tmpdir(), 'lsm-idx-')), 'x.git');
    execFileSync('git', ['init', '-q', '--bare', g]);
    const files = Array.from({ length: 300 }, (_, i) => { const f = join(g, `blob-${i}`); writeFileSync(f, `blob ${i}\n`); return f; });
    const blobs = execFileSync('git', ['--git-dir', g, 'hash-object', '-w', ...files], { encoding: 'utf8' }).trim().split('\n');
    const name = execFileSync('git', ['--git-dir', g, 'pack-objects', join(g, 'objects', 'pack', 'pack')], { input: blobs.join('\n') + '\n', encoding: 'utf8' }).trim();
    const idx = readFileSync(join(g, 'objects', 'pack', `pack-${name}.idx`));
    const git = execFileSync('git', ['show-index'], { input: idx, encoding: 'utf8' }).trim().split('\n').map((l) => l.split(' ')[1]);
    expect(packIndexOids(idx)).toEqual(git);
    expect(new Set(git)).toEqual(new Set(blobs));
    expect(packIndexOids(Buffer.from('not an index'))).toBeNull();
    expect(packIndexOids(idx.subarray(0, 2000))).toBeNull();
  });
});

describe('fleet central mail pace', () => {
  it('held changes go out once the last mail is an interval old, or at once when there was none', () => {
    const held = [{ oid: 'a'.repeat(40), t: 5 }];
    expect(mailDue({ lastMail: null, held }, 600_000, 0)).toBe(true);
    expect(mailDue({ lastMail: 1000, held }, 600_000, 600_999)).toBe(false);
    expect(mailDue({ lastMail: 1000, held }, 600_000, 601_000)).toBe(true);
    expect(mailDue({ lastMail: 1000, held: [] }, 600_000, 10e9)).toBe(false);
    expect(mailDue({ lastMail: 1000, held }, 0, 1000)).toBe(true);
    expect(sendAfter({ lastMail: 1000, held }, 600_000)).toBe(601_000);
  });

  it('the held state is kept per host and shown as pending', () => {
    const gitdir = mkdtempSync(join(tmpdir(), 'lsm-digest-'));
    expect(readDigest(gitdir, 'web-1')).toEqual({ lastMail: null, held: [] });
    writeDigest(gitdir, 'web-1', { lastMail: 1000, held: [{ oid: 'a'.repeat(40), t: 2000 }, { oid: 'b'.repeat(40), t: 3000 }] });
    writeDigest(gitdir, 'web-2', { lastMail: 1000, held: [] });
    expect(digestHosts(gitdir)).toEqual(['web-1', 'web-2']);
    expect(pendingMail(gitdir, 60_000)).toEqual([{ host: 'web-1', changes: 2, oldest: new Date(2000).toISOString(), sendAfter: new Date(61_000).toISOString() }]);
  });

  it(`a digest names every change up to ${DIGEST_LISTED}, then counts the rest with the command that lists them`, () => {
    const stamp = (ms: number) => String(ms);
    const held = Array.from({ length: DIGEST_LISTED + 5 }, (_, i) => ({ oid: i.toString(16).padStart(40, '0'), t: 1000 + i, summary: `+1 -0: host/tcp +1 #${i}` }));
    const head = digestHead('web-1', held, '10m', stamp);
    expect(head[0]).toBe(`lsm on web-1 pushed ${DIGEST_LISTED + 5} changes from 1000 to ${1000 + DIGEST_LISTED + 4}, held for one mail (at most one a host every FLEET_MAIL_INTERVAL=10m):`);
    expect(head.filter((l) => /^  \d+  [0-9a-f]{10}  \+1 -0/.test(l))).toHaveLength(DIGEST_LISTED);
    expect(head).toContain(`  ... and 5 more changes not listed (all of them: lsm fleet log --host web-1 --since ${new Date(1000).toISOString()})`);
  });
});
