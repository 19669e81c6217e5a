// What blame, log --grep and drift rely on beyond the port forms (test/unit/matching.test.ts):
// which wildcard listener answers an address, the needle the journal search prefilters on, blame's
// intervals when the journal starts mid-history, and which approval drift names.
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blame, lineMatcher, presentNow } from '../../src/store/blame.js';
import { moveBaseline } from '../../src/store/baseline.js';
import { commitSnapshot } from '../../src/store/commit.js';
import { computeDrift } from '../../src/store/drift.js';
import { readJournal, type JournalRecord } from '../../src/store/journal-read.js';
import { openRepo } from '../../src/store/repo.js';
import { EXIT, LsmError, ioError } from '../../src/errors.js';
import { exitFor } from '../../src/cli/exit.js';

const line = (endpoint: string) => `${endpoint}  svc  root  /usr/sbin/svc`;
const matches = (what: string, endpoints: string[]) => endpoints.filter((e) => lineMatcher(what)('host/tcp', line(e)));
const ALL = ['0.0.0.0:22', '[::]:22', '*:22', '127.0.0.1:22', '[::1]:22', '10.0.0.10:22', '0.0.0.0:2222'];

describe('an address and port finds the listeners that answer it', () => {
  it('a v4 address: itself and every wildcard; a v6 one: itself, [::] and *; a wildcard: only itself', () => {
    expect(matches('127.0.0.1:22', ALL)).toEqual(['0.0.0.0:22', '[::]:22', '*:22', '127.0.0.1:22']);
    expect(matches('10.0.0.10:22', ALL)).toEqual(['0.0.0.0:22', '[::]:22', '*:22', '10.0.0.10:22']);
    expect(matches('[::1]:22', ALL)).toEqual(['[::]:22', '*:22', '[::1]:22']);
    expect(matches('0.0.0.0:22', ALL)).toEqual(['0.0.0.0:22']);
    expect(matches('[::]:22', ALL)).toEqual(['[::]:22']);
    expect(matches('*:22', ALL)).toEqual(['*:22']);
  });

  it('text around an address is not an address: it is searched as text', () => {
    expect(matches('x127.0.0.1:22', ALL)).toEqual([]);
    expect(matches('127.0.0.1:22/tcp', ALL)).toEqual([]);
    expect(matches('1270.0.0.1:22', ALL)).toEqual([]);
    expect(lineMatcher('svc  root')('host/tcp', line('0.0.0.0:22'))).toBe(true); // any text of a line
  });

  it('an @abstract name matches that unix socket exactly', () => {
    const m = lineMatcher('@abs');
    expect(m('host/unix', '@abs  stream  svc  root  /svc')).toBe(true);
    expect(m('host/unix', '@abstract  stream  svc  root  /svc')).toBe(false);
    expect(m('host/tcp', '0.0.0.0:1  @abs  root  /svc')).toBe(false);
  });

  it('gives the journal search a needle that every line it matches contains', () => {
    expect(lineMatcher('22').needle).toBe(':22');
    expect(lineMatcher('53/udp').needle).toBe(':53');
    expect(lineMatcher('127.0.0.1:631').needle).toBe(':631');
    expect(lineMatcher('/run/a b').needle).toBe('/run/a\\x20b');
    expect(lineMatcher('@abs').needle).toBe('@abs');
    expect(lineMatcher('nginx').needle).toBe('nginx');
  });
});

