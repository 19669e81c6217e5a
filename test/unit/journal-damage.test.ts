// A damaged journal (derived data) never hides changes nor doubles records: a line that is not a
// record is found and the journal rebuilt from the real repository's history.
import { describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitSnapshot } from '../../src/store/commit.js';
import { verifyJournal } from '../../src/store/journal.js';
import { openRepo } from '../../src/store/repo.js';
import { readJournalCaughtUp } from '../../src/cli/history-context.js';

const snapshot = (n: number) => new Map([['host/tcp', Array.from({ length: n }, (_, i) => `0.0.0.0:${1000 + i}  nc  root  /usr/bin/nc`)]]);

describe('a damaged journal', () => {
  it('is repaired at the next commit or read, never doubled and never skipping a change', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'lsm-journal-')), 'repo');
    const journal = join(dir, '.git', 'lsm', 'journal.jsonl');
    const repo = openRepo(dir);
    for (let n = 1; n <= 3; n++) await commitSnapshot(dir, snapshot(n));
    appendFileSync(journal, '{}\n'); // JSON, but not a record: the commit used to append all history again
    await commitSnapshot(dir, snapshot(4));
    expect(await verifyJournal(repo)).toBeNull();
    appendFileSync(journal, 'garbage'); // no newline: the next record used to be glued to it
    await commitSnapshot(dir, snapshot(5));
    expect(await verifyJournal(repo)).toBeNull();
    // a garbage line inside: readers used to stop there, silently
    const lines = readFileSync(journal, 'utf8').split('\n');
    lines.splice(2, 0, 'garbage');
    writeFileSync(journal, lines.join('\n'));
    expect((await readJournalCaughtUp(dir)).map((r) => r.s)).toHaveLength(5);
    expect(await verifyJournal(repo)).toBeNull();
  });
});
