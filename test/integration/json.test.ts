// Every --json output has one shape (docs/json.md): an object with "schema", times as
// RFC 3339 UTC with milliseconds, one change object, and sockets as objects beside their line
// text. Each command is run for real (fixture /proc trees, a real repository) and its output
// checked against that schema.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LSM } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const OID = /^[0-9a-f]{40}$/;
type J = Record<string, unknown>;

function socket(s: J, where: string): void {
  expect(Object.keys(s).sort(), where).toEqual(expect.arrayContaining(['namespace', 'kind', 'endpoint', 'address', 'port', 'protocol', 'type', 'owners']));
  expect(['tcp', 'udp', 'raw', 'packet', 'unix'], where).toContain(s.kind);
  expect(typeof s.namespace, where).toBe('string');
  expect(typeof s.endpoint, where).toBe('string');
  expect(s.port === null || (Number.isInteger(s.port) && (s.port as number) >= 0 && (s.port as number) <= 65535), where).toBe(true);
  if (s.kind === 'tcp' || s.kind === 'udp') expect(s.port !== null || String(s.endpoint).includes('->'), where).toBe(true);
  expect(Array.isArray(s.owners), where).toBe(true);
  if ('line' in s) {
    // a snapshot line: its text starts with the endpoint, and its path names namespace and kind
    expect(String(s.line).startsWith(String(s.endpoint)), where).toBe(true);
    expect(s.path, where).toBe(s.namespace === 'host' ? `host/${s.kind}` : `netns/${s.namespace}/${s.kind}`);
    for (const o of s.owners as J[]) expect(Object.keys(o).sort(), where).toEqual(['comm', 'exe', 'users']);
  }
}

function change(c: J | null, where: string, live = false): void {
  if (c === null) return;
  expect(Object.keys(c).sort(), where).toEqual(['added', 'commit', 'parent', 'removed', 'summary', 'time']);
  expect(live ? c.commit === null : OID.test(String(c.commit)), where).toBe(true);
  expect(c.parent === null || OID.test(String(c.parent)), where).toBe(true);
  expect(c.time === null || TIME.test(String(c.time)), where).toBe(true);
  expect(typeof c.summary, where).toBe('string');
  for (const s of [...(c.added as J[]), ...(c.removed as J[])]) socket(s, where);
}

function drift(d: J, where: string): void {
  for (const k of ['baseline', 'head']) expect(d[k] === null || OID.test(String(d[k])), where).toBe(true);
  if (d.approved) expect(String((d.approved as J).time), where).toMatch(TIME);
  for (const l of d.drift as J[]) {
    socket(l, where);
    expect(['added', 'removed'], where).toContain(l.change);
    expect(String(l.since), where).toMatch(TIME);
  }
}

/** Every output is one object with the schema version. */
function parse(text: string, where: string): J {
  const o = JSON.parse(text) as J;
  expect(o.schema, where).toBe(1);
  return o;
}

describe('JSON output', () => {
  it('has one shape across scan, check, log, show, diff, drift, blame and status', { timeout: 240_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-json-'));
    const repo = join(dir, 'repo');
    const config = testConfig(join(dir, 'etc'));
    const proc = (name: string) => join(__dirname, '..', 'fixtures', name, 'proc');
    const lsm = (fixture: string, ...args: string[]) => {
      const r = spawnSync(process.execPath, [LSM, ...args, '--proc', proc(fixture), '--repo', repo], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', LSM_CONFIG: config } });
      expect(r.stderr, args.join(' ')).not.toMatch(/internal error/);
      return r.stdout;
    };
    const first = parse(lsm('basic', 'scan', '--json'), 'scan (first)');
    change(first.change as J, 'scan (first)');
    expect(lsm('basic', '-g', '-q')).toBe('');
    expect(parse(lsm('basic', 'scan', '--json'), 'scan (no change)')).toEqual({ schema: 1, change: null });
    const checked = parse(lsm('hostile', 'check', '--json'), 'check');
    change(checked.change as J, 'check');
    expect((checked.change as J).added).not.toEqual([]);
    drift(checked, 'check');
    expect(checked.drift).not.toEqual([]);
    expect(typeof checked.reminded).toBe('boolean');

    const log = lsm('basic', 'log', '--json').trim().split('\n');
    expect(log).toHaveLength(2);
    for (const l of log) change(parse(l, 'log').change as J, 'log');
    const show = parse(lsm('basic', 'show', '--json'), 'show');
    change(show.change as J, 'show');
    expect(show.change).toEqual(checked.change); // one change object, whichever command prints it
    expect(JSON.parse(log[0]).change).toEqual(checked.change);

    const diff = parse(lsm('basic', 'diff', 'baseline', 'HEAD', '--json'), 'diff A B');
    change(diff.change as J, 'diff A B');
    expect((diff.change as J).added).toEqual((checked.change as J).added);
    // each side's commit time (issue 20: it was null): the change's time is the newer side's, as show gives it
    const firstChange = JSON.parse(log[1]).change as J;
    expect((diff.change as J).time).toBe((show.change as J).time);
    expect(diff.from).toEqual({ commit: firstChange.commit, time: firstChange.time });
    expect(diff.to).toEqual({ commit: (show.change as J).commit, time: (show.change as J).time });
    const live = parse(lsm('basic', 'diff', '--json'), 'diff (now)');
    change(live.change as J, 'diff (now)', true);
    expect(String((live.change as J).time)).toMatch(TIME); // the sockets now: the scan's time
    expect(live.to).toEqual({ commit: null, time: (live.change as J).time });
    expect((live.from as J).commit).toBe((show.change as J).commit);

    // the configuration too (issue 20: it had no schema)
    const shownConfig = parse(lsm('basic', 'config', '--json'), 'config');
    expect((shownConfig.values as J[]).map((v) => v.key)).toContain('INTERVAL');
    expect((live.change as J).added).toEqual((checked.change as J).removed); // back to basic's sockets

    drift(parse(lsm('basic', 'drift', '--json'), 'drift'), 'drift');

    const sock = (checked.change as J[] & J).added as J[];
    const port = sock.find((s) => s.kind === 'tcp' && s.port !== null)!.port;
    const blame = parse(lsm('basic', 'blame', '--json', '--all', String(port)), 'blame');
    expect((blame.matches as J[]).length).toBeGreaterThan(0);
    for (const b of blame.matches as J[]) {
      socket(b, 'blame');
      expect(typeof b.present).toBe('boolean');
      for (const i of b.intervals as { from: J; to: J | null }[]) {
        expect(String(i.from.time)).toMatch(TIME);
        if (i.to) expect(String(i.to.time)).toMatch(TIME);
      }
    }

    // the event log (and so hooks) writes its times the same way
    const events = readFileSync(join(dir, 'etc', 'events.jsonl'), 'utf8').trim().split('\n').map((l) => parse(l, 'event log'));
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) {
      expect(String(e.time)).toMatch(TIME);
      for (const l of e.added as { owners: J[] }[]) for (const o of l.owners) expect(o.startedAt === null || TIME.test(String(o.startedAt))).toBe(true);
    }
    expect((events.at(-1)!.added as { owners: J[] }[]).some((l) => l.owners.length > 0)).toBe(true);

    const status = parse(lsm('hostile', 'status', '--json', '--all'), 'status');
    expect((status.sockets as J[]).length).toBeGreaterThan(0);
    for (const s of status.sockets as J[]) {
      socket(s, 'status');
      for (const o of s.owners as J[]) {
        expect(Number.isInteger(o.pid)).toBe(true);
        expect(o.startedAt === null || TIME.test(String(o.startedAt))).toBe(true);
      }
    }
  });
});
