// The escaping at every UTF-8 boundary the every-code-point test (test/unit/snapshot.test.ts) does
// not step on, a namespace's directory name, and the ignore rules' grammar: written against the
// mutants of src/snapshot that survived the fixture tests (test/MUTATION.md).
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { escapeField, escapeText } from '../../src/snapshot/escape.js';
import { isIgnored, parseIgnoreRules } from '../../src/snapshot/ignore.js';
import { labelDir, namespaceDir } from '../../src/snapshot/index.js';
import { LsmError } from '../../src/errors.js';

const bytes = (...b: number[]) => Buffer.from(b).toString('latin1');

describe('escapeField validates UTF-8 strictly at every boundary', () => {
  it.each([
    ['the last overlong 3-byte form (U+07FF)', [0xe0, 0x9f, 0xbf], '\\xe0\\x9f\\xbf'],
    ['the first 3-byte code point (U+0800)', [0xe0, 0xa0, 0x80], '\u0800'],
    ['the last code point before the surrogates (U+D7FF, unassigned)', [0xed, 0x9f, 0xbf], '\\u{d7ff}'],
    ['the last surrogate (U+DFFF)', [0xed, 0xbf, 0xbf], '\\xed\\xbf\\xbf'],
    ['the first code point after the surrogates (U+E000, private use)', [0xee, 0x80, 0x80], '\\u{e000}'],
    ['the last overlong 4-byte form (U+FFFF)', [0xf0, 0x8f, 0xbf, 0xbf], '\\xf0\\x8f\\xbf\\xbf'],
    ['the first 4-byte code point (U+10000)', [0xf0, 0x90, 0x80, 0x80], '\u{10000}'],
    ['the last code point (U+10FFFF, a noncharacter)', [0xf4, 0x8f, 0xbf, 0xbf], '\\u{10ffff}'],
    ['beyond Unicode (U+110000)', [0xf4, 0x90, 0x80, 0x80], '\\xf4\\x90\\x80\\x80'],
    ['a lead byte that starts nothing (0xF5)', [0xf5, 0x80, 0x80, 0x80], '\\xf5\\x80\\x80\\x80'],
    ['a sequence cut short at the end', [0x61, 0xe2, 0x82], 'a\\xe2\\x82'],
    ['a sequence cut short by an ASCII byte', [0xe2, 0x82, 0x41], '\\xe2\\x82A'],
    ['a whole 3-byte sequence at the end', [0x61, 0xe2, 0x82, 0xac], 'a\u20ac'],
    ['the first 2-byte code point (U+0080, a control)', [0xc2, 0x80], '\\u{80}'],
    ['DEL and the last printable ASCII', [0x7e, 0x7f], '~\\x7f'],
  ])('%s', (_name, b, escaped) => {
    expect(escapeField(bytes(...b))).toBe(escaped);
  });

  it('a character above 0xFF (the input was not latin1) is escaped as its code point, never taken as a byte', () => {
    expect(escapeField('\u65e5')).toBe('\\u{65e5}');
    expect(escapeField('\xc3\u0180')).toBe('\\xc3\\u{180}'); // 0x180 looks like a continuation byte (10xxxxxx) in its low bits
    expect(escapeField('a\u2028')).toBe('a\\u{2028}');
  });

  it('escapeText escapes a string of text (a user argument) by its UTF-8 bytes', () => {
    expect(escapeText('plain')).toBe('plain');
    expect(escapeText('/run/a b')).toBe('/run/a\\x20b');
    expect(escapeText('caf\u00e9 \u65e5')).toBe('caf\u00e9\\x20\u65e5');
    expect(escapeText('\u2028')).toBe('\\u{2028}');
  });
});

describe('a namespace directory', () => {
  it('writes %, \\, /, ~ and a leading or trailing dot as escapes, so the name is one plain directory', () => {
    expect([labelDir('a b'), labelDir('%'), labelDir('a\\b'), labelDir('a/b'), labelDir('git~1'), labelDir('.'), labelDir('..'), labelDir('.git'), labelDir('x..')])
      .toEqual(['a%x20b', '%25', 'a%%b', 'a%x2fb', 'git%x7e1', '%x2e', '%x2e%x2e', '%x2egit', 'x.%x2e']);
    expect([namespaceDir('web', false), namespaceDir('host', true), namespaceDir('a b', false)]).toEqual(['netns/web', 'host', 'netns/a%x20b']);
  });

  it('an empty label is a name of its own, not empty and not the one of the label ""', () => {
    expect(labelDir('')).not.toBe('');
    expect(labelDir('')).not.toBe(labelDir('""'));
    expect(labelDir('')).toMatch(/^[^./\\\s]+$/);
  });

  it('keeps a label of 200 bytes whole; a longer one is cut at 200 bytes (never inside a character) plus a hash of the whole label', () => {
    const hash = (label: string) => createHash('sha256').update(Buffer.from(label, 'latin1')).digest('hex').slice(0, 16);
    expect(labelDir('x'.repeat(200))).toBe('x'.repeat(200));
    const x201 = 'x'.repeat(201);
    expect(labelDir(x201)).toBe(`${'x'.repeat(200)}%h${hash(x201)}`);
    // 150 two-byte characters: 300 bytes; the cut keeps 100 of them (200 bytes)
    const e150 = Buffer.from('\u00e9'.repeat(150), 'utf8').toString('latin1');
    expect(labelDir(e150)).toBe(`${'\u00e9'.repeat(100)}%h${hash(e150)}`);
    // 67 three-byte characters (201 bytes): the 200-byte cut would split the 67th
    const j67 = Buffer.from('\u65e5'.repeat(67), 'utf8').toString('latin1');
    expect(labelDir(j67)).toBe(`${'\u65e5'.repeat(66)}%h${hash(j67)}`);
  });
});

