// What one pushed commit changed, read from the central repository with the git binary. The drain
// spools an alert per pushed commit; isomorphic-git would first load the central pack's whole index
// and read the pack into memory (at 1,000 hosts × 100 changes: 76 MB, ~1.5 s of CPU for a single
// push), where git maps the pack and looks up only the objects it needs: three small processes.
import type { Change, Snapshot } from '../types.js';
import { fileChange } from '../store/changes.js';
import { textLines } from '../store/repo.js';
import { batchObjects, gitOut, type BatchObject } from './git-run.js';

/** Objects by id (git cat-file --batch), in one process; a missing one is an error. */
function readObjects(gitdir: string, oids: string[]): Map<string, BatchObject> {
  const out = new Map<string, BatchObject>();
  if (oids.length === 0) return out;
  for (const o of batchObjects(gitOut(gitdir, ['cat-file', '--batch'], oids.join('\n') + '\n'))) {
    if (o.type === 'missing') throw new Error(`object ${o.oid} is missing`);
    out.set(o.oid, o);
  }
  return out;
}

/**
 * The change a commit made against its first parent (or against `base`: several commits as one, a
 * digest's), and the before/after text of only the files it changed (what unifiedDiff needs): as
 * store/history's commitChange and commitDiff give them.
 */
export function pushedChange(gitdir: string, oid: string, base?: string): { change: Change; before: Snapshot; after: Snapshot } {
  const commit = readObjects(gitdir, [oid]).get(oid)!;
  if (commit.type !== 'commit') throw new Error(`${oid} is a ${commit.type}, not a commit`);
  const text = commit.body.toString('utf8');
  const headers = text.slice(0, text.indexOf('\n\n'));
  const parent = base ?? /^parent ([0-9a-f]{40})$/m.exec(headers)?.[1] ?? null;
  const time = Number(/^committer .* (\d+) [+-]\d{4}$/m.exec(headers)?.[1] ?? 0) * 1000;
  const summary = text.slice(headers.length + 2).split('\n')[0];
  const before: Snapshot = new Map();
  const after: Snapshot = new Map();
  const change: Change = { commit: oid, parent, time, summary, files: [] };
  // against the first parent; a root commit against nothing (its whole tree, as treeFiles reads it)
  const range = parent === null ? ['--root', oid] : [parent, oid];
  const tokens = gitOut(gitdir, ['diff-tree', '-r', '-z', '--no-renames', ...range]).toString('latin1').split('\0');
  const changed: { path: string; a: string | null; b: string | null }[] = [];
  const zero = (x: string) => (/^0+$/.test(x) ? null : x);
  for (let i = 0; i < tokens.length; i++) {
    if (!tokens[i].startsWith(':')) continue; // the commit's id, first, when there is no parent
    const [, , a, b] = tokens[i].slice(1).split(' ');
    changed.push({ path: Buffer.from(tokens[++i] ?? '', 'latin1').toString('utf8'), a: zero(a), b: zero(b) });
  }
  const blobs = readObjects(gitdir, [...new Set(changed.flatMap(({ a, b }) => [a, b]).filter((x): x is string => x !== null))]);
  const lines = (x: string | null) => (x === null ? null : textLines(blobs.get(x)!.body.toString('utf8')));
  for (const { path, a, b } of changed.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0))) {
    const la = lines(a);
    const lb = lines(b);
    if (la) before.set(path, la);
    if (lb) after.set(path, lb);
    const fc = fileChange(path, la ?? [], lb ?? []);
    if (fc) change.files.push(fc);
  }
  return { change, before, after };
}
