// The guard (pre-receive) in-process against real git, for what test/unit/fleet-guard.test.ts does
// not reach: the fast-forward rule (a fork, a rewind, a fork of two commits), whose branch a user
// may push (lsm/users), the baselines' own rules, and the limits the guard applies to the push as a
// whole: the rate (counted only for updates the user may make), the bytes of git's quarantine and
// the objects in it the new tips do not reach. The quarantine is made as receive-pack makes it: the
// pushed objects in a directory of their own (GIT_OBJECT_DIRECTORY), the repository as alternate.
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LIMIT, ZERO, guard, mayPush, parseUpdates, readUserMap, type RefUpdate } from '../../src/fleet/guard.js';
import { DEFAULT_LIMITS, type FleetLimits } from '../../src/fleet/limits.js';

const SSHD = '0.0.0.0:22  sshd  root  /usr/sbin/sshd\n';
type File = [mode: string, path: string, body: string | Buffer];
const valid = (tcp = SSHD): File[] => [['100644', 'host/tcp', tcp], ...['udp', 'raw', 'packet', 'unix'].map((k): File => ['100644', `host/${k}`, ''])];
const tmps: string[] = [];
afterEach(() => { for (const d of tmps.splice(0)) rmSync(d, { recursive: true, force: true }); });

/** A commit of FILES on top of PARENT, left unreferenced as pushed objects are (written where GIT_OBJECT_DIRECTORY says). */
function pushed(gitdir: string, files: File[], parent?: string, t = 0): string {
  const chunks: Buffer[] = [Buffer.from(`commit refs/incoming/x\ncommitter lsm <lsm@h> ${1_790_000_000 + t} +0000\ndata 6\nchange\n`)];
  if (parent) chunks.push(Buffer.from(`from ${parent}\n`));
  chunks.push(Buffer.from('deleteall\n'));
  for (const [mode, path, body] of files) {
    const b = Buffer.from(body);
    chunks.push(Buffer.from(`M ${mode} inline ${JSON.stringify(path)}\ndata ${b.length}\n`), b, Buffer.from('\n'));
  }
  execFileSync('git', ['--git-dir', gitdir, 'fast-import', '--quiet'], { input: Buffer.concat(chunks) });
  const id = execFileSync('git', ['--git-dir', gitdir, 'rev-parse', 'refs/incoming/x'], { encoding: 'utf8' }).trim();
  execFileSync('git', ['--git-dir', gitdir, 'update-ref', '-d', 'refs/incoming/x']);
  return id;
}

function server(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-mguard-'));
  tmps.push(dir);
  const gitdir = join(dir, 'fleet.git');
  execFileSync('git', ['init', '--quiet', '--bare', gitdir]);
  return gitdir;
}
const land = (gitdir: string, ref: string, id: string) => execFileSync('git', ['--git-dir', gitdir, 'update-ref', ref, id]);
const NO_RATE: FleetLimits = { ...DEFAULT_LIMITS, pushesPerMinute: 1e6 };
const up = (old: string, id: string, host = 'web-1'): RefUpdate => ({ old, new: id, ref: `refs/heads/hosts/${host}` });
const base = (old: string, id: string, host = 'web-1'): RefUpdate => ({ old, new: id, ref: `refs/heads/baselines/${host}` });

/** Run fn as inside receive-pack: new objects go to a quarantine directory, the repository's are its alternate. */
function inQuarantine<T>(gitdir: string, fn: (q: string) => T): T {
  const q = join(gitdir, 'objects', `tmp_objdir-incoming-${process.pid}`);
  mkdirSync(join(q, 'pack'), { recursive: true });
  // (not GIT_QUARANTINE_PATH: git would refuse the ref this file's fast-import makes; the guard is given q)
  const keys = ['GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES'] as const;
  const saved = keys.map((k) => process.env[k]);
  Object.assign(process.env, { GIT_OBJECT_DIRECTORY: q, GIT_ALTERNATE_OBJECT_DIRECTORIES: join(gitdir, 'objects') });
  try { return fn(q); } finally {
    keys.forEach((k, i) => { if (saved[i] === undefined) delete process.env[k]; else process.env[k] = saved[i]; });
  }
}

