// The event log on real files: where the last line starts (searched backwards in 64 KiB chunks, so
// lines at and around a chunk's size), the one-line guard against a repeat after a kill, notices,
// and the modes of what appendEvent creates.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendEvent, appendNotice, lastEventId } from '../../src/alert/eventlog.js';
import type { Alert } from '../../src/alert/message.js';

const T = Date.UTC(2026, 0, 1);
const CHUNK = 1 << 16;
const hex = (n: number) => String(n).padStart(40, 'b');
const alert = (n: number, id = hex(n)): Alert => ({
  id, commit: hex(n), parent: null, host: 'web1', time: T + n,
  summary: '+1 -0: host/tcp +1', added: [{ path: 'host/tcp', line: `0.0.0.0:${n}  nc  root  /usr/bin/nc`, owners: [] }], removed: [], diff: '', repo: '/r',
});
/** An event line of exactly `length` bytes (without its newline), its id first as lsm writes it. */
const line = (id: string, length: number) => {
  const head = `{"id":"${id}","pad":"`;
  return `${head}${'p'.repeat(length - head.length - 2)}"}`;
};
const tmp = () => mkdtempSync(join(tmpdir(), 'lsm-mut-events-'));

describe('the id of the last line', () => {
  it('is found whatever the lengths of the last line and the one before it, around the 64 KiB chunk it is searched in', () => {
    const dir = tmp();
    const lengths = [60, CHUNK - 2, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK - 1, 2 * CHUNK, 2 * CHUNK + 1, 3 * CHUNK + 7];
    let k = 0;
    for (const before of [60, CHUNK - 1, CHUNK, CHUNK + 1]) {
      for (const last of lengths) {
        const p = join(dir, `log${k++}`);
        writeFileSync(p, `${line(hex(1), before)}\n${line(hex(2), last)}\n`);
        expect([before, last, lastEventId(p)]).toEqual([before, last, hex(2)]);
      }
    }
    // one line only: it starts at the file's start
    for (const only of [20 + 40, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK]) {
      const p = join(dir, `only${only}`);
      writeFileSync(p, `${line(hex(3), only)}\n`);
      expect([only, lastEventId(p)]).toEqual([only, hex(3)]);
    }
  });

  it('is null for a log that is missing, empty, a lone newline, or whose last line is a notice (id null) or not an event', () => {
    const dir = tmp();
    expect(lastEventId(join(dir, 'none'))).toBeNull();
    const cases: [string, string | null][] = [
      ['', null], ['\n', null], ['x\n', null], ['{}\n', null],
      [`${line(hex(1), 100)}\n{"id":null,"schema":1,"event":"spool-quarantine"}\n`, null],
      [`${line(hex(1), 100)}\n{"schema":1,"id":"${hex(2)}"}\n`, null], // an id not first is not where lsm writes it
      [` {"id":"${hex(5)}"}\n`, null], // an id where no line lsm writes has one
      [`[{"id":"${hex(6)}"}]\n`, null],
      [`{"id":"${hex(4)}"}\n`, hex(4)],
    ];
    for (const [i, [text, want]] of cases.entries()) {
      const p = join(dir, `log${i}`);
      writeFileSync(p, text);
      expect([text.slice(0, 30), lastEventId(p)]).toEqual([text.slice(0, 30), want]);
    }
  });
});

describe('appending', () => {
  it('an alert goes in once even when asked twice in a row; an alert that is not the last line is appended again (only the last line can be this one)', () => {
    const p = join(tmp(), 'events.jsonl');
    appendEvent(p, alert(1));
    appendEvent(p, alert(1));
    appendEvent(p, alert(2));
    appendEvent(p, alert(1));
    expect(readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l).id)).toEqual([hex(1), hex(2), hex(1)]);
    // a reminder of the same commit has its own id: not taken for the alert before it
    appendEvent(p, alert(1, `${hex(1)}-reminder-5`));
    expect(lastEventId(p)).toBe(`${hex(1)}-reminder-5`);
  });

  it("makes the log's directories (mode 750) and the log (mode 640); a notice is one line with id null, schema 1 and the time", () => {
    const dir = tmp();
    const p = join(dir, 'var', 'log', 'lsm', 'events.jsonl');
    appendEvent(p, alert(1));
    expect(statSync(join(dir, 'var', 'log', 'lsm')).mode & 0o777).toBe(0o750);
    expect(statSync(join(dir, 'var')).mode & 0o777).toBe(0o750);
    expect(statSync(p).mode & 0o777).toBe(0o640);
    const q = join(dir, 'n', 'events.jsonl');
    const before = Date.now();
    appendNotice(q, { event: 'spool-quarantine', file: 'x' });
    const after = Date.now();
    expect(statSync(join(dir, 'n')).mode & 0o777).toBe(0o750);
    expect(statSync(q).mode & 0o777).toBe(0o640);
    const text = readFileSync(q, 'utf8');
    expect(text.endsWith('}\n') && text.split('\n').length === 2).toBe(true);
    const n = JSON.parse(text);
    expect(Object.keys(n)).toEqual(['id', 'schema', 'time', 'event', 'file']);
    expect(n).toMatchObject({ id: null, schema: 1, event: 'spool-quarantine', file: 'x' });
    expect(n.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(n.time)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(n.time)).toBeLessThanOrEqual(after);
    // a notice after an alert's line (no id: nobody's record) does not hide it: not written again
    appendEvent(q, alert(2));
    appendNotice(q, { event: 'x' });
    appendEvent(q, alert(2));
    expect(readFileSync(q, 'utf8').trim().split('\n').map((l) => JSON.parse(l).id)).toEqual([null, hex(2), null]);
  });
});

describe('a torn last line (an append a full disk cut short)', () => {
  it("is nobody's record and is ended before the next line: the alert whose line was torn is written whole, on a line of its own", () => {
    const dir = tmp();
    const p = join(dir, 'events.jsonl');
    const whole = line(hex(1), 100);
    const torn = `{"id":"${hex(2)}","schema":1,"ti`;
    writeFileSync(p, `${whole}\n${torn}`);
    expect(lastEventId(p)).toBeNull();
    appendEvent(p, alert(2));
    appendEvent(p, alert(2)); // now it is the last line: not again
    const lines = readFileSync(p, 'utf8').split('\n');
    expect(lines.slice(0, 2)).toEqual([whole, torn]);
    expect(lines.slice(3)).toEqual(['']);
    expect(JSON.parse(lines[2]).id).toBe(hex(2));
    // a notice after a torn line is not glued to it either
    const q = join(dir, 'notices.jsonl');
    writeFileSync(q, torn);
    appendNotice(q, { event: 'x' });
    expect(readFileSync(q, 'utf8').split('\n').map((l, i) => (i === 1 ? JSON.parse(l).event : l))).toEqual([torn, 'x', '']);
  });
});

describe('descriptors', () => {
  it('reading the last id and appending leave no descriptor open (lsm watch runs for days)', () => {
    const p = join(tmp(), 'events.jsonl');
    const open = () => readdirSync('/proc/self/fd').length;
    appendEvent(p, alert(1));
    const before = open();
    for (let n = 2; n < 40; n++) {
      appendEvent(p, alert(n));
      appendNotice(p, { event: 'x' });
      lastEventId(p);
    }
    expect(open()).toBe(before);
  });
});
