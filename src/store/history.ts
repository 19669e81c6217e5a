// Reading the history: commits, what each changed, and unified diffs in git's own form.
import { igit } from './git.js';
import { createRequire } from 'node:module';
import type { Change, FileChange, Snapshot } from '../types.js';
import { fileChange } from './changes.js';
import { blobId, readBlobText, textLines, treeFiles, type Repo } from './repo.js';
import { fileText } from '../snapshot/index.js';

// jsdiff costs ~21 ms to import: loaded when a diff is made, not on every scan
let diffModule: typeof import('diff') | null = null;
const jsdiff = () => (diffModule ??= createRequire(import.meta.url)('diff') as typeof import('diff'));

/** What changed from one file map (path -> blob id) to another. */
export async function diffFiles(repo: Repo, before: Map<string, string>, after: Map<string, string>): Promise<FileChange[]> {
  const files: FileChange[] = [];
  for (const path of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const a = before.get(path);
    const b = after.get(path);
    if (a === b) continue;
    const fc = fileChange(path, a ? textLines(await readBlobText(repo, a)) : [], b ? textLines(await readBlobText(repo, b)) : []);
    if (fc) files.push(fc);
  }
  return files;
}

/** The change one commit made against its first parent. */
export async function commitChange(repo: Repo, commit: string): Promise<Change> {
  const { commit: c } = await (await igit()).readCommit({ fs: repo.fs, gitdir: repo.gitdir, oid: commit, cache: repo.cache });
  const parent = c.parent[0] ?? null;
  const files = await diffFiles(repo, parent ? await treeFiles(repo, parent) : new Map<string, string>(), await treeFiles(repo, commit));
  return { commit, parent, time: c.committer.timestamp * 1000, summary: c.message.split('\n')[0], files };
}

/** When a commit was made (its committer time), in ms. */
export async function commitTime(repo: Repo, commit: string): Promise<number> {
  const { commit: c } = await (await igit()).readCommit({ fs: repo.fs, gitdir: repo.gitdir, oid: commit, cache: repo.cache });
  return c.committer.timestamp * 1000;
}

/** Snapshot contents (path -> lines) of the files a set of changes touched, before and after. */
export async function snapshotFiles(repo: Repo, commit: string | null): Promise<Snapshot> {
  const snap: Snapshot = new Map();
  if (!commit) return snap;
  for (const [path, oid] of await treeFiles(repo, commit)) snap.set(path, textLines(await readBlobText(repo, oid)));
  return snap;
}

/**
 * The unified diff between two commits (null: the empty snapshot), reading only the files whose
 * blobs differ: a change to one small file does not read every namespace's files twice (at 100k
 * sockets, ~6 MB of text for a one-line alert).
 */
export async function commitDiff(repo: Repo, from: string | null, to: string | null): Promise<string> {
  const a = from ? await treeFiles(repo, from) : new Map<string, string>();
  const b = to ? await treeFiles(repo, to) : new Map<string, string>();
  const before: Snapshot = new Map();
  const after: Snapshot = new Map();
  for (const path of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(path);
    const y = b.get(path);
    if (x === y) continue;
    if (x) before.set(path, textLines(await readBlobText(repo, x)));
    if (y) after.set(path, textLines(await readBlobText(repo, y)));
  }
  return unifiedDiff(before, after);
}

/**
 * A unified diff between two snapshots, in the form `git diff` prints (a/ and b/ prefixes,
 * /dev/null for new and deleted files).
 */
export function unifiedDiff(before: Snapshot, after: Snapshot): string {
  let out = '';
  for (const path of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const a = before.get(path);
    const b = after.get(path);
    const at = a ? fileText(a) : '';
    const bt = b ? fileText(b) : '';
    if (at === bt && (a === undefined) === (b === undefined)) continue;
    const ida = a ? blobId(at).slice(0, 7) : '0000000';
    const idb = b ? blobId(bt).slice(0, 7) : '0000000';
    out += `diff --git a/${path} b/${path}\n`;
    if (!a) out += `new file mode 100644\nindex ${ida}..${idb}\n`;
    else if (!b) out += `deleted file mode 100644\nindex ${ida}..${idb}\n`;
    else out += `index ${ida}..${idb} 100644\n`;
    if (at === bt) continue; // an empty file added or removed
    out += `--- ${a ? `a/${path}` : '/dev/null'}\n+++ ${b ? `b/${path}` : '/dev/null'}\n`;
    out += fileHunks(a ?? [], b ?? []);
  }
  return out;
}