const NON_FF = (old: string, id: string) => `refused refs/heads/hosts/web-1: non-fast-forward (${old.slice(0, 10)} is not an ancestor of ${id.slice(0, 10)}): the fleet history is append-only, rewritten history is refused`;

describe('fleet guard: the fast-forward rule', () => {
  it('refuses a fork (a new snapshot on top of an older one), a rewind, and a fork of two commits; accepts a heartbeat and a fast-forward', () => {
    const g = server();
    const a = pushed(g, valid());
    const b = pushed(g, valid(SSHD + '0.0.0.0:80  nginx  root  /n\n'), a, 1);
    land(g, 'refs/heads/hosts/web-1', b);
    const forked = pushed(g, valid(SSHD + '0.0.0.0:81  nginx  root  /n\n'), a, 2); // its parent is a, the server has b
    expect(guard(g, [up(b, forked)], 'web-1', undefined, { limits: NO_RATE })).toEqual([NON_FF(b, forked)]);
    // two commits, the second's parent the first: a chain, but not from the server's tip
    const forked2 = pushed(g, valid(SSHD + '0.0.0.0:82  nginx  root  /n\n'), forked, 3);
    expect(guard(g, [up(b, forked2)], 'web-1', undefined, { limits: NO_RATE })).toEqual([NON_FF(b, forked2)]);
    expect(guard(g, [up(b, a)], 'web-1', undefined, { limits: NO_RATE })).toEqual([NON_FF(b, a)]); // moved back
    const root = pushed(g, valid(), undefined, 4); // an unrelated history
    expect(guard(g, [up(b, root)], 'web-1', undefined, { limits: NO_RATE })).toEqual([NON_FF(b, root)]);
    expect(guard(g, [up(b, b)], 'web-1', undefined, { limits: NO_RATE })).toEqual([]); // a heartbeat
    const c = pushed(g, valid(SSHD + '0.0.0.0:83  nginx  root  /n\n'), b, 5);
    const d = pushed(g, valid(), c, 6);
    expect(guard(g, [up(b, d)], 'web-1', undefined, { limits: NO_RATE })).toEqual([]);
  });

  it('a fast-forward to a commit another branch has already (no new commits) is accepted; one behind it is not', () => {
    const g = server();
    const a = pushed(g, valid());
    const b = pushed(g, valid(SSHD + '0.0.0.0:80  nginx  root  /n\n'), a, 1);
    land(g, 'refs/heads/hosts/web-1', a);
    land(g, 'refs/heads/hosts/web-2', b);
    expect(guard(g, [up(a, b)], 'web-1', undefined, { limits: NO_RATE })).toEqual([]);
    land(g, 'refs/heads/hosts/web-1', b);
    expect(guard(g, [up(b, a)], 'web-1', undefined, { limits: NO_RATE })).toEqual([NON_FF(b, a)]);
  });

  it('a first push needs no ancestor, but the commits any ref has already are not its to bring again', () => {
    const g = server();
    const a = pushed(g, valid());
    land(g, 'refs/heads/hosts/web-2', a);
    // web-1 starts from web-2's history: nothing new to check, accepted
    expect(guard(g, [up(ZERO, a)], 'web-1', undefined, { limits: NO_RATE })).toEqual([]);
    // a first push of a history whose root lacks the host's files is refused
    const bare = pushed(g, [['100644', 'host/tcp', SSHD]], undefined, 1);
    expect(guard(g, [up(ZERO, bare, 'web-3')], 'web-3', undefined, { limits: NO_RATE })).toEqual([`refused refs/heads/hosts/web-3: commit ${bare.slice(0, 10)}: not an lsm snapshot: host/udp, host/raw, host/packet, host/unix missing`]);
  });
});

