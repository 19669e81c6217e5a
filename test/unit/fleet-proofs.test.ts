// The fleet index's proofs (src/fleet/index-key.ts): every per-host file and shard carries an
// HMAC keyed with lsm/index.key, and `lsm fleet verify` checks them against the refs and the bytes
// instead of re-deriving every host from git. On a small real fleet written by the bench's
// generator: each kind of corruption is found, a missing or unfit key is a one-line error, the key
// is never served by git http-backend, and reindex's reuse of proven files gives a from-scratch build's bytes.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
// @ts-expect-error: a plain .mjs of the bench, untyped
import { generateFleet } from '../../bench/fleet-gen.mjs';
import { fleetRefs, recordPush, reindex, updateHostIndex, verifyIndex } from '../../src/fleet/catalog.js';
import { KEY_FILE } from '../../src/fleet/index-key.js';
import { initServer } from '../../src/fleet/server.js';
import { shardOf } from '../../src/fleet/shards.js';
import { LsmError } from '../../src/errors.js';

const HOSTS = 24;
const CHANGES = 20;
const NOW = Date.parse('2026-12-01T00:00:00Z');
const BIN = new URL('../../bin/lsm', import.meta.url).pathname;
const git = (gitdir: string, args: string[]) => execFileSync('git', ['--git-dir', gitdir, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });

async function fleet(): Promise<string> {
  const gitdir = mkdtempSync(join(tmpdir(), 'lsm-fleet-proofs-'));
  git(gitdir, ['init', '--quiet', '--bare']);
  await generateFleet(gitdir, HOSTS, CHANGES, NOW);
  await reindex(gitdir);
  return gitdir;
}
const hosts = (gitdir: string) => [...fleetRefs(gitdir).tips.keys()].sort();
const file = (gitdir: string, part: string, host: string) => join(gitdir, 'lsm', 'index', part, `${host}.json`);
const shard = (gitdir: string, n: number) => join(gitdir, 'lsm', 'index', 'shards', `${n}.idx`);
/** Every file of the index, path -> bytes' SHA-256. */
const snapshot = (gitdir: string) => {
  const out: Record<string, string> = {};
  const walk = (d: string) => { for (const n of readdirSync(d, { withFileTypes: true })) n.isDirectory() ? walk(join(d, n.name)) : (out[join(d, n.name).slice(gitdir.length)] = createHash('sha256').update(readFileSync(join(d, n.name))).digest('hex')); };
  walk(join(gitdir, 'lsm', 'index'));
  return out;
};
/** A part's body edited and its SHA-256 made right again: only the HMAC can tell. */
function forge(path: string, edit: (body: string) => string): void {
  const text = readFileSync(path, 'utf8');
  const nl = text.indexOf('\n');
  const body = edit(text.slice(nl + 1));
  expect(body).not.toBe(text.slice(nl + 1));
  writeFileSync(path, `${text.slice(0, nl).replace(/"sha256":"[0-9a-f]{64}"/, `"sha256":"${createHash('sha256').update(body).digest('hex')}"`)}\n${body}`);
}
/** One more commit on a host's branch (host/tcp with one line more), pushed and indexed as the drain does. */
function push(gitdir: string, host: string, line: string, t: number): void {
  const tip = git(gitdir, ['rev-parse', `refs/heads/hosts/${host}`]).trim();
  const text = git(gitdir, ['show', `${tip}:host/tcp`]) + `${line}\n`;
  execFileSync('git', ['--git-dir', gitdir, 'fast-import', '--quiet'], { input: `commit refs/heads/hosts/${host}\ncommitter lsm <lsm@${host}> ${t} +0000\ndata 6\nchange\nfrom ${tip}\nM 100644 inline host/tcp\ndata ${Buffer.byteLength(text)}\n${text}\n` });
  const now = git(gitdir, ['rev-parse', `refs/heads/hosts/${host}`]).trim();
  recordPush(gitdir, { t: t * 1000 + 5, host, old: tip, new: now, user: host });
  updateHostIndex(gitdir, host, now, t * 1000 + 5, null);
}

