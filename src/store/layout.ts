// What lsm (and git init) made under .git: each path is a real directory or a regular file, never
// a symbolic link. Anything else there (a link to a directory elsewhere or to nowhere, a file where
// a directory was, a FIFO) is damage or a plant: lsm never reads or writes through it. `lsm -c`
// moves it aside (the entry itself: a link is never followed) and makes the directory again;
// `lsm verify` names it. An alternates file is refused the same way: lsm never makes one, and
// through it git would take objects from a directory nobody checks.
import { lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, type Dirent, type Stats } from 'node:fs';
import { join } from 'node:path';

type Kind = 'dir' | 'file' | 'absent';

/** Parents before children: a bad parent is repaired first and its children are not looked at. */
const LAYOUT: [string, Kind][] = [
  ['lsm', 'dir'], ['lsm/damaged', 'dir'], ['lsm/journal.jsonl', 'file'], ['lsm/head-tree.json', 'file'], ['lsm/spooled', 'file'], ['lsm/clock.json', 'file'],
  ['lsm/problems.json', 'file'], ['lsm/push.json', 'file'], ['lsm/drift-reminded', 'file'], ['lsm/push-diverged-alerted', 'file'], ['lsm/commits-since-pack', 'file'],
  ['lsm-tmp', 'dir'], ['config', 'file'], ['index', 'file'], ['packed-refs', 'file'],
  ['refs', 'dir'], ['refs/heads', 'dir'], ['refs/tags', 'dir'], ['refs/lsm', 'dir'],
  ['refs/heads/main', 'file'], ['refs/lsm/alerted', 'file'], ['refs/lsm/baseline', 'file'],
  ['logs', 'dir'], ['logs/HEAD', 'file'], ['logs/refs', 'dir'], ['logs/refs/heads', 'dir'], ['logs/refs/lsm', 'dir'],
  ['logs/refs/heads/main', 'file'], ['logs/refs/lsm/baseline', 'file'],
  ['objects', 'dir'], ['objects/info', 'dir'], ['objects/pack', 'dir'],
  ['objects/info/alternates', 'absent'], ['objects/info/http-alternates', 'absent'],
];

export interface LayoutDamage {
  path: string; // relative to .git
  what: string; // what it is instead
  dir: boolean; // a directory belongs there (made again after the move)
}

/** What a path is, in words, a link with its target (never followed): also the fleet server's (central-layout.ts). */
export function describe(full: string, st: Stats | Dirent): string {
  if (st.isSymbolicLink()) {
    let to = '?';
    try { to = readlinkSync(full); } catch { /* raced away */ }
    return `a symbolic link to ${JSON.stringify(to.slice(0, 100))}`;
  }
  if (st.isDirectory()) return 'a directory';
  if (st.isFile()) return 'a file';
  return st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'a device';
}

function lstatOrNull(path: string): Stats | null {
  try { return lstatSync(path); } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Paths under .git that are not what lsm made, parents first. A few lstats and two readdirs
 * (objects/ and objects/pack/, whose entries name their own type): cheap enough for every scan.
 */
export function layoutDamage(gitdir: string): LayoutDamage[] {
  const found: LayoutDamage[] = [];
  const bad = (path: string) => found.some((f) => path.startsWith(`${f.path}/`));
  const check = (path: string, kind: Kind) => {
    if (bad(path)) return;
    const full = join(gitdir, path);
    const st = lstatOrNull(full);
    if (st === null) return;
    if (kind === 'absent') {
      found.push({ path, what: `${describe(full, st)} lsm never makes (git would take objects from where it says)`, dir: false });
    } else if (kind === 'dir' ? !st.isDirectory() : !st.isFile()) {
      found.push({ path, what: `${describe(full, st)}, not ${kind === 'dir' ? 'a directory' : 'a regular file'}`, dir: kind === 'dir' });
    }
  };
  for (const [path, kind] of LAYOUT) check(path, kind);
  // every objects/xx a directory, every file of objects/pack a regular file
  for (const [sub, want] of [['objects', /^[0-9a-f]{2}$/], ['objects/pack', /./]] as const) {
    if (bad(sub) || found.some((f) => f.path === sub)) continue;
    let entries: import('node:fs').Dirent[] = [];
    try { entries = readdirSync(join(gitdir, sub), { withFileTypes: true }); } catch { continue; }
    for (const e of entries) {
      if (!want.test(e.name)) continue;
      if (sub === 'objects' ? !e.isDirectory() : !e.isFile()) check(`${sub}/${e.name}`, sub === 'objects' ? 'dir' : 'file');
    }
  }
  return found;
}

/** One line for each, in lsm's words. */
export function layoutLines(found: LayoutDamage[]): string[] {
  return found.map((f) => `.git/${f.path} is ${f.what}`);
}

/**
 * Move each aside (a link is renamed, never followed) into .git/lsm/damaged and make a directory
 * again where one belongs; returns what was done, one line each.
 */
export function repairLayout(gitdir: string, found: LayoutDamage[]): string[] {
  const done: string[] = [];
  const stamp = Date.now();
  for (const f of found) {
    const full = join(gitdir, f.path);
    // .git/lsm itself cannot hold what is moved out of it: it goes beside it
    const to = f.path === 'lsm' || f.path === 'lsm/damaged'
      ? join(gitdir, `${f.path.replace('/', '-')}.damaged.${stamp}`)
      : join(gitdir, 'lsm', 'damaged', `${f.path.replaceAll('/', '_')}.${stamp}`);
    if (f.path !== 'lsm' && f.path !== 'lsm/damaged') mkdirSync(join(gitdir, 'lsm', 'damaged'), { recursive: true, mode: 0o700 });
    renameSync(full, to);
    if (f.dir) mkdirSync(full, { mode: f.path === 'lsm' || f.path.startsWith('lsm/') ? 0o700 : 0o755 });
    done.push(`.git/${f.path} was ${f.what} (moved to ${to}${f.dir ? '; made again' : ''})`);
  }
  return done;
}
