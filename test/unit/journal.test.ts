// Reading the journal without parsing it: a search for a matcher's needle must find every record a
// full parse would match (escaped text included), and the line readers must leave a torn last line out.
import { describe, expect, it } from 'vitest';
import { blame, lineMatcher } from '../../src/store/blame.js';
import { jsonNeedle, lastCommit, linesBackward, linesWith, parseRecords, recordTime, type JournalRecord } from '../../src/store/journal-read.js';
import { escapeField } from '../../src/snapshot/escape.js';

const esc = (s: string) => escapeField(Buffer.from(s, 'utf8').toString('latin1'));
// lines as snapshots hold them (names escaped: a newline is the four characters \x0a), and a few
// that only JSON escaping keeps on one journal line
const LINES: [string, string][] = [
  ['host/tcp', '0.0.0.0:22  sshd  root  /usr/sbin/sshd'],
  ['host/tcp', '[::1]:631  cupsd  root  /usr/sbin/cupsd'],
  ['host/tcp', '127.0.0.1:631  cupsd  root  /usr/sbin/cupsd'],
  ['host/tcp', `0.0.0.0:8022  ${esc('my"app')}  root  ${esc('/opt/a b/app')}`],
  ['host/udp', '0.0.0.0:53  dnsmasq  nobody  /usr/sbin/dnsmasq'],
  ['host/unix', `${esc('/run/a\nb.sock')}  stream  app  root  /usr/bin/app`],
  ['host/unix', `@abs  stream  café  root  ${esc('/usr/bin/caf\u202ee')}`],
  ['netns/0123456789ab/tcp', '0.0.0.0:80  nginx  root,www-data  /usr/sbin/nginx 😀'],
  ['host/raw', 'x"y\\z\ttab\nnewline'],
];

/** A seeded history: each record adds or removes a few of LINES. */
function history(n: number): JournalRecord[] {
  let x = 7;
  const rand = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const present = new Set<number>();
  const records: JournalRecord[] = [];
  for (let i = 0; i < n; i++) {
    const rec: JournalRecord = { c: i.toString(16).padStart(40, '0'), p: i ? (i - 1).toString(16).padStart(40, '0') : null, t: 1e12 + i * 1000, s: `change ${i}`, a: [], r: [] };
    for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) {
      const j = Math.floor(rand() * LINES.length);
      (present.has(j) ? rec.r : rec.a).push(LINES[j]);
      if (present.has(j)) present.delete(j); else present.add(j);
    }
    records.push(rec);
  }
  return records;
}

const bytes = (records: JournalRecord[]) => Buffer.from(records.map((r) => JSON.stringify(r) + '\n').join(''), 'utf8');

describe('journal search', () => {
  it('finds, by needle alone, every record a full parse matches: blame answers the same', () => {
    const records = history(300);
    const buf = bytes(records);
    const asks = ['22', '22/tcp', '631', '53/udp', '127.0.0.1:631', '[::1]:631', '/run/a\nb.sock', '@abs', 'my"app', '/opt/a b', 'a\\x0ab',
      'café', '\u202e', '😀', '\ud83d', 'x"y\\z\ttab\nnewline', 'nothing-like-it'];
    for (const what of asks) {
      const match = lineMatcher(what);
      const found = [...parseRecords(linesWith(buf, [match.needle]))];
      expect(blame(found, match), what).toEqual(blame(records, match));
      for (const rec of records) {
        if ([...rec.a, ...rec.r].some(([p, l]) => match(p, l))) expect(found, what).toContainEqual(rec);
      }
    }
    expect(blame(records, lineMatcher('a\\x0ab'))).toHaveLength(1); // the escaped newline, asked as text
  });

  it('writes needles as JSON does, and gives up on a lone surrogate', () => {
    expect(jsonNeedle('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    expect(jsonNeedle('/run/a\\x0ab')).toBe('/run/a\\\\x0ab');
    expect(jsonNeedle('😀')).toBe('😀');
    expect(jsonNeedle('\ud83d')).toBe(''); // half of 😀: JSON writes it escaped alone, as is in a pair
    expect(jsonNeedle('\ude00x')).toBe('');
  });

  it('needs every needle; takes a match at the first byte; skips empty lines', () => {
    const buf = Buffer.from('{"c":"a","t":1}\n\n{"c":"b","t":2,"s":"x y"}\n{"c":"c","t":3,"s":"x"}\n');
    expect([...linesWith(buf, ['{"c'])].length).toBe(0); // needles are text, written as JSON writes it
    expect([...linesWith(buf, ['c'])].length).toBe(3);
    expect([...linesWith(buf, ['x', 'y'])]).toEqual(['{"c":"b","t":2,"s":"x y"}']);
    expect([...linesWith(buf)].length).toBe(3);
  });

  it('leaves out a torn last line, reading forward or backward', () => {
    const records = history(5);
    const whole = bytes(records);
    const torn = Buffer.concat([whole, Buffer.from(JSON.stringify(history(6)[5]).slice(0, 30))]);
    expect([...parseRecords(linesWith(torn))]).toEqual(records);
    expect([...linesBackward(torn)].map((l) => JSON.parse(l))).toEqual([...records].reverse());
    expect(lastCommit(torn)).toBe(records[4].c);
    expect(lastCommit(Buffer.alloc(0))).toBeNull();
    expect([...linesBackward(Buffer.from('\n\n{"c":"a"}\n'))]).toEqual(['{"c":"a"}']);
    expect(lastCommit(Buffer.from('{"c":"a"}\n{"c":"b", torn but with its newline\n'))).toBeNull();
  });

  it('reads a record time without parsing, whatever the key order or number form', () => {
    const rec = history(1)[0];
    expect(recordTime(JSON.stringify(rec))).toBe(rec.t);
    expect(recordTime('{"s":"\\"t\\":5, not a key","t":7,"c":"x"}')).toBe(7);
    expect(recordTime('{"c":"x","t":1.5e3}')).toBe(1500);
    expect(recordTime('{"c":"x","t":-2}')).toBe(-2);
    expect(recordTime('not json')).toBeNaN();
  });
});