describe('fleet index proofs', { timeout: 300_000 }, () => {
  it('verify finds every kind of corruption from the proofs alone (and --full agrees); reindex repairs it', async () => {
    const gitdir = await fleet();
    const key = statSync(join(gitdir, KEY_FILE));
    expect([key.mode & 0o777, key.size]).toEqual([0o600, 32]);
    expect(await verifyIndex(gitdir)).toEqual([]);
    expect(await verifyIndex(gitdir, { full: true })).toEqual([]);
    const [a, b, c] = hosts(gitdir);
    const good = snapshot(gitdir);
    const notProven = (part: string, host: string) => `hosts/${host}: lsm/index/${part}/${host}.json is not proven (its HMAC does not hold: edited by hand, another host's, or written without this repository's key)`;
    const damaged = (part: string, host: string) => `hosts/${host}: lsm/index/${part}/${host}.json is damaged (its header or checksum does not hold)`;
    const cases: [string, () => void, string[]][] = [
      ['a port changed in now/', () => { const p = file(gitdir, 'now', a); writeFileSync(p, readFileSync(p, 'utf8').replace(/0\.0\.0\.0:22 /, '0.0.0.0:23 ')); }, [damaged('now', a)]],
      ['a port changed in now/, its checksum made right', () => forge(file(gitdir, 'now', a), (t) => t.replace(/0\.0\.0\.0:22 /, '0.0.0.0:23 ')), [notProven('now', a)]],
      ['a count changed in changes/, its checksum made right', () => forge(file(gitdir, 'changes', b), (t) => t.replace(/,"change",(\d+),/, (_m, n) => `,"change",${Number(n) + 1},`)), [notProven('changes', b)]],
      ['a line changed in history/, its checksum made right', () => forge(file(gitdir, 'history', c), (t) => t.replace(/0\.0\.0\.0:22 /, '0.0.0.0:23 ')), [notProven('history', c)]],
      ["another host's file put in a host's place", () => copyFileSync(file(gitdir, 'now', a), file(gitdir, 'now', b)), [notProven('now', b)]],
      ['a host file truncated', () => truncateSync(file(gitdir, 'changes', c), 100), [damaged('changes', c)]],
      ['a host file removed', () => rmSync(file(gitdir, 'history', a)), [`hosts/${a}: not indexed (lsm/index/history/${a}.json missing)`]],
      ['a shard truncated', () => { const p = shard(gitdir, shardOf(a)); truncateSync(p, statSync(p).size - 10); }, [`lsm/index/shards/${shardOf(a)}.idx is damaged (its header or a checksum does not hold)`]],
      ['bytes added after a shard', () => writeFileSync(shard(gitdir, shardOf(a)), Buffer.concat([readFileSync(shard(gitdir, shardOf(a))), Buffer.from('[]')])), [`lsm/index/shards/${shardOf(a)}.idx is damaged (bytes after its last section)`]],
      ["another shard put in a shard's place", () => copyFileSync(shard(gitdir, shardOf(hosts(gitdir).find((h) => shardOf(h) !== shardOf(a))!)), shard(gitdir, shardOf(a))), [`lsm/index/shards/${shardOf(a)}.idx is not proven (its HMAC does not hold: edited by hand, another shard, or written without this repository's key)`]],
    ];
    for (const [what, corrupt, expected] of cases) {
      corrupt();
      expect(await verifyIndex(gitdir), what).toEqual(expected);
      expect(await verifyIndex(gitdir, { full: true }), what).toEqual(expected);
      expect((await reindex(gitdir)).hosts, what).toBe(HOSTS);
      expect(snapshot(gitdir), what).toEqual(good);
    }
    // a file replayed: a host's old (proven) files put back after its branch moved on
    const old = ['history', 'changes', 'now'].map((p) => readFileSync(file(gitdir, p, a)));
    push(gitdir, a, '0.0.0.0:5555  evil  root  /tmp/evil', NOW / 1000 + 60);
    expect(await verifyIndex(gitdir)).toEqual([]);
    ['history', 'changes', 'now'].forEach((p, i) => writeFileSync(file(gitdir, p, a), old[i]));
    const tip = fleetRefs(gitdir).tips.get(a)!.slice(0, 10);
    const stale = ['history', 'changes', 'now'].map((p) => `hosts/${a}: lsm/index/${p}/${a}.json was built from another tip than the branch's ${tip}`);
    expect(await verifyIndex(gitdir)).toEqual(stale);
    expect(await verifyIndex(gitdir, { full: true })).toEqual(stale);
    // and with its tip written over by hand, its proof does not hold
    const p = file(gitdir, 'history', a);
    writeFileSync(p, readFileSync(p, 'utf8').replace(/"tip":"[0-9a-f]{40}"/, `"tip":"${fleetRefs(gitdir).tips.get(a)}"`));
    expect((await verifyIndex(gitdir))[0]).toBe(notProven('history', a));
  });

  it('a missing or unfit key: verify fails in one line (never agrees); reindex makes a missing one', async () => {
    const gitdir = await fleet();
    const keyPath = join(gitdir, KEY_FILE);
    const before = readFileSync(keyPath);
    const cli = () => spawnSync(BIN, ['fleet', 'verify', '--fleet', gitdir], { encoding: 'utf8' });
    expect(cli().status).toBe(0);
    const unfit: [string, () => void, RegExp][] = [
      ['missing', () => rmSync(keyPath), /has no key \(lsm\/index\.key is missing\)/],
      ['readable by others', () => chmodSync(keyPath, 0o644), /must be mode 0600/],
      ['short', () => writeFileSync(keyPath, 'x', { mode: 0o600 }), /is not a file of 32 bytes/],
      ['a directory', () => { rmSync(keyPath); mkdirSync(keyPath, { mode: 0o700 }); }, /is not a file of 32 bytes/],
      ['a symbolic link', () => { rmSync(keyPath); writeFileSync(`${keyPath}.real`, before, { mode: 0o600 }); symlinkSync(`${keyPath}.real`, keyPath); }, /cannot read the fleet index key/],
    ];
    for (const [what, spoil, message] of unfit) {
      spoil();
      await expect(verifyIndex(gitdir), what).rejects.toThrow(LsmError);
      await expect(verifyIndex(gitdir, { full: true }), what).rejects.toThrow(message);
      const r = cli();
      expect(r.status, what).not.toBe(0);
      expect(r.stdout, what).toBe('');
      expect(r.stderr.trim().split('\n'), what).toEqual([expect.stringMatching(message)]);
      rmSync(keyPath, { recursive: true, force: true });
      rmSync(`${keyPath}.real`, { force: true });
      writeFileSync(keyPath, before, { mode: 0o600 });
      expect(await verifyIndex(gitdir), what).toEqual([]);
    }
    // a new key: every file unproven (verify says so), then reindex reads every host from git again
    rmSync(keyPath);
    expect((await reindex(gitdir)).fromGit).toBe(HOSTS);
    expect(readFileSync(keyPath)).not.toEqual(before);
    expect(await verifyIndex(gitdir)).toEqual([]);
  });

  it("reindex reuses proven files: the same bytes as reindex --full and as a build from scratch; a file that fails its proof is read from git", async () => {
    const gitdir = await fleet();
    const [a, b] = hosts(gitdir);
    // the drain's incremental updates, and pushes recorded after an index was made at the tip
    push(gitdir, a, '0.0.0.0:5555  evil  root  /tmp/evil', NOW / 1000 + 60);
    push(gitdir, b, '0.0.0.0:5556  evil  root  /tmp/evil', NOW / 1000 + 120);
    recordPush(gitdir, { t: NOW + 500_000, host: a, old: fleetRefs(gitdir).tips.get(a)!, new: fleetRefs(gitdir).tips.get(a)!, user: a });
    expect(await reindex(gitdir)).toEqual({ hosts: HOSTS, fromGit: 0, movedAside: [] });
    const reused = snapshot(gitdir);
    expect(await reindex(gitdir, { full: true })).toEqual({ hosts: HOSTS, fromGit: HOSTS, movedAside: [] });
    expect(snapshot(gitdir)).toEqual(reused);
    rmSync(join(gitdir, 'lsm', 'index'), { recursive: true });
    expect(await reindex(gitdir)).toEqual({ hosts: HOSTS, fromGit: HOSTS, movedAside: [] });
    expect(snapshot(gitdir)).toEqual(reused);
    // a history file edited with its checksum made right is not reused: git reads that host
    forge(file(gitdir, 'history', a), (t) => t.replace(/0\.0\.0\.0:22 /, '0.0.0.0:23 '));
    expect(await reindex(gitdir)).toEqual({ hosts: HOSTS, fromGit: 1, movedAside: [] });
    expect(snapshot(gitdir)).toEqual(reused);
    expect(await verifyIndex(gitdir)).toEqual([]);
    // the command rebuilds the shards in worker threads (this test, from the sources, in one): the same bytes from
    // scratch, from reused files and from git, and a worker's failure is the command's (one line, exit 1)
    const lsm = (args: string[]) => spawnSync(BIN, ['fleet', ...args, '--fleet', gitdir], { encoding: 'utf8' });
    rmSync(join(gitdir, 'lsm', 'index'), { recursive: true });
    for (const args of [['reindex'], ['reindex'], ['reindex', '--full']]) {
      const r = lsm(args);
      expect([r.status, r.stdout, r.stderr], args.join(' ')).toEqual([0, `${HOSTS} hosts indexed\n`, '']);
      expect(snapshot(gitdir), args.join(' ')).toEqual(reused);
    }
    const tip = fleetRefs(gitdir).tips.get(b)!;
    const loose = join(gitdir, 'objects', tip.slice(0, 2), tip.slice(2));
    execFileSync('git', ['--git-dir', gitdir, 'cat-file', 'commit', tip]); // there, loose (fast-import wrote it so)
    rmSync(loose);
    const r = lsm(['reindex', '--full']);
    expect([r.status, r.stderr.trim().split('\n')], 'a commit missing').toEqual([1, [expect.stringMatching(/^lsm: git log failed in .*: fatal: bad object/)]]);
  });

  it('fleet init makes the key (0600); git http-backend, as the printed configuration runs it, never serves it', () => {
    const root = mkdtempSync(join(tmpdir(), 'lsm-fleet-proofs-init-'));
    const dir = join(root, 'fleet.git');
    initServer(dir, { listen: '127.0.0.1', port: 8080, htpasswd: join(root, 'htpasswd') });
    const key = statSync(join(dir, KEY_FILE));
    expect([key.isFile(), key.mode & 0o777, key.size]).toEqual([true, 0o600, 32]);
    const get = (path: string) => spawnSync('git', ['http-backend'], { encoding: 'latin1', env: { PATH: process.env.PATH, GIT_PROJECT_ROOT: dirname(dir), GIT_HTTP_EXPORT_ALL: '', REQUEST_METHOD: 'GET', PATH_INFO: `/${basename(dir)}/${path}`, REMOTE_USER: 'web-1' } }).stdout;
    expect(get('HEAD')).toMatch(/^Content-Type: text\/plain/m); // served: the check can tell
    for (const path of [KEY_FILE, `objects/../${KEY_FILE}`, 'lsm/index']) {
      const out = get(path);
      expect(out, path).toMatch(/^Status: [45]\d\d /);
      expect(out, path).not.toContain(readFileSync(join(dir, KEY_FILE)).toString('latin1'));
    }
  });
});
