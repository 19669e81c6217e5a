// lsm's reading of .git/config's grammar (src/store/git-config.ts) against real git's: a text git
// refuses is damage (git log fails fatally on it), a text git reads is not (resetting it would lose
// e.g. [lsm] packEvery). Every case is judged by the real `git config --list`, never by hand.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configBadLine } from '../../src/store/git-config.js';

const dir = mkdtempSync(join(tmpdir(), 'lsm-git-config-'));
const file = join(dir, 'config');
const gitReads = (text: string) => {
  writeFileSync(file, text);
  return spawnSync('git', ['config', '--file', file, '--list'], { encoding: 'utf8' }).status === 0;
};

const CASES = [
  '[core]\n\tbare = false\n', '[core]\r\n\tbare\r\n', '[core]\n\tx = a \\\n b\n', '[core] bare = true\n', '[core]\n\tx = "a\n',
  '[core]\n\tx = a\\q\n', '[a "b\\q"]\nx=1\n', '[a "b" ]\nx=1\n', '[a.b]\nx=1\n', '[a_b]\nx=1\n', '[core]\n\t1x = 2\n', '[core]\n\tx_y = 2\n',
  '[core]\n\tx = 2 # c\n', '[core]\n\tx = "a;b" ;c\n', '\uFEFF[core]\nx=1\n', '[core]\nx=1', '[core]\n\tx\n', '[core]\nx\r=1\n', '[core]\nx =\r1\n',
  '[core]\rx=1\n', '[]\nx=1\n', '[core]\n\tx = a\\\n', '[core]\n\tx = "a\\\nb"\n', '[a "b\nc"]\nx=1\n', '[core]\n\tx = \\', '[ "x"]\ny=1\n',
  '[core]\ngarbage [ line\n', 'key = v\n', '[a "b"]x=1\n', '[a\n]\n', '[a "b\\\n"]\n', '[core]\n\tx = "\\t\\n\\b\\\\\\""\n', '# c\n; c\n\n[s]\n',
];

// random texts from the pieces the grammar turns on
function randomTexts(n: number): string[] {
  const pieces = ['[', ']', '"', '\\', '\n', '\r\n', '\r', ' ', '\t', '=', '#', ';', 'a', 'Z', '1', '-', '_', '.', 'core', 'x = ', '[s]\n', '[s "t"]\n', '\\n', '\\q'];
  let seed = 42;
  const rand = (m: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % m; };
  return Array.from({ length: n }, () => '[s]\n' + Array.from({ length: 1 + rand(12) }, () => pieces[rand(pieces.length)]).join(''));
}

describe('.git/config as git reads it', () => {
  it('lsm accepts exactly what real git accepts (hand-picked and 100 random texts)', () => {
    const wrong = [...CASES, ...randomTexts(100)].filter((t) => (configBadLine(t) === -1) !== gitReads(t));
    expect(wrong.map((t) => JSON.stringify(t))).toEqual([]);
  });

  it('every value real git config writes reads back (quotes, backslashes, newlines, comment characters, spaces at the ends)', () => {
    writeFileSync(file, '[core]\n\tbare = false\n');
    const values = ['plain', ' lead', 'trail ', 'a "quoted" word', 'back\\slash', 'two\nlines', 'hash # and ; semi', 'tab\there', '\\', '"', ''];
    for (const [i, v] of values.entries()) execFileSync('git', ['config', '--file', file, `lsm.key${i}`, v]);
    execFileSync('git', ['config', '--file', file, 'lsm.packEvery', '50']);
    execFileSync('git', ['config', '--file', file, 'sub.x "y".z', 'w']);
    const text = readFileSync(file, 'utf8');
    expect(configBadLine(text)).toBe(-1);
    expect(configBadLine(text.replace(/\n/g, '\r\n'))).toBe(-1); // as an editor on another system leaves it
    expect(configBadLine(`${text}\tbroken = "unclosed\n`)).toBe(text.split('\n').length - 1);
  });
});
