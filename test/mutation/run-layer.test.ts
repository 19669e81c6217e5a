// The application layer in-process (the mutation run reaches src/ only; test/integration/
// run-layer.test.ts runs bin/lsm): settings decided once (--repo's own spool and event log, the
// central repository's), the error codes and the one table of exit codes, and the scan pipeline's
// order: another repository's spool refused before the commit, an alert that cannot be spooled
// failing the run after the commit, deferred for the caller or thrown.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EXIT, EXIT_CODE, LsmError, ioError, isSystemError, reason } from '../../src/errors.js';
import { exitFor } from '../../src/cli/exit.js';
import { centralContext, checkSettings, context, defaultRepo, resolveSettings } from '../../src/run/settings.js';
import { alertSettings, checkSpoolOwner, ownSpoolSummary } from '../../src/run/alerts.js';
import { scan, settle } from '../../src/run/scan.js';
import { metricsText } from '../../src/run/metrics.js';
import { FIXTURES } from '../unit/fixtures.js';
import { testConfig } from '../helpers/config.js';

afterEach(() => { vi.restoreAllMocks(); delete process.env.LSM_REPO; delete process.env.LSM_CONFIG; });

const quiet = () => vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
const sys = (code: string, syscall = 'open', path?: string) => Object.assign(new Error(`${code}: boom, ${syscall}`), { code, syscall, errno: -1, ...(path ? { path } : {}) });

function defaultsConfig(dir: string, extra = ''): string {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'lsm.conf');
  writeFileSync(conf, `HOOKS_DIR="${join(dir, 'hooks.d')}"\nIGNORE_FILE="${join(dir, 'ignore')}"\nSENDMAIL=""\n${extra}`);
  chmodSync(conf, 0o600);
  return conf;
}

/** A /proc of our own (the basic fixture) and a config; listen() adds a TCP listener (a change). */
function world(extra: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-run-'));
  cpSync(join(FIXTURES, 'basic'), join(dir, 'root'), { recursive: true, verbatimSymlinks: true });
  const proc = join(dir, 'root', 'proc');
  const config = testConfig(join(dir, 'conf'), extra);
  return {
    dir, proc, config, spool: join(dir, 'conf', 'spool'),
    listen: (port: number) => appendFileSync(join(proc, '1', 'net', 'tcp'),
      `  ${port % 100}: 00000000:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 ${90000 + port} 1 0000000000000000 100 0 0 10 0\n`),
  };
}