/**
 * Run fn with every git the guard starts going through a wrapper first in PATH that notes its
 * subcommand and runs the real git: which gits a push costs (each is time the host waits).
 */
function gitsRun<T>(fn: () => T): { result: T; gits: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-mguard-path-'));
  tmps.push(dir);
  const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  writeFileSync(join(dir, 'git'), `#!/bin/sh\necho "$1" >> '${dir}/log'\nexec '${real}' "$@"\n`, { mode: 0o755 });
  const path = process.env.PATH;
  process.env.PATH = `${dir}:${path}`;
  try {
    const result = fn();
    return { result, gits: existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8').trim().split('\n') : [] };
  } finally { process.env.PATH = path; }
}

describe('fleet guard: the fast-forward rule without merge-base', () => {
  it('a heartbeat and a chain of new snapshots on the tip are decided from the log alone; a fork asks git and is refused', () => {
    const g = server();
    const a = pushed(g, valid());
    const b = pushed(g, valid(SSHD + '0.0.0.0:80  nginx  root  /n\n'), a, 1);
    land(g, 'refs/heads/hosts/web-1', b);
    const c = pushed(g, valid(SSHD + '0.0.0.0:81  nginx  root  /n\n'), b, 2);
    const d = pushed(g, valid(SSHD + '0.0.0.0:82  nginx  root  /n\n'), c, 3);
    const e = pushed(g, valid(), d, 4);
    const o = { limits: NO_RATE };
    expect(gitsRun(() => guard(g, [up(b, b)], 'web-1', undefined, o))).toEqual({ result: [], gits: ['log'] });
    expect(gitsRun(() => guard(g, [up(b, c)], 'web-1', undefined, o))).toEqual({ result: [], gits: ['log', 'cat-file'] });
    expect(gitsRun(() => guard(g, [up(b, e)], 'web-1', undefined, o))).toEqual({ result: [], gits: ['log', 'cat-file'] });
    // an update to a commit git cannot find (a push that brought nothing of it): not a descendant of
    // the tip (merge-base fails), and for a first push git log's complaint, said
    const nothing = 'f'.repeat(40);
    expect(guard(g, [up(b, nothing)], 'web-1', undefined, o)).toEqual([NON_FF(b, nothing)]);
    expect(guard(g, [up(ZERO, nothing, 'web-2')], 'web-2', undefined, o)).toEqual([`refused refs/heads/hosts/web-2: cannot read the pushed commits: fatal: bad object ${nothing}`]);
    const forked = pushed(g, valid(SSHD + '0.0.0.0:83  nginx  root  /n\n'), a, 5);
    expect(gitsRun(() => guard(g, [up(b, forked)], 'web-1', undefined, o))).toEqual({ result: [NON_FF(b, forked)], gits: ['log', 'merge-base'] });
  });
});

describe('fleet guard: whose branch', () => {
  it('lsm/users maps users to hosts (comments, blank lines, a user named twice, *); a user not named pushes its own host only', () => {
    const g = server();
    mkdirSync(join(g, 'lsm'));
    writeFileSync(join(g, 'lsm', 'users'), '# who may push what\n\nops  web-1 web-2 # the web tier\nops db-1\nadmin *\n   \n');
    const users = readUserMap(g);
    expect([...users].map(([u, h]) => [u, [...h].sort()])).toEqual([['ops', ['db-1', 'web-1', 'web-2']], ['admin', ['*']]]);
    expect([mayPush(users, 'ops', 'web-2'), mayPush(users, 'ops', 'db-1'), mayPush(users, 'ops', 'mail-1'), mayPush(users, 'admin', 'any'), mayPush(users, 'mail-1', 'mail-1'), mayPush(users, 'mail-1', 'web-1')])
      .toEqual([true, true, false, true, true, false]);
    expect(readUserMap(join(g, 'none'))).toEqual(new Map());
    expect(mayPush(new Map(), 'web-1', 'web-1')).toBe(true);
    expect(mayPush(new Map([['web-1', new Set(['db-1'])]]), 'web-1', 'web-1')).toBe(false); // named: only what is listed
  });

  it('refuses other refs, no user, a user pushing a host not its own, a deletion; each update says its own reason', () => {
    const g = server();
    const a = pushed(g, valid());
    land(g, 'refs/heads/hosts/web-1', a);
    const b = pushed(g, valid(SSHD + '0.0.0.0:80  nginx  root  /n\n'), a, 1);
    const o = { limits: NO_RATE };
    expect(guard(g, [{ old: ZERO, new: a, ref: 'refs/heads/master' }], 'web-1', undefined, o)).toEqual(['refused refs/heads/master: only hosts/<host id> and baselines/<host id> branches are accepted here']);
    expect(guard(g, [{ old: ZERO, new: a, ref: 'refs/heads/hosts/..' }], 'web-1', undefined, o)).toEqual(['refused refs/heads/hosts/..: only hosts/<host id> and baselines/<host id> branches are accepted here']);
    expect(guard(g, [up(a, b)], undefined, undefined, o)).toEqual(['refused refs/heads/hosts/web-1: no authenticated user (the web server must require a login and pass REMOTE_USER)']);
    expect(guard(g, [up(a, b)], 'web-2', undefined, o)).toEqual(["refused refs/heads/hosts/web-1: user 'web-2' may not push to hosts/web-1 (lsm/users in the repository maps users to hosts)"]);
    expect(guard(g, [up(a, ZERO)], 'web-1', undefined, o)).toEqual(['refused refs/heads/hosts/web-1: deleting a host branch is refused: the fleet history is append-only']);
    // two updates: one refused does not hide the other's reason, and the good one is not named
    const c = pushed(g, valid(), undefined, 2);
    expect(guard(g, [up(a, b), up(ZERO, c, 'web-2')], 'web-1', undefined, o)).toEqual(["refused refs/heads/hosts/web-2: user 'web-1' may not push to hosts/web-2 (lsm/users in the repository maps users to hosts)"]);
    expect(guard(g, [up(a, b), up(ZERO, c, 'web-2')], 'ops', new Map([['ops', new Set(['*'])]]), o)).toEqual([]);
  });

  it('parses git\'s update lines', () => {
    expect(parseUpdates(`${ZERO} ${'a'.repeat(40)} refs/heads/hosts/web-1\n\n${'a'.repeat(40)} ${'b'.repeat(40)} refs/heads/baselines/web-1\n`)).toEqual([
      { old: ZERO, new: 'a'.repeat(40), ref: 'refs/heads/hosts/web-1' }, { old: 'a'.repeat(40), new: 'b'.repeat(40), ref: 'refs/heads/baselines/web-1' }]);
  });
});

describe('fleet guard: baselines', () => {
  it("a baseline is one of the host's own commits, moves only forward, is never deleted, and is the host's user's", () => {
    const g = server();
    const a = pushed(g, valid());
    const b = pushed(g, valid(SSHD + '0.0.0.0:80  nginx  root  /n\n'), a, 1);
    const other = pushed(g, valid('0.0.0.0:25  smtpd  root  /s\n'), undefined, 2);
    const o = { limits: NO_RATE };
    const say = (why: string) => [`refused refs/heads/baselines/web-1: ${why}`];
    // no branch yet
    expect(guard(g, [base(ZERO, a)], 'web-1', undefined, o)).toEqual(say(`no branch hosts/web-1: a baseline must be a commit of the host's history (push the branch first)`));
    // pushed with the branch in the same push: the branch as this push moves it
    expect(guard(g, [up(ZERO, b), base(ZERO, a)], 'web-1', undefined, o)).toEqual([]);
    land(g, 'refs/heads/hosts/web-1', b);
    land(g, 'refs/heads/hosts/web-2', other);
    expect(guard(g, [base(ZERO, a)], 'web-1', undefined, o)).toEqual([]);
    expect(guard(g, [base(ZERO, b)], 'web-1', undefined, o)).toEqual([]); // the tip itself
    expect(guard(g, [base(ZERO, other)], 'web-1', undefined, o)).toEqual(say(`${other.slice(0, 10)} is not a commit of hosts/web-1: a baseline must be one of the host's own snapshots`));
    // another host's branch moved in the same push does not count for this host
    expect(guard(g, [up(ZERO, other, 'web-3'), base(ZERO, other)], 'ops', new Map([['ops', new Set(['*'])]]), o)).toEqual(say(`${other.slice(0, 10)} is not a commit of hosts/web-1: a baseline must be one of the host's own snapshots`));
    land(g, 'refs/heads/baselines/web-1', b);
    expect(guard(g, [base(b, a)], 'web-1', undefined, o)).toEqual(say(`non-fast-forward (${b.slice(0, 10)} is not an ancestor of ${a.slice(0, 10)}): a baseline only moves forward`));
    expect(guard(g, [base(a, b)], 'web-1', undefined, o)).toEqual([]);
    expect(guard(g, [base(b, ZERO)], 'web-1', undefined, o)).toEqual(say("deleting a host's baseline is refused: the fleet history is append-only"));
    expect(guard(g, [base(ZERO, a)], undefined, undefined, o)).toEqual(say('no authenticated user (the web server must require a login and pass REMOTE_USER)'));
    expect(guard(g, [base(ZERO, a)], 'web-2', undefined, o)).toEqual(say("user 'web-2' may not push to baselines/web-1 (lsm/users in the repository maps users to hosts)"));
    // a branch deleted in the same push (refused itself) is not where the baseline is looked for
    expect(guard(g, [up(b, ZERO), base(ZERO, a)], 'web-1', undefined, o)).toEqual(['refused refs/heads/hosts/web-1: deleting a host branch is refused: the fleet history is append-only']);
  });
});

describe('fleet guard: the limits of a push', () => {
  it('the rate counts changes only, per host, only when every update is the user\'s; a refusal names each of that host\'s updates', () => {
    const g = server();
    const a = pushed(g, valid());
    land(g, 'refs/heads/hosts/web-1', a);
    const b = pushed(g, valid(SSHD + '0.0.0.0:80  nginx  root  /n\n'), a, 1);
    const limits = { ...DEFAULT_LIMITS, pushesPerMinute: 2 };
    const t = 1_800_000_000_000;
    const rate = () => { try { return readFileSync(join(g, 'lsm', 'rate', 'web-1'), 'utf8'); } catch { return null; } };
    // heartbeats are not counted
    for (let i = 0; i < 5; i++) expect(guard(g, [up(a, a)], 'web-1', undefined, { limits, now: t + i })).toEqual([]);
    expect(rate()).toBeNull();
    // a push with an update the user may not make is refused for that, and counts nothing
    expect(guard(g, [up(a, b), up(ZERO, a, 'web-2')], 'web-1', undefined, { limits, now: t })).toHaveLength(1);
    expect(rate()).toBeNull();
    expect(guard(g, [up(a, b)], 'web-1', undefined, { limits, now: t })).toEqual([]);
    expect(guard(g, [up(a, b), base(ZERO, a)], 'web-1', undefined, { limits, now: t + 1 })).toEqual([]); // one push: counted once for its host
    expect(rate()).toBe(`${t}\n${t + 1}\n`);
    const said = (ref: string) => `${LIMIT}refused ${ref}: 3 pushes in a minute, over FLEET_MAX_PUSHES_PER_MINUTE=2; try again in 60s`;
    expect(guard(g, [up(a, b), base(ZERO, a)], 'web-1', undefined, { limits, now: t + 2 })).toEqual([said('refs/heads/hosts/web-1'), said('refs/heads/baselines/web-1')]);
    // another host, in the same push by a user of both: only web-1's update is over
    const c = pushed(g, valid(), undefined, 2);
    const ops = new Map([['ops', new Set(['*'])]]);
    expect(guard(g, [up(a, b), up(ZERO, c, 'web-2')], 'ops', ops, { limits, now: t + 3 })).toEqual([said('refs/heads/hosts/web-1')]);
    expect(readFileSync(join(g, 'lsm', 'rate', 'web-2'), 'utf8')).toBe(`${t + 3}\n`);
  });

  it('the bytes a push brings are measured in its quarantine: at the limit it passes, one more is refused for each update', () => {
    const g = server();
    const a = pushed(g, valid());
    land(g, 'refs/heads/hosts/web-1', a);
    inQuarantine(g, (q) => {
      const b = pushed(g, valid(SSHD + '0.0.0.0:80  nginx  root  /n\n'), a, 1);
      const c = pushed(g, valid(), undefined, 2);
      const bytes = (readdirSync(q, { recursive: true }) as string[]).reduce((n, f) => n + (statSync(join(q, f)).isFile() ? statSync(join(q, f)).size : 0), 0);
      expect(bytes).toBeGreaterThan(0);
      const ops = new Map([['ops', new Set(['*'])]]);
      const updates = [up(a, b), up(ZERO, c, 'web-2')];
      expect(guard(g, updates, 'ops', ops, { limits: { ...NO_RATE, pushBytes: bytes }, quarantine: q })).toEqual([]);
      const over = (ref: string) => `${LIMIT}refused ${ref}: the push brings ${bytes} bytes (${bytes} bytes), over FLEET_MAX_PUSH_BYTES=${bytes - 1} (${bytes - 1} bytes)`;
      expect(guard(g, updates, 'ops', ops, { limits: { ...NO_RATE, pushBytes: bytes - 1 }, quarantine: q })).toEqual([over('refs/heads/hosts/web-1'), over('refs/heads/hosts/web-2')]);
    });
  });

  it('objects the new tips do not reach are refused, loose or packed; objects the repository holds already are not', () => {
    const g = server();
    const a = pushed(g, valid());
    land(g, 'refs/heads/hosts/web-1', a);
    const held = execFileSync('git', ['--git-dir', g, 'hash-object', '-w', '--stdin'], { input: 'held already\n', encoding: 'utf8' }).trim();
    execFileSync('git', ['--git-dir', g, 'config', 'fastimport.unpackLimit', '0']); // what a push brings: a pack
    inQuarantine(g, (q) => {
      const b = pushed(g, valid(SSHD + '0.0.0.0:80  nginx  root  /n\n'), a, 1);
      const o = { limits: NO_RATE, quarantine: q };
      expect(guard(g, [up(a, b)], 'web-1', undefined, o)).toEqual([]); // only what b brings
      // a blob sent again that the repository has: harmless (a thin pack's base is such)
      mkdirSync(join(q, held.slice(0, 2)), { recursive: true });
      writeFileSync(join(q, held.slice(0, 2), held.slice(2)), readFileSync(join(g, 'objects', held.slice(0, 2), held.slice(2))));
      expect(guard(g, [up(a, b)], 'web-1', undefined, o)).toEqual([]);
      // junk, loose
      const junk = execFileSync('git', ['--git-dir', g, 'hash-object', '-w', '--stdin'], { input: 'junk\n', encoding: 'utf8' }).trim();
      expect(existsSync(join(q, junk.slice(0, 2), junk.slice(2)))).toBe(true);
      expect(guard(g, [up(a, b)], 'web-1', undefined, o)).toEqual([`${LIMIT}refused refs/heads/hosts/web-1: the push brings 1 object its new tips do not reach (${junk.slice(0, 10)}): only a host's snapshots are kept`]);
      // junk in a pack too: counted with it; a heartbeat beside it reaches nothing
      const more = pushed(g, valid('0.0.0.0:9  junk  root  /j\n'), undefined, 3);
      expect(more).toMatch(/^[0-9a-f]{40}$/);
      // the loose junk, and the other history's commit, its two trees and host/tcp's blob (its empty files' blob the repository holds)
      const n = 5;
      const problems = guard(g, [up(a, b)], 'web-1', undefined, o);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(new RegExp(`^lsm: refused refs/heads/hosts/web-1: the push brings ${n} objects its new tips do not reach \\([0-9a-f]{10}, \\.\\.\\.\\): only a host's snapshots are kept$`));
      // a first push (old ZERO) is measured against every ref: b's objects reach, junk does not
      expect(guard(g, [up(ZERO, b, 'web-2')], 'web-2', undefined, o)[0]).toMatch(new RegExp(`the push brings ${n} objects its new tips do not reach`));
      expect(guard(g, [up(a, a)], 'web-1', undefined, o)).toEqual([]); // no change: nothing measured
    });
  });

  it('a damaged pack index in the quarantine is refused, not skipped', () => {
    const g = server();
    const a = pushed(g, valid());
    land(g, 'refs/heads/hosts/web-1', a);
    inQuarantine(g, (q) => {
      const b = pushed(g, valid(SSHD + '0.0.0.0:80  nginx  root  /n\n'), a, 1);
      writeFileSync(join(q, 'pack', 'pack-bad.idx'), 'not an index');
      expect(guard(g, [up(a, b)], 'web-1', undefined, { limits: NO_RATE, quarantine: q })).toEqual([`refused refs/heads/hosts/web-1: cannot list the pushed objects: ${join(q, 'pack', 'pack-bad.idx')} is not a pack index version 2`]);
    });
  });
});

describe('fleet guard: content, past the first problems', () => {
  it('names at most five problems; a file far over FLEET_MAX_FILE_BYTES is found without reading it whole', () => {
    const g = server();
    const a = pushed(g, valid());
    land(g, 'refs/heads/hosts/web-1', a);
    const bad = pushed(g, [...valid(), ...[1, 2, 3, 4, 5, 6, 7].map((i): File => ['100644', `etc/f${i}`, 'x\n'])], a, 1);
    const problems = guard(g, [up(a, bad)], 'web-1', undefined, { limits: NO_RATE });
    expect(problems).toHaveLength(5);
    expect(problems[4]).toBe(`refused refs/heads/hosts/web-1: commit ${bad.slice(0, 10)}: not an lsm snapshot: 'etc/f5' is not a snapshot file (host/<kind> or netns/<label>/<kind>, kind one of tcp, udp, raw, packet, unix, unattributed)`);
    // text problems in several files: every one named (up to five)
    const twice = pushed(g, [['100644', 'host/tcp', SSHD + SSHD], ['100644', 'host/udp', 'a\n\nb\n'], ...valid().slice(2)], a, 2);
    expect(guard(g, [up(a, twice)], 'web-1', undefined, { limits: NO_RATE }).sort()).toEqual(['refused refs/heads/hosts/web-1: not an lsm snapshot: host/tcp:2: duplicate line', 'refused refs/heads/hosts/web-1: not an lsm snapshot: host/udp:2: empty line']);
    const fileBytes = 4096;
    const big = Buffer.alloc(fileBytes * 3, SSHD);
    const huge = pushed(g, [['100644', 'host/tcp', big], ...valid().slice(1)], a, 3);
    expect(guard(g, [up(a, huge)], 'web-1', undefined, { limits: { ...NO_RATE, fileBytes } })).toEqual([`${LIMIT}refused refs/heads/hosts/web-1: host/tcp is ${big.length} bytes (12 KiB), over FLEET_MAX_FILE_BYTES=${fileBytes} (4 KiB)`]);
    // a netns file is a snapshot file too; a file at the limit exactly passes
    const atLimit = pushed(g, [['100644', 'host/tcp', Buffer.alloc(fileBytes, `${'x'.repeat(31)}\n`)], ...valid().slice(1), ['100644', 'netns/blue/tcp', SSHD]], a, 4);
    expect(guard(g, [up(a, atLimit)], 'web-1', undefined, { limits: { ...NO_RATE, fileBytes } })).toEqual(['refused refs/heads/hosts/web-1: not an lsm snapshot: host/tcp:2: duplicate line']);
  });
});