describe('blame intervals', () => {
  const rec = (n: number, a: [string, string][], r: [string, string][] = []): JournalRecord => ({ c: String(n).repeat(40).slice(0, 40), p: null, t: n * 1000, s: '', a, r });
  const L: [string, string] = ['host/tcp', line('0.0.0.0:22')];
  it('a removal with no open interval (a journal that starts mid-history, or a repeated removal) changes nothing', () => {
    const b = blame([rec(1, [], [L]), rec(2, [L]), rec(3, [], [L]), rec(4, [], [L])], () => true);
    expect(b).toEqual([{ path: L[0], line: L[1], intervals: [{ from: { commit: '2'.repeat(40), time: 2000 }, to: { commit: '3'.repeat(40), time: 3000 } }] }]);
    expect(presentNow(b[0])).toBe(false);
  });

  it('present now: only when the last interval is open', () => {
    const p = { commit: 'c', time: 1 };
    expect(presentNow({ path: '', line: '', intervals: [] })).toBe(false);
    expect(presentNow({ path: '', line: '', intervals: [{ from: p, to: null }] })).toBe(true);
    expect(presentNow({ path: '', line: '', intervals: [{ from: p, to: null }, { from: p, to: p }] })).toBe(false);
    expect(presentNow({ path: '', line: '', intervals: [{ from: p, to: p }, { from: p, to: null }] })).toBe(true);
  });
});

describe('drift names the approval that set the baseline', () => {
  it('the latest move to the baseline, and none without a baseline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-approved-'));
    const T = Date.UTC(2026, 0, 1);
    const c0 = (await commitSnapshot(dir, new Map([['host/tcp', [line('0.0.0.0:22')]]]), { now: T }))!.commit;
    const repo = openRepo(dir);
    expect(await computeDrift(repo, readJournal(repo))).toMatchObject({ baseline: null, head: c0, approved: null, lines: [] });
    const c1 = (await commitSnapshot(dir, new Map([['host/tcp', [line('0.0.0.0:80')]]]), { now: T + 1000 }))!.commit;
    await moveBaseline(repo, c0, 'first', T + 2000);
    await moveBaseline(repo, c1, 'second', T + 3000);
    await moveBaseline(repo, c0, 'third', T + 4000);
    const d = await computeDrift(repo, readJournal(repo));
    expect(d.approved).toMatchObject({ from: c1, to: c0, message: 'third', time: T + 4000 });
    expect(d.lines.map((l) => [l.kind, l.line])).toEqual([['added', line('0.0.0.0:80')], ['removed', line('0.0.0.0:22')]]);
  });
});

describe('a system error a user can cause is one line naming what lsm was doing', () => {
  it('says no space, permission denied, read-only, or the message, with exit code 1', () => {
    const sys = (code: string, message = `${code}: boom`) => Object.assign(new Error(message), { code });
    expect(ioError('cannot write x', sys('ENOSPC')).message).toBe('cannot write x: no space left on device');
    expect(ioError('cannot write x', sys('EACCES')).message).toBe('cannot write x: permission denied');
    expect(ioError('cannot write x', sys('EPERM')).message).toBe('cannot write x: permission denied');
    expect(ioError('cannot write x', sys('EROFS')).message).toBe('cannot write x: read-only file system');
    expect(ioError('cannot write x', sys('EIO', 'EIO: i/o error, write')).message).toBe('cannot write x: input/output error');
    expect(ioError('cannot write x', sys('ENOTDIR', 'ENOTDIR: not a directory, open')).message).toBe('cannot write x: a file where a directory belongs (damage: move it aside)');
    expect(ioError('cannot write x', 'plain text').message).toBe('cannot write x: plain text');
    expect(ioError('cannot write x', null).message).toBe('cannot write x: null');
    const e = ioError('w', sys('ENOSPC'));
    expect(e).toBeInstanceOf(LsmError);
    expect(e.exitCode).toBe(EXIT.FAILURE);
    expect(e.name).toBe('LsmError');
    expect(new LsmError('m').exitCode).toBe(1);
    // and what is thrown that is not even an Error is a bug all the same: 70, never a crash of its own
    expect(exitFor(null)).toEqual({ code: 70, text: 'lsm: internal error: null\n' });
    expect(exitFor(undefined)).toEqual({ code: 70, text: 'lsm: internal error: undefined\n' });
  });
});