describe('settings decided once', () => {
  it('another repository keeps its spool and event log in its .git/lsm unless the config names them; lsm config shows them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-run-'));
    const conf = defaultsConfig(join(dir, 'etc'));
    const repo = join(dir, 'x');
    const ctx = resolveSettings({ repo, config: conf, proc: '/p' });
    expect(ctx).toMatchObject({ repoDir: repo, procRoot: '/p', ownRepo: true });
    expect(ctx.loaded.config.spoolDir).toBe(join(repo, '.git', 'lsm', 'spool'));
    expect(ctx.loaded.config.eventLog).toBe(join(repo, '.git', 'lsm', 'events.jsonl'));
    expect([ctx.loaded.values.SPOOL_DIR, ctx.loaded.sources.SPOOL_DIR]).toEqual([join(repo, '.git', 'lsm', 'spool'), 'default (in the repository)']);
    expect(alertSettings(ctx)).toMatchObject({ spoolDir: join(repo, '.git', 'lsm', 'spool'), eventLog: join(repo, '.git', 'lsm', 'events.jsonl'), repoFlag: true, repoDir: repo });
    // named in the config: kept; an event log turned off stays off
    const named = resolveSettings({ repo, config: defaultsConfig(join(dir, 'etc2'), `SPOOL_DIR="${join(dir, 's')}"\nEVENT_LOG=""\n`) });
    expect([named.loaded.config.spoolDir, named.loaded.config.eventLog, named.loaded.sources.SPOOL_DIR]).toEqual([join(dir, 's'), '', `${join(dir, 'etc2', 'lsm.conf')}:4`]);
    const off = resolveSettings({ repo, config: defaultsConfig(join(dir, 'etc3'), 'EVENT_LOG=""\n') });
    expect([off.loaded.config.eventLog, off.loaded.config.spoolDir]).toEqual(['', join(repo, '.git', 'lsm', 'spool')]);
  });

  it('the default repository (also named by --repo or LSM_REPO) uses the configured paths; the /proc root defaults to /proc', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-run-'));
    const conf = defaultsConfig(join(dir, 'etc'));
    const plain = resolveSettings({ config: conf });
    expect(plain).toMatchObject({ repoDir: defaultRepo(), ownRepo: false, procRoot: '/proc' });
    expect(plain.loaded.config.spoolDir).not.toContain('.git');
    expect(plain.loaded.sources.SPOOL_DIR).toBe('default');
    expect(resolveSettings({ config: conf, repo: `${defaultRepo()}/` }).ownRepo).toBe(false);
    process.env.LSM_REPO = join(dir, 'env');
    process.env.LSM_CONFIG = conf;
    const env = resolveSettings({});
    expect([env.repoDir, env.ownRepo, env.loaded.path]).toEqual([join(dir, 'env'), true, conf]);
    expect(resolveSettings({ repo: join(dir, 'arg') }).repoDir).toBe(join(dir, 'arg')); // the option before the environment
  });

  it('an option given empty is a usage error, not the default', () => {
    for (const k of ['repo', 'config', 'proc']) {
      for (const f of [() => resolveSettings({ [k]: '' }), () => centralContext({ [k]: '' }, '/x')]) {
        const err = (() => { try { f(); return null; } catch (e) { return e; } })();
        expect(err).toBeInstanceOf(LsmError);
        expect([(err as LsmError).message, (err as LsmError).code, (err as LsmError).exitCode]).toEqual([`--${k} needs a value`, 'Usage', 2]);
      }
    }
  });

  it('checks every path it names, the resolved ones: an unsafe spool is 77 before anything is written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-run-'));
    const conf = defaultsConfig(join(dir, 'etc'));
    const repo = join(dir, 'x');
    mkdirSync(join(repo, '.git', 'lsm', 'spool'), { recursive: true });
    expect(context({ repo, config: conf }).repoDir).toBe(repo);
    chmodSync(join(repo, '.git', 'lsm', 'spool'), 0o777);
    expect(() => context({ repo, config: conf })).toThrow(/refusing unsafe spool directory: .*x\/\.git\/lsm\/spool is writable by others/);
    chmodSync(join(repo, '.git', 'lsm', 'spool'), 0o700);
    chmodSync(join(repo, '.git'), 0o777);
    const ctx = resolveSettings({ repo, config: conf });
    expect(() => checkSettings(ctx)).toThrow(/refusing unsafe repository/);
    expect(() => checkSettings(ctx, 'none')).toThrow(/refusing unsafe spool directory/); // the spool is under it
  });

  it('a fleet host id no branch can have is refused before anything is written (with REMOTE only)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-run-'));
    const bad = defaultsConfig(join(dir, 'etc'), 'REMOTE="https://fleet.example/git/fleet.git"\nHOST_ID="a b"\n');
    expect(() => context({ repo: join(dir, 'x'), config: bad })).toThrow(`${join(dir, 'etc', 'lsm.conf')}:5: HOST_ID: 'a b' is not a usable host id`);
    expect(existsSync(join(dir, 'x'))).toBe(false);
    const err = (() => { try { context({ repo: join(dir, 'x'), config: bad }); } catch (e) { return e as LsmError; } })();
    expect([err?.code, err?.exitCode, err?.data]).toEqual(['Usage', 2, { key: 'HOST_ID' }]);
    expect(context({ repo: join(dir, 'x'), config: defaultsConfig(join(dir, 'etc2'), 'HOST_ID="a b"\n') }).loaded.config.hostId).toBe('a b'); // no fleet: unused
    expect(centralContext({ config: bad }, join(dir, 'fleet.git')).loaded.config.hostId).toBe('a b'); // the server pushes nowhere
  });

  it('the central repository keeps its alerts in its own lsm/, unless the config names the paths', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-run-'));
    const gitdir = join(dir, 'fleet.git');
    const ctx = centralContext({ config: defaultsConfig(join(dir, 'etc')) }, gitdir);
    expect(ctx).toMatchObject({ repoDir: gitdir, ownRepo: true, procRoot: '/proc' });
    expect([ctx.loaded.config.spoolDir, ctx.loaded.config.eventLog]).toEqual([join(gitdir, 'lsm', 'spool'), join(gitdir, 'lsm', 'events.jsonl')]);
    const named = centralContext({ config: defaultsConfig(join(dir, 'etc2'), `SPOOL_DIR="${join(dir, 's')}"\n`), proc: '/q' }, gitdir);
    expect([named.loaded.config.spoolDir, named.procRoot]).toEqual([join(dir, 's'), '/q']);
    // the web server's user owns the repository: only the paths lsm writes are checked
    mkdirSync(gitdir, { mode: 0o777 });
    chmodSync(gitdir, 0o777);
    expect(() => centralContext({ config: defaultsConfig(join(dir, 'etc3')) }, gitdir)).toThrow(/refusing unsafe spool directory: .*fleet\.git is writable by others/);
  });
});