describe('ignore rules', () => {
  it('a kind applies to that kind in every namespace and to no other kind; * to every file; a path glob to the paths it matches', () => {
    const line = '0.0.0.0:68  x  root  /x';
    const kind = parseIgnoreRules('udp *:68');
    expect([isIgnored(kind, 'host/udp', line), isIgnored(kind, 'netns/a/udp', line), isIgnored(kind, 'host/tcp', line), isIgnored(kind, 'host/xudp', line)])
      .toEqual([true, true, false, false]);
    const all = parseIgnoreRules('* *:68');
    expect([isIgnored(all, 'host/tcp', line), isIgnored(all, 'netns/b/raw', line)]).toEqual([true, true]);
    const glob = parseIgnoreRules('netns/*/udp *:68');
    expect([isIgnored(glob, 'netns/a/udp', line), isIgnored(glob, 'host/udp', line), isIgnored(glob, 'netns/a/tcp', line)]).toEqual([true, false, false]);
    expect(isIgnored([], 'host/udp', line)).toBe(false);
  });

  it('a pattern matches the whole line or its endpoint, not a field in the middle', () => {
    const rules = parseIgnoreRules('* root');
    expect(isIgnored(rules, 'host/tcp', '0.0.0.0:22  sshd  root  /usr/sbin/sshd')).toBe(false);
    expect(isIgnored(parseIgnoreRules('* *root*'), 'host/tcp', '0.0.0.0:22  sshd  root  /usr/sbin/sshd')).toBe(true);
    expect(isIgnored(parseIgnoreRules('unix /run/a'), 'host/unix', '/run/a  stream  x  root  /x')).toBe(true);
    expect(isIgnored(parseIgnoreRules('unix /run/a'), 'host/unix', '/run/ab  stream  x  root  /x')).toBe(false);
  });

  it("'#' starts a comment at the start of a line or after a space, not inside a pattern; blank lines are nothing", () => {
    const rules = parseIgnoreRules('# a comment\n\n   \nunix /run/a#b   # why\n  # indented comment\n', 'f');
    expect(rules).toHaveLength(1);
    expect(rules[0].source).toBe('f:4');
    expect(isIgnored(rules, 'host/unix', '/run/a#b  stream  x  root  /x')).toBe(true);
    expect(isIgnored(rules, 'host/unix', '/run/a  stream  x  root  /x')).toBe(false);
    expect(parseIgnoreRules('udp\t\t*:68')).toHaveLength(1); // tabs separate WHERE and PATTERN too
  });

  it('\\ quotes the next character; a \\ at the very end is a backslash', () => {
    const end = parseIgnoreRules('* a\\');
    expect([isIgnored(end, 'host/tcp', 'a\\'), isIgnored(end, 'host/tcp', 'a'), isIgnored(end, 'host/tcp', 'ab')]).toEqual([true, false, false]);
    const star = parseIgnoreRules('* a\\*');
    expect([isIgnored(star, 'host/tcp', 'a*'), isIgnored(star, 'host/tcp', 'ab')]).toEqual([true, false]);
    const q = parseIgnoreRules('* ?\\?');
    expect([isIgnored(q, 'host/tcp', 'x?'), isIgnored(q, 'host/tcp', 'xy'), isIgnored(q, 'host/tcp', '?')]).toEqual([true, false, false]);
    const stars = parseIgnoreRules('* a**b');
    expect([isIgnored(stars, 'host/tcp', 'ab'), isIgnored(stars, 'host/tcp', 'axxb'), isIgnored(stars, 'host/tcp', 'axxc')]).toEqual([true, true, false]);
  });

  it('a rule it cannot read is a usage error (exit 2) naming the file, the line and what was expected', () => {
    const err = (text: string, source?: string) => { try { parseIgnoreRules(text, source); } catch (e) { return e as LsmError; } throw new Error('no error'); };
    const kind = err('udp *:68\n\nbogus *:1\n', '/etc/lsm/ignore');
    expect(kind).toBeInstanceOf(LsmError);
    expect(kind.exitCode).toBe(2);
    expect(kind.message).toBe("/etc/lsm/ignore:3: unknown kind 'bogus' (expected tcp, udp, raw, packet, unix, unattributed, * or a path like host/udp)");
    const one = err('# x\njustoneword');
    expect(one.exitCode).toBe(2);
    expect(one.message).toBe("ignore rules:2: a rule needs WHERE and PATTERN, e.g. 'udp *:68'");
    expect(parseIgnoreRules('tcp *:22\nudp *:68', 'g').map((r) => r.source)).toEqual(['g:1', 'g:2']);
  });
});
