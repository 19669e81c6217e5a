// The layer's first stages in-process (src/run/snapshot.ts, warn.ts): the ignore rules the settings
// name (a missing default file is no rules; a named one that cannot be read is exit 2; an unsafe one
// keeps its own error), the sockets now (what a snapshot records, every socket with `all`,
// established connections from the config or the option), and stderr's one-line form.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LsmError } from '../../src/errors.js';
import { collectNow, ignoreRules, takeSnapshot } from '../../src/run/snapshot.js';
import { resolveSettings } from '../../src/run/settings.js';
import { warn } from '../../src/run/warn.js';
import { runWorld, stderrLines } from '../helpers/run-world.js';

afterEach(() => { vi.restoreAllMocks(); });

const thrown = (f: () => unknown) => { try { f(); return null; } catch (e) { return e as LsmError; } };

describe('the ignore rules', () => {
  it('the file the config names: its rules drop lines before they are recorded', () => {
    const w = runWorld();
    writeFileSync(join(w.conf, 'ignore'), '# sshd is known\ntcp 0.0.0.0:22\n');
    const ctx = resolveSettings(w.args);
    expect(ignoreRules(ctx).map((r) => r.source)).toEqual([`${join(w.conf, 'ignore')}:2`]);
    const tcp = takeSnapshot(ctx).snapshot.get('host/tcp')!;
    expect(tcp.some((l) => l.startsWith('0.0.0.0:22 '))).toBe(false);
    writeFileSync(join(w.conf, 'ignore'), '');
    expect(takeSnapshot(ctx).snapshot.get('host/tcp')!.some((l) => l.startsWith('0.0.0.0:22 '))).toBe(true);
  });

  it('the default file missing: no rules; a file the config names missing: exit 2 in one line; not a file: 77', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-runmut-'));
    const conf = join(dir, 'lsm.conf');
    writeFileSync(conf, `SPOOL_DIR="${join(dir, 'spool')}"\nSENDMAIL=""\nHOOKS_DIR="${join(dir, 'hooks.d')}"\n`);
    chmodSync(conf, 0o600);
    const ctx = resolveSettings({ config: conf, repo: join(dir, 'repo') });
    expect(ctx.loaded.sources.IGNORE_FILE).toBe('default');
    expect(ignoreRules(ctx)).toEqual([]);
    const named = join(dir, 'rules');
    writeFileSync(conf, `IGNORE_FILE="${named}"\n`, { flag: 'a' });
    const nctx = resolveSettings({ config: conf, repo: join(dir, 'repo') });
    let err = thrown(() => ignoreRules(nctx));
    expect(err).toBeInstanceOf(LsmError);
    expect([err?.message, err?.code, err?.exitCode]).toEqual([`cannot read ignore rules ${named}: ENOENT`, 'Usage', 2]);
    // not a file: safe-path's own refusal (77), kept as it is
    mkdirSync(named);
    err = thrown(() => ignoreRules(nctx));
    expect([err?.message, err?.code, err?.exitCode]).toEqual([`refusing ${named}: not a regular file`, 'Unsafe', 77]);
  });

  it('a symbolic link in its place keeps safe-path\'s own refusal (and its code)', () => {
    const w = runWorld();
    const rules = join(w.dir, 'elsewhere');
    writeFileSync(rules, 'tcp *\n');
    const ctx = resolveSettings({ ...w.args, config: runWorld({ IGNORE_FILE: join(w.dir, 'link') }).config });
    symlinkSync(rules, join(w.dir, 'link'));
    const err = thrown(() => ignoreRules(ctx));
    expect(err).toBeInstanceOf(LsmError);
    expect(err?.message).not.toMatch(/^cannot read ignore rules/);
    expect(err?.message).toContain(join(w.dir, 'link'));
  });
});

describe('the sockets now', () => {
  it('what a snapshot records; every socket with all; established connections from the config unless the option says', () => {
    const w = runWorld();
    const ctx = resolveSettings(w.args);
    const recorded = collectNow(ctx);
    const all = collectNow(ctx, { all: true });
    const est = (c: typeof all) => c.sockets.filter((s) => s.state === 'ESTABLISHED' && s.kind === 'tcp').length;
    expect(est(recorded)).toBe(0);
    expect(est(all)).toBe(2);
    expect(all.sockets.length).toBeGreaterThan(recorded.sockets.length);
    expect(est(collectNow(ctx, { established: true }))).toBe(2);
    const withEst = resolveSettings({ ...w.args, config: runWorld({ ESTABLISHED: 'yes' }).config });
    expect(est(collectNow(withEst))).toBe(2);
    expect(est(collectNow(withEst, { established: false }))).toBe(0);
    // the snapshot: the text of each line, per file, as the lines say; established ones aggregated
    const plain = takeSnapshot(ctx);
    expect([...plain.snapshot.keys()]).toEqual([...plain.lines.keys()]);
    for (const [path, lines] of plain.lines) expect(plain.snapshot.get(path)).toEqual(lines.map((l) => l.line));
    const tcp = (s: ReturnType<typeof takeSnapshot>) => s.snapshot.get('host/tcp')!.join('\n');
    expect(tcp(plain)).not.toMatch(/127\.0\.0\.1:22 .*127\.0\.0\.1/);
    expect(tcp(takeSnapshot(withEst))).not.toEqual(tcp(plain));
    expect(tcp(takeSnapshot(withEst, { established: false }))).toEqual(tcp(plain));
    expect(tcp(takeSnapshot(ctx, { established: true }))).toEqual(tcp(takeSnapshot(withEst)));
    expect(plain.collection.stats.sockets).toBeGreaterThan(0);
  });
});

describe('warn', () => {
  it('one line on stderr, lsm\'s', () => {
    const chunks: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => { chunks.push(String(c)); return true; });
    warn('a thing failed');
    expect(chunks).toEqual(['lsm: a thing failed\n']);
    void stderrLines;
  });
});