describe('settings: each path checked, the default repository', () => {
  it('a user\'s default repository is under XDG_STATE_HOME, else ~/.local/state; root\'s under /var/lib/lsm', async () => {
    const { homedir } = await import('node:os');
    expect(defaultRepo()).toBe('/var/lib/lsm/snapshots');
    const saved = process.env.XDG_STATE_HOME;
    try {
      vi.spyOn(process, 'getuid').mockReturnValue(1000);
      process.env.XDG_STATE_HOME = '/x/state';
      expect(defaultRepo()).toBe('/x/state/lsm/snapshots');
      process.env.XDG_STATE_HOME = '';
      expect(defaultRepo()).toBe(join(homedir(), '.local', 'state', 'lsm', 'snapshots'));
    } finally {
      if (saved === undefined) delete process.env.XDG_STATE_HOME; else process.env.XDG_STATE_HOME = saved;
    }
  });

  it('the hooks directory, the ignore file, the event log\'s directory and SENDMAIL are checked (77); SENDMAIL not when SMTP sends', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-run-'));
    const open = join(dir, 'open');
    mkdirSync(open, { mode: 0o777 });
    chmodSync(open, 0o777);
    writeFileSync(join(open, 'sendmail'), '#!/bin/sh\n');
    chmodSync(join(open, 'sendmail'), 0o755);
    const repo = join(dir, 'r');
    const refused = (extra: string, n: number) => {
      const err = (() => { try { context({ repo, config: defaultsConfig(join(dir, `etc${n}`), extra) }); return null; } catch (e) { return e as LsmError; } })();
      return [err?.code, err?.exitCode, err?.message.replace(dir, 'DIR')];
    };
    expect(refused(`SENDMAIL="${join(open, 'sendmail')}"\n`, 1)).toEqual(['Unsafe', 77, expect.stringMatching(/^refusing unsafe sendmail \(SENDMAIL\): DIR\/open is writable by others/)]);
    expect(refused(`SENDMAIL="${join(open, 'sendmail')}"\nSMTP_URL="smtp://mail.example:25"\n`, 2)).toEqual([undefined, undefined, undefined]);
    expect(refused(`HOOKS_DIR="${open}"\n`, 3)).toEqual(['Unsafe', 77, expect.stringMatching(/^refusing unsafe hooks directory: DIR\/open is writable by others/)]);
    expect(refused(`IGNORE_FILE="${join(open, 'ignore')}"\n`, 4)).toEqual(['Unsafe', 77, expect.stringMatching(/^refusing unsafe ignore file: DIR\/open is writable by others/)]);
    expect(refused(`EVENT_LOG="${join(open, 'events.jsonl')}"\n`, 5)).toEqual(['Unsafe', 77, expect.stringMatching(/^refusing unsafe event log directory: DIR\/open is writable by others/)]);
    expect(refused('EVENT_LOG=""\n', 6)).toEqual([undefined, undefined, undefined]);
  });
});