// jsdiff (Myers) is what git does, but costs O(N·D): 10k changed lines of 10k took a minute. A
// snapshot file is unique lines in one order, so their longest common subsequence is simply the
// lines both hold, and a merge walk gives the same edit in linear time.
const JSDIFF_UP_TO = 1000; // changed lines; up to here, jsdiff's hunks are byte for byte git's

function fileHunks(a: string[], b: string[]): string {
  const fc = fileChange('', a, b);
  const edits = fc ? fc.added.length + fc.removed.length : 0;
  const ops = edits > JSDIFF_UP_TO ? mergeEdits(a, b) : null;
  if (ops === null) {
    const patch = jsdiff().createTwoFilesPatch('a', 'b', fileText(a), fileText(b), undefined, undefined, { context: 3 });
    // drop jsdiff's own header; write hunk headers as git does ('-0,0 +1' not '+1,1')
    return patch.split('\n').slice(3).join('\n').replace(/^@@ -(\d+),1 /gm, '@@ -$1 ').replace(/^(@@ -\S+ \+\d+),1 @@/gm, '$1 @@').replace(/\n*$/, '\n');
  }
  return hunks(ops, 3);
}

type Op = [' ' | '-' | '+', string];

/** The edit from a to b when the lines both hold come in the same order in each; else null. */
function mergeEdits(a: string[], b: string[]): Op[] | null {
  const inA = new Set(a);
  const inB = new Set(b);
  const ops: Op[] = [];
  for (let i = 0, j = 0; i < a.length || j < b.length;) {
    if (i < a.length && !inB.has(a[i])) ops.push(['-', a[i++]]);
    else if (j < b.length && !inA.has(b[j])) ops.push(['+', b[j++]]);
    else if (a[i] === b[j]) { ops.push([' ', a[i]]); i++; j++; }
    else return null; // sorted another way (a file from an older lsm): leave it to jsdiff
  }
  return ops;
}

/** Unified hunks of an edit, `context` lines around each change, as git writes them. */
function hunks(ops: Op[], context: number): string {
  let out = '';
  const lineA = new Int32Array(ops.length + 1); // line numbers (1-based) before each op
  const lineB = new Int32Array(ops.length + 1);
  for (let k = 0, x = 1, y = 1; k <= ops.length; k++) {
    lineA[k] = x; lineB[k] = y;
    if (k < ops.length) { if (ops[k][0] !== '+') x++; if (ops[k][0] !== '-') y++; }
  }
  for (let k = 0; k < ops.length;) {
    if (ops[k][0] === ' ') { k++; continue; }
    // a hunk: from `context` lines before this change to `context` after the last change that
    // is no more than 2 * context unchanged lines from the one before it
    const start = Math.max(0, k - context);
    let end = k;
    for (let gap = 0; end < ops.length && gap <= 2 * context; end++) gap = ops[end][0] === ' ' ? gap + 1 : 0;
    while (end > k && ops[end - 1][0] === ' ') end--; // back to the last change...
    end = Math.min(ops.length, end + context); // ...and its context
    const countA = lineA[end] - lineA[start];
    const countB = lineB[end] - lineB[start];
    const range = (from: number, count: number) => (count === 1 ? `${from}` : `${count === 0 ? from - 1 : from},${count}`);
    out += `@@ -${range(lineA[start], countA)} +${range(lineB[start], countB)} @@\n`;
    for (let m = start; m < end; m++) out += `${ops[m][0]}${ops[m][1]}\n`;
    k = end;
  }
  return out;
}
