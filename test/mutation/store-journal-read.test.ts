// Reading the journal: a line that is not a record is damage, named (never skipped); a missing
// journal reads as empty. And unified diffs of files sorted another way (a file from an older lsm)
// with more than the merge walk's share of changes: still a patch the real `git apply` applies.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalDamaged, journalBytes, journalPath, lastCommit, linesWith, parseRecord, parseRecords, readJournal } from '../../src/store/journal-read.js';
import { unifiedDiff } from '../../src/store/history.js';
import { openRepo } from '../../src/store/repo.js';
import { LsmError } from '../../src/errors.js';

describe('journal lines', () => {
  it('a record is a JSON object with a string commit; anything else is not', () => {
    expect(parseRecord('{"c":"abc","t":1}')).toEqual({ c: 'abc', t: 1 });
    for (const line of ['{}', 'null', '"c"', '{"c":1}', '[1]', '{"c":null}', 'garbage', '']) expect(parseRecord(line), line).toBeNull();
  });

  it('a line that is not a record stops the reading with an error naming it (its first 40 characters)', () => {
    const long = `{"x":"${'y'.repeat(60)}"}`;
    expect(() => [...parseRecords(['{"c":"a"}', long])]).toThrow(JournalDamaged);
    try {
      [...parseRecords([long])];
    } catch (err) {
      expect(err).toBeInstanceOf(LsmError);
      expect((err as LsmError).exitCode).toBe(1);
      expect((err as LsmError).message).toBe(`the journal (.git/lsm/journal.jsonl) holds a line that is not a record (${JSON.stringify(long.slice(0, 40))}): run lsm reindex (it is rebuilt from history)`);
    }
    expect([...parseRecords(['{"c":"a"}', '{"c":"b"}'])].map((r) => r.c)).toEqual(['a', 'b']);
  });

  it('a repository with no journal reads as no records; the journal is .git/lsm/journal.jsonl', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-jr-'));
    const repo = openRepo(dir);
    expect(journalPath(repo)).toBe(join(dir, '.git', 'lsm', 'journal.jsonl'));
    expect(journalBytes(repo).length).toBe(0);
    expect(readJournal(repo)).toEqual([]);
    mkdirSync(join(dir, '.git', 'lsm'), { recursive: true });
    writeFileSync(journalPath(repo), '{"c":"a","t":1}\n{"c":"b","t":2}\n');
    expect(readJournal(repo).map((r) => r.c)).toEqual(['a', 'b']);
    expect(lastCommit(journalBytes(repo))).toBe('b');
  });

  it('a needle found twice on one line yields that line once; one on the first line of several is found', () => {
    const buf = Buffer.from('{"c":"x","s":"x x"}\n{"c":"y"}\n{"c":"x2"}\n');
    expect([...linesWith(buf, ['x'])]).toEqual(['{"c":"x","s":"x x"}', '{"c":"x2"}']);
    expect([...linesWith(buf, ['y'])]).toEqual(['{"c":"y"}']);
    expect([...linesWith(Buffer.from('\n\n'), [])]).toEqual([]);
  });
});

describe('unified diffs of files sorted another way', () => {
  it('with over 1000 changed lines, still a patch git apply turns the old file into the new', () => {
    const line = (p: number) => `0.0.0.0:${p}  svc  root  /usr/sbin/svc`;
    const a = [line(2), line(1), ...Array.from({ length: 600 }, (_, i) => line(10_000 + i))];
    const b = [line(1), line(2), ...Array.from({ length: 600 }, (_, i) => line(20_000 + i))];
    const patch = unifiedDiff(new Map([['host/tcp', a]]), new Map([['host/tcp', b]]));
    const dir = mkdtempSync(join(tmpdir(), 'lsm-apply-'));
    mkdirSync(join(dir, 'host'));
    writeFileSync(join(dir, 'host/tcp'), a.join('\n') + '\n');
    writeFileSync(join(dir, 'patch'), patch);
    execFileSync('git', ['apply', '--unsafe-paths', 'patch'], { cwd: dir });
    expect(readFileSync(join(dir, 'host/tcp'), 'utf8')).toBe(b.join('\n') + '\n');
    expect(unifiedDiff(new Map([['host/tcp', a]]), new Map([['host/tcp', a]]))).toBe('');
  });
});