describe('errors: a code, data, and one table of exit codes', () => {
  it('each code has its exit code in EXIT_CODE; an exit code given maps to its code', () => {
    expect(EXIT_CODE).toEqual({ Failure: 1, Io: 1, NotRecorded: 1, Usage: 2, SpoolClaimed: 2, Damaged: 65, Busy: 75, Unsafe: 77 });
    for (const [code, exit] of Object.entries(EXIT_CODE)) {
      const e = new LsmError('m', code as keyof typeof EXIT_CODE, { a: 1 });
      expect([e.code, e.exitCode, e.data, e.name, e.message]).toEqual([code, exit, { a: 1 }, 'LsmError', 'm']);
      expect(exitFor(e)).toEqual({ code: exit, text: 'lsm: m\n' });
    }
    expect([EXIT.FAILURE, EXIT.USAGE, EXIT.DAMAGED, EXIT.BUSY, EXIT.UNSAFE].map((n) => new LsmError('m', n).code)).toEqual(['Failure', 'Usage', 'Damaged', 'Busy', 'Unsafe']);
    expect(new LsmError('m')).toMatchObject({ code: 'Failure', exitCode: 1, data: {} });
    expect(() => new LsmError('m', 3)).toThrow(TypeError);
    expect(() => new LsmError('m', 70)).toThrow('no error code for exit code 70');
  });

  it('a system error is one line and 1 (a full disk, EIO), naming the call and the path; reason() says it plainly', () => {
    expect(isSystemError(sys('ENOSPC', 'write'))).toBe(true);
    expect(isSystemError(Object.assign(new Error('x'), { code: 'ENOSPC' }))).toBe(false); // no syscall: not Node's
    expect(isSystemError(Object.assign(new Error('x'), { code: 'ERR_X', syscall: 'open' }))).toBe(false);
    expect(isSystemError({ code: 'ENOSPC', syscall: 'write' })).toBe(false);
    expect(isSystemError(new LsmError('m'))).toBe(false);
    expect(exitFor(sys('ENOSPC', 'write', '/s/x'))).toEqual({ code: 1, text: 'lsm: write /s/x: no space left on device\n' });
    expect(exitFor(sys('EIO', 'read'))).toEqual({ code: 1, text: 'lsm: read: input/output error\n' });
    expect(exitFor(sys('ENOTDIR', 'open'))).toEqual({ code: 1, text: 'lsm: open: a file where a directory belongs (damage: move it aside)\n' }); // a wrong type, said as what it is
    expect(exitFor(sys('ENXIO', 'open', '/r/.git/lsm/journal.jsonl'))).toEqual({ code: 1, text: 'lsm: open /r/.git/lsm/journal.jsonl: a FIFO, socket or device where a file belongs (refused, never waited on)\n' });
    expect(exitFor(sys('EDQUOT', 'write')).text).toBe('lsm: write: disk quota exceeded\n');
    expect(reason(sys('ENOSPC'))).toBe('no space left on device');
    expect(reason(new LsmError('own words', 'Busy'))).toBe('own words');
    expect(reason(Object.assign(new Error('m'), { code: 'constructor' }))).toBe('m');
    expect(reason('text')).toBe('text');
    const io = ioError('cannot write x', sys('ENOSPC', 'write', '/x'));
    expect([io.code, io.data, io.exitCode]).toEqual(['Io', { errno: 'ENOSPC', path: '/x' }, 1]);
    expect([ioError('w', new Error('plain')).code, ioError('w', new Error('plain')).data]).toEqual(['Failure', {}]);
  });
});

