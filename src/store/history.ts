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
  const files = await diffFiles(repo, parent ? await treeFiles(repo, parent) : new Map(), await treeFiles(repo, commit));
  return { commit, parent, time: c.committer.timestamp * 1000, summary: c.message.split('\n')[0], files };
}

/** Snapshot contents (path -> lines) of the files a set of changes touched, before and after. */
export async function snapshotFiles(repo: Repo, commit: string | null): Promise<Snapshot> {
  const snap: Snapshot = new Map();
  if (!commit) return snap;
  for (const [path, oid] of await treeFiles(repo, commit)) snap.set(path, textLines(await readBlobText(repo, oid)));
  return snap;
}

/**
 * A unified diff between two snapshots, in the form `git diff` prints (a/ and b/ prefixes,
 * /dev/null for new and deleted files). Past maxLines changed lines per file, a summary stands in
 * for the hunk: jsdiff is quadratic in the worst case.
 */
export function unifiedDiff(before: Snapshot, after: Snapshot, maxLines = 20_000): string {
  let out = '';
  for (const path of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const a = before.get(path);
    const b = after.get(path);
    const at = a ? fileText(a) : '';
    const bt = b ? fileText(b) : '';
    if (at === bt && (a === undefined) === (b === undefined)) continue;
    const fc = fileChange(path, a ?? [], b ?? []);
    const ida = a ? blobId(at).slice(0, 7) : '0000000';
    const idb = b ? blobId(bt).slice(0, 7) : '0000000';
    out += `diff --git a/${path} b/${path}\n`;
    if (!a) out += `new file mode 100644\nindex ${ida}..${idb}\n`;
    else if (!b) out += `deleted file mode 100644\nindex ${ida}..${idb}\n`;
    else out += `index ${ida}..${idb} 100644\n`;
    if (at === bt) continue; // an empty file added or removed
    if (fc && fc.added.length + fc.removed.length > maxLines) {
      out += `--- ${a ? `a/${path}` : '/dev/null'}\n+++ ${b ? `b/${path}` : '/dev/null'}\n`;
      out += `(${fc.added.length} lines added, ${fc.removed.length} removed: too many to show)\n`;
      continue;
    }
    const patch = jsdiff().createTwoFilesPatch(a ? `a/${path}` : '/dev/null', b ? `b/${path}` : '/dev/null', at, bt, undefined, undefined, { context: 3 });
    // drop jsdiff's '====' header; write hunk headers as git does ('-0,0 +1' not '+1,1')
    out += patch.split('\n').slice(1).join('\n').replace(/^@@ -(\d+),1 /gm, '@@ -$1 ').replace(/^(@@ -\S+ \+\d+),1 @@/gm, '$1 @@').replace(/\n*$/, '\n');
  }
  return out;
}

