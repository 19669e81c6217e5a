// Tree objects written from a file map (path -> blob id), and HEAD's file map cached beside the
// journal. The cache lets the no-change scan compare without loading isomorphic-git, and it is the
// copy that rewrites HEAD's trees when their objects are damaged (the same entries give the same ids).
import { igit } from './git.js';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { mkdirp, writeFileAtomic } from './atomic-fs.js';
import type { Repo } from './repo.js';

const TREE_CACHE = 'lsm/head-tree.json';

/** The cached file map and the commit it is of; null when missing or unreadable. */
export async function readTreeCache(repo: Repo): Promise<{ commit: string; files: Map<string, string> } | null> {
  try {
    const cached = JSON.parse(await fsp.readFile(join(repo.gitdir, TREE_CACHE), 'utf8')) as { commit: string; files: Record<string, string> };
    if (typeof cached.commit !== 'string' || typeof cached.files !== 'object' || cached.files === null) return null;
    return { commit: cached.commit, files: new Map(Object.entries(cached.files).filter(([, id]) => typeof id === 'string')) };
  } catch {
    return null;
  }
}

export async function writeTreeCache(repo: Repo, commit: string, files: Map<string, string>): Promise<void> {
  mkdirp(join(repo.gitdir, 'lsm')); // sync: node 20's async recursive mkdir says ENOENT for a full disk
  await writeFileAtomic(join(repo.gitdir, TREE_CACHE), JSON.stringify({ commit, files: Object.fromEntries(files) }), repo.gitdir, 0o644, 'none');
}

/** Tree objects for path -> blob id, bottom-up; returns the root tree id. */
export async function writeTrees(repo: Repo, ids: Map<string, string>): Promise<string> {
  type Dir = { files: Map<string, string>; dirs: Map<string, Dir> };
  const root: Dir = { files: new Map(), dirs: new Map() };
  for (const [path, id] of ids) {
    const parts = path.split('/');
    let d = root;
    for (const p of parts.slice(0, -1)) {
      if (!d.dirs.has(p)) d.dirs.set(p, { files: new Map(), dirs: new Map() });
      d = d.dirs.get(p)!;
    }
    d.files.set(parts[parts.length - 1], id);
  }
  const write = async (d: Dir): Promise<string> => {
    const blobs = [...d.files].map(([path, oid]) => ({ mode: '100644', path, oid, type: 'blob' as const }));
    const subtrees = await Promise.all([...d.dirs].map(async ([path, sub]) => ({ mode: '040000', path, oid: await write(sub), type: 'tree' as const })));
    const tree = [...blobs, ...subtrees];
    return (await igit()).writeTree({ fs: repo.fs, gitdir: repo.gitdir, tree });
  };
  return write(root);
}