describe('the scan pipeline', () => {
  it('a spool another repository claimed is refused before the commit', async () => {
    const w = world();
    quiet();
    const a = context({ repo: join(w.dir, 'a'), config: w.config, proc: w.proc });
    const b = context({ repo: join(w.dir, 'b'), config: w.config, proc: w.proc });
    await scan(a);
    await scan(b);
    w.listen(4444);
    await scan(a); // a's alert: a claims the spool
    expect(readFileSync(join(w.spool, '.repo'), 'utf8')).toBe(`${resolve(a.repoDir)}\n`);
    const err = await scan(b).then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'SpoolClaimed', exitCode: 2, data: { spool: w.spool, owner: resolve(a.repoDir), repo: resolve(b.repoDir) } });
    expect(existsSync(join(b.repoDir, '.git', 'refs', 'lsm', 'alerted'))).toBe(true);
    expect(() => checkSpoolOwner(b)).toThrow(/belongs to repository/);
    expect(() => checkSpoolOwner(a)).not.toThrow();
    expect(ownSpoolSummary(b)).toBeNull();
    expect(ownSpoolSummary(a)).toMatchObject({ pending: 1, dead: 0 });
    const { execFileSync } = await import('node:child_process');
    expect(execFileSync('git', ['-C', b.repoDir, 'rev-list', '--count', 'HEAD'], { encoding: 'utf8' })).toBe('1\n');
  });

  it('a claim a full disk left empty is nobody\'s: the next repository to spool claims the spool', async () => {
    const { Spool, spoolOwner } = await import('../../src/alert/spool.js');
    const dir = mkdtempSync(join(tmpdir(), 'lsm-run-'));
    const spool = join(dir, 'spool');
    mkdirSync(spool);
    writeFileSync(join(spool, '.repo'), '');
    expect(spoolOwner(spool)).toBeNull();
    new Spool(spool).claim(join(dir, 'a'));
    expect(readFileSync(join(spool, '.repo'), 'utf8')).toBe(`${join(dir, 'a')}\n`);
    new Spool(spool).claim(join(dir, 'a')); // its own: nothing to do
    expect(() => new Spool(spool).claim(join(dir, 'b'))).toThrow(/belongs to repository/);
  });

  it('an alert that cannot be spooled: committed, delivered what was there, then the failure (thrown, or deferred for settle)', async () => {
    const w = world();
    const err = quiet();
    const ctx = context({ repo: join(w.dir, 'r'), config: w.config, proc: w.proc });
    await scan(ctx);
    writeFileSync(w.spool, 'not a directory'); // the spool cannot be made
    w.listen(4444);
    const deferred = await scan(ctx, { deferFailure: true });
    expect(deferred.change?.summary).toMatch(/^\+1 -0/);
    expect(deferred.failure).toMatchObject({ code: 'NotRecorded', exitCode: 1, data: { refused: 'a file', spool: w.spool } });
    expect(deferred.failure?.message).toMatch(/^cannot spool the alert \(the change is committed; the next run spools it\): the spool directory \S+ is a file, not a directory: /);
    expect(() => settle(deferred)).toThrow(deferred.failure!);
    w.listen(5555);
    const thrown = await scan(ctx).then(() => null, (e: unknown) => e);
    expect(thrown).toMatchObject({ code: 'NotRecorded' });
    expect(settle({ failure: null, x: 1 })).toEqual({ failure: null, x: 1 });
    expect(err).not.toHaveBeenCalledWith(expect.stringMatching(/cannot spool/));
    // alert: false stops after the commit: nothing to spool, nothing failed
    w.listen(6666);
    expect((await scan(ctx, { alert: false })).failure).toBeNull();
  });

  it('a run refused before its checks passed records no paths in its metrics', () => {
    const w = world();
    const ctx = resolveSettings({ repo: join(w.dir, 'r'), config: w.config, proc: w.proc });
    const refused = metricsText(ctx, {}, false, 2_000_000, 1000);
    expect(refused).toMatch(/^lsm_last_run_success 0$/m);
    expect(refused).toMatch(/^lsm_last_success_timestamp_seconds 1000$/m);
    expect(refused).not.toMatch(/lsm_spool_alerts|lsm_last_commit/);
    expect(metricsText(ctx, { checked: true }, true, 2_000_000, 1000)).toMatch(/^lsm_spool_alerts 0$/m);
  });
});
