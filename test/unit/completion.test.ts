// Shell completion answers from a table (completion-table.ts) so that a TAB loads neither yargs nor
// any command. The table is derived from the yargs definitions (completion-spec.ts): this test fails
// when they drift apart. The answers: user commands only (not the fleet's hooks), after global
// options and LSM's flags too, in each shell's format.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { INTERNAL, completionSpec, tableSource } from '../../src/cli/completion-spec.js';
import { TABLE } from '../../src/cli/completion-table.js';
import { answer, askingShell, complete } from '../../src/cli/completion.js';

const names = (words: string[]) => complete(['lsm', ...words], 'bash');

describe('the completion table', () => {
  it('is what the yargs definitions give now (else: npx tsc -p tsconfig.json && node dist/cli/completion-spec.js)', async () => {
    const spec = await completionSpec();
    expect(TABLE).toEqual(spec);
    expect(readFileSync(new URL('../../src/cli/completion-table.ts', import.meta.url), 'utf8')).toBe(tableSource(spec));
  });

  it('holds every user command, and their options, but not the hooks', () => {
    expect(TABLE.commands.map((c) => c.name)).toEqual(expect.arrayContaining(['scan', 'check', 'blame', 'fleet', 'completion']));
    const fleet = TABLE.commands.find((c) => c.name === 'fleet')!;
    expect(fleet.commands.map((c) => c.name)).toEqual(expect.arrayContaining(['init', 'status', 'where', 'log', 'blame', 'diff', 'check']));
    for (const internal of INTERNAL) expect(fleet.commands.map((c) => `fleet ${c.name}`)).not.toContain(internal);
    expect(INTERNAL).toEqual(['fleet guard', 'fleet receive', 'fleet deliver']);
  });
});

describe('complete', () => {
  it('offers the commands, the fleet\'s without its hooks, and completes the word after global options', () => {
    expect(names([''])).toContain('blame');
    expect(names(['fleet', ''])).toEqual(['init', 'status', 'check', 'where', 'log', 'blame', 'diff', 'reindex', 'verify']);
    expect(names(['--repo', '/x', '--no-color', ''])).toEqual(names(['']));
    expect(names(['--repo', '/x', 'fleet', '--fleet', '/srv/f', ''])).toEqual(names(['fleet', '']));
  });

  it("offers a command's own options, its parents' and the global ones, each once", () => {
    const blame = names(['blame', '--']);
    expect(blame).toEqual(expect.arrayContaining(['--all', '--json', '--repo', '--config', '--help', '--no-color']));
    expect(blame).not.toContain('--proc'); // hidden
    expect(names(['fleet', 'status', '--'])).toEqual(expect.arrayContaining(['--fleet', '--silent-after', '--json', '--repo']));
    expect(names(['blame', '--json', '--'])).not.toContain('--json');
    expect(names(['log', '-'])).toEqual(expect.arrayContaining(['-n', '--max-count', '-p', '--patch']));
    expect(names(['log', '--'])).not.toContain('-n');
  });

  it("completes after LSM's flags as after their commands", () => {
    expect(names(['-c', '--'])).toEqual(names(['check', '--']));
    expect(names(['--repo', '/x', '-g', '--'])).toEqual(names(['--repo', '/x', 'baseline', '--']));
  });

  it("offers a positional's choices, and nothing (the shell's file names) for a value or free text", () => {
    expect(names(['completion', ''])).toEqual(['bash', 'zsh', 'fish']);
    expect(names(['--repo', ''])).toEqual([]);
    expect(names(['--config', '/etc/l'])).toEqual([]);
    expect(names(['blame', ''])).toEqual([]);
    expect(names(['scan', '--', ''])).toEqual([]);
  });

  it("answers in each shell's format: zsh name:description (colons escaped), fish name<TAB>description", () => {
    expect(complete(['lsm', 'fleet', ''], 'zsh')[0]).toMatch(/^init:make DIR a bare repository/);
    expect(complete(['lsm', 'blame', '--'], 'fish')).toContain('--all\talso lines that are gone now');
    expect(askingShell({ LSM_COMPLETION_SHELL: 'fish', SHELL: '/bin/zsh' })).toBe('fish');
    expect(askingShell({ SHELL: '/usr/bin/zsh' })).toBe('zsh'); // a script yargs wrote: as yargs tells
    expect(askingShell({ SHELL: '/usr/bin/fish' })).toBe('fish');
    expect(askingShell({})).toBe('bash');
    expect(answer(['--get-yargs-completions', 'lsm', 'fleet', 'st'], {})).toBe(`${names(['fleet', '']).join('\n')}\n`);
  });
});
