// README is read in five minutes (issue 20.1) and must stay true: its first screen gives the two
// commands (.ci/run runs the same test command), its tables are the code's (exit codes from
// src/errors.ts and cli/exit.ts, config keys and defaults from src/config.ts, every command of
// src/cli/commands.ts), and every link into docs/ reaches a file and a heading that exist.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EXIT } from '../../src/errors.js';
import { INTERNAL_ERROR } from '../../src/cli/exit.js';
import { KEYS } from '../../src/config.js';
import { commands } from '../../src/cli/commands.js';

const ROOT = join(__dirname, '..', '..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const README = read('README.md');
const lines = README.split('\n');
/** The rows of the markdown table that follows the heading `## title`: cells, backticks kept. */
function table(title: string, text = lines): string[][] {
  const at = text.indexOf(`## ${title}`);
  expect(at, title).toBeGreaterThan(0);
  const start = text.findIndex((l, i) => i > at && l.startsWith('| --- |'));
  const rows: string[][] = [];
  for (let i = start + 1; text[i]?.startsWith('|'); i++) rows.push(text[i].slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
  return rows;
}

describe('README', () => {
  it('about 200 lines; the first screen holds the install-and-scan command and the test command, which .ci/run runs', () => {
    expect(lines.length).toBeLessThanOrEqual(220);
    const first = lines.slice(0, 12).join('\n');
    expect(first).toMatch(/^npm ci && bin\/lsm scan +#/m);
    expect(first).toMatch(/^npm test +#/m);
    expect(read('.ci/run')).toMatch(/\nnpm ci\nnpm test\n$/);
  });

  it("the exit-code table is the code's: every exit code lsm has, and no other", () => {
    const codes = table('Exit codes').map(([c]) => Number(c));
    expect(codes).toEqual([...new Set([...Object.values(EXIT), INTERNAL_ERROR, 141])].sort((a, b) => a - b));
    expect(table('Exit codes', read('docs/exit-codes.md').split('\n')).map(([c]) => Number(c))).toEqual(codes); // every case, the same codes
  });

  it("the config table is src/config.ts's keys, with root's defaults where the default is a value", () => {
    const rows = table('Config');
    expect(rows.map(([k]) => k.replace(/`/g, '')).sort()).toEqual(Object.keys(KEYS).sort());
    const env = { root: true, configDir: '/etc/lsm', stateDir: '/var/lib/lsm' };
    for (const [key, def] of rows) {
      const k = key.replace(/`/g, '');
      if (def === 'empty') expect(KEYS[k].default(env), k).toBe('');
      else if (/^`[^`]*`$/.test(def)) expect(KEYS[k].default(env), k).toBe(def.slice(1, -1));
    }
  });

  it('the commands table names every command', () => {
    const names = table('Commands').map(([c]) => c).join(' ');
    for (const c of commands) expect(names, String(c.command)).toContain(`lsm ${String(c.command).split(' ')[0]}`);
  });

  it('every link into docs/ reaches a file, and its #anchor a heading there', () => {
    const slug = (h: string) => h.toLowerCase().replace(/[^\w\s-]/g, '').trim().replace(/\s/g, '-');
    const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    let links = 0;
    for (const page of pages) {
      for (const [, target, anchor] of read(page).matchAll(/\]\(([^)#\s]*\.md)?(?:#([^)\s]+))?\)/g)) {
        const file = target ? join(dirname(page), target) : page;
        expect(existsSync(join(ROOT, file)), `${page} -> ${file}`).toBe(true);
        if (anchor) expect(read(file).split('\n').filter((l) => l.startsWith('#')).map((l) => slug(l.replace(/^#+\s*/, ''))), `${page} -> ${file}#${anchor}`).toContain(anchor);
        links++;
      }
    }
    expect(links).toBeGreaterThan(15);
  });

  it("docs/fleet.md's lsm fleet init line uses only options init has", () => {
    const fleet = read('docs/fleet.md');
    const init = /^lsm fleet init (?:[^\n]*\\\n)*[^\n]*/m.exec(fleet)![0];
    const flags = [...init.matchAll(/--([a-z-]+)/g)].map((m) => m[1]);
    expect(flags).toEqual(['config', 'listen', 'port', 'htpasswd', 'web-user']);
    const src = read('src/cli/fleet.ts');
    for (const f of flags.slice(1)) expect(src).toMatch(new RegExp(`'?${f}'?: \\{ type:`));
  });
});
