// What one pushed commit changed, read from the central repository with the git binary. The drain
// spools an alert per pushed commit; isomorphic-git would first load the central pack's whole index
// and read the pack into memory (at 1,000 hosts × 100 changes: 76 MB, ~1.5 s of CPU for a single
// push), where git maps the pack and looks up only the objects it needs: three small processes.
import { spawnSync } from 'node:child_process';
import type { Change, Snapshot } from '../types.js';
import { fileChange } from '../store/changes.js';
import { textLines } from '../store/repo.js';

function git(gitdir: string, args: string[], input?: string): Buffer {
  const r = spawnSync('git', args, { cwd: gitdir, input, maxBuffer: 1 << 30, env: { ...process.env, GIT_DIR: gitdir } });
  if (r.status !== 0) throw new Error(`git ${args[0]}: ${(r.stderr ?? '').toString().trim().split('\n')[0] || r.error?.message || `exit ${r.status}`}`);
  return r.stdout;
}

/** Objects by id (git cat-file --batch), in one process; a missing one is an error. */
function readObjects(gitdir: string, oids: string[]): Map<string, { type: string; body: Buffer }> {
  const out = new Map<string, { type: string; body: Buffer }>();
  if (oids.length === 0) return out;
  const batch = git(gitdir, ['cat-file', '--batch'], oids.join('\n') + '\n');
  for (let pos = 0; pos < batch.length;) {
    const nl = batch.indexOf(10, pos);
    const [oid, type, size] = batch.subarray(pos, nl).toString().split(' ');
    if (type === 'missing' || !Number.isFinite(Number(size))) throw new Error(`object ${oid} is missing`);
    out.set(oid, { type, body: batch.subarray(nl + 1, nl + 1 + Number(size)) });
    pos = nl + 1 + Number(size) + 1;
  }
  return out;
}

/**
 * The change a commit made against its first parent, and the before/after text of only the files it
 * changed (what unifiedDiff needs): as store/history's commitChange and commitDiff give them.
 */
export function pushedChange(gitdir: string, oid: string): { change: Change; before: Snapshot; after: Snapshot } {
  const commit = readObjects(gitdir, [oid]).get(oid)!;
  if (commit.type !== 'commit') throw new Error(`${oid} is a ${commit.type}, not a commit`);
  const text = commit.body.toString('utf8');
  const headers = text.slice(0, text.indexOf('\n\n'));
  const parent = /^parent ([0-9a-f]{40})$/m.exec(headers)?.[1] ?? null;
  const time = Number(/^committer .* (\d+) [+-]\d{4}$/m.exec(headers)?.[1] ?? 0) * 1000;
  const summary = text.slice(headers.length + 2).split('\n')[0];
  const before: Snapshot = new Map();
  const after: Snapshot = new Map();
  const change: Change = { commit: oid, parent, time, summary, files: [] };
  // against the first parent; a root commit against nothing (its whole tree, as treeFiles reads it)
  const range = parent === null ? ['--root', oid] : [parent, oid];
  const tokens = git(gitdir, ['diff-tree', '-r', '-z', '--no-renames', ...range]).toString('latin1').split('\0');
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
