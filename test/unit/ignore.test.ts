// Ignore rules match in linear time: a glob is never a backtracking regular expression.
import { describe, expect, it } from 'vitest';
import { isIgnored, parseIgnoreRules } from '../../src/snapshot/ignore.js';

describe('ignore rules match without backtracking', () => {
  // the case: four '*' against a 909-character exe path took 21 s, growing ~n^3.5; at
  // 4,096 characters a backtracking matcher would not finish within this test's time limit
  it('a rule of many * against a 4,096-character line that almost matches', { timeout: 20_000 }, () => {
    const line = `/run/user/1000/${'a/'.repeat(2030)}x.sockX  stream  svc  root  /usr/bin/${'b'.repeat(5)}`.slice(0, 4096);
    expect(line.length).toBe(4096);
    const many = parseIgnoreRules(`unix /run/user/*/*/*/*.sock\nunix ${'*a'.repeat(40)}*.sock\n* ${'*/'.repeat(30)}*z`, 'ignore');
    expect(isIgnored(many, 'host/unix', line)).toBe(false); // every rule fails at the very end
    const hit = parseIgnoreRules(`unix /run/user/*/*/*/*.sockX`, 'ignore');
    expect(isIgnored(hit, 'host/unix', line)).toBe(true); // the endpoint alone matches
  });

  // the same answers as the regular expressions they replace, on every small case
  it('means what the globs meant: * any text, ? one character, \\ quotes', () => {
    const toRegExp = (g: string) => new RegExp(`^${g.replace(/\\(.)|([*?])|([.+^${}()|[\]\\/])/g, (_, q, w, s) => (q !== undefined ? q.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&') : w === '*' ? '.*' : w === '?' ? '.' : `\\${s}`))}$`, 's');
    const alphabet = ['a', 'b', '*', '?', '\\*', '\\?', '.', '\\\\'];
    const texts = ['', 'a', 'b', 'ab', 'ba', 'aab', 'abab', '*', '?', 'a*b', '.', 'a.b', '\\', 'a\nb'];
    let seed = 7;
    const rand = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    const differ: string[] = [];
    for (let k = 0; k < 2000; k++) {
      const glob = Array.from({ length: 1 + rand(5) }, () => alphabet[rand(alphabet.length)]).join('');
      const rules = parseIgnoreRules(`* ${glob}`, 'g');
      for (const text of texts) if (isIgnored(rules, 'host/tcp', text) !== toRegExp(glob).test(text)) differ.push(`${glob} ~ ${JSON.stringify(text)}`);
    }
    expect(differ).toEqual([]);
  });
});
