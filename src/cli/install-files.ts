// What `lsm install` puts on disk besides config and state: a self-contained copy of the program
// (package.json, bin, dist, hooks, docs and the production dependencies only) and the files that
// replace others. Nothing is written through a symlink: every file goes to a temporary name and is
// renamed over its path, and a file lsm did not write is moved aside first, never overwritten.
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, rmdirSync, symlinkSync, copyFileSync, unlinkSync, writeFileSync, chmodSync, readdirSync, statSync, lchownSync, lutimesSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LsmError } from '../errors.js';
import { checkPath } from '../safe-path.js';

/** The package this lsm runs from: a clone, an npm install, or an installed copy. */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PROGRAM_PARTS = ['package.json', 'bin', 'dist', 'hooks', 'docs', 'README.md', 'web']; // web/: the fleet web view's page, copied as it is
/** Written into every file lsm install writes: what carries it is ours to replace. */
export const MARKER = 'lsm install';

/** In dependencies only so that `prepare` builds dist/ at `npm ci --omit=dev`; the program never loads it. */
const BUILD_ONLY = new Set(['typescript']);

interface PackageJson { name?: string; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; peerDependencies?: Record<string, string> }
const readPackage = (dir: string): PackageJson => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;

/**
 * The directories (relative to the package root) of the packages the program needs at run time:
 * package.json's dependencies, followed through node's own resolution (a package's node_modules,
 * then its parents'), so it works on a clone's hoisted tree and on an npm -g install alike.
 */
export function productionPackages(pkgRoot = PACKAGE_ROOT): string[] {
  const found = new Set<string>();
  const visit = (fromDir: string) => {
    const pkg = readPackage(fromDir);
    const optional = new Set([...Object.keys(pkg.optionalDependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
    for (const name of new Set([...Object.keys(pkg.dependencies ?? {}), ...optional])) {
      if (fromDir === pkgRoot && BUILD_ONLY.has(name)) continue;
      let dir = fromDir;
      let at: string | null = null;
      for (;;) {
        const candidate = join(dir, 'node_modules', name);
        if (existsSync(join(candidate, 'package.json'))) { at = candidate; break; }
        if (dir === pkgRoot || !dir.startsWith(pkgRoot + sep)) break;
        dir = dirname(dir);
      }
      if (at === null) {
        if (optional.has(name)) continue;
        throw new LsmError(`cannot install: dependency ${name} of ${relative(pkgRoot, fromDir) || 'lsm'} is not installed (run npm ci --omit=dev first)`);
      }
      const rel = relative(pkgRoot, at);
      if (found.has(rel)) continue;
      found.add(rel);
      visit(at);
    }
  };
  visit(pkgRoot);
  return [...found].sort();
}

/** Bytes under a directory (the install's size, for the summary). */
export function treeSize(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += treeSize(p);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}

/**
 * Copy the program to `lib` (staged beside it, then renamed into place, so an upgrade never leaves
 * half a program). Returns false when lsm already runs from there.
 */
export function installProgram(lib: string, pkgRoot = PACKAGE_ROOT, journal?: Journal): boolean {
  if (existsSync(lib) && realpathSync(lib) === realpathSync(pkgRoot)) return false;
  if (!existsSync(lib)) journal?.undo(() => rmSync(lib, { recursive: true, force: true }));
  const stage = `${lib}.new-${process.pid}`;
  const old = `${lib}.old-${process.pid}`;
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true, mode: 0o755 });
  const packages = productionPackages(pkgRoot);
  for (const part of PROGRAM_PARTS) {
    if (existsSync(join(pkgRoot, part))) cpSync(join(pkgRoot, part), join(stage, part), { recursive: true });
  }
  // the native netlink reader node-gyp built (collect/netlink loads it from there); not its objects
  const release = join(pkgRoot, 'build', 'Release');
  for (const f of existsSync(release) ? readdirSync(release).filter((n) => n.endsWith('.node')) : []) {
    mkdirSync(join(stage, 'build', 'Release'), { recursive: true });
    copyFileSync(join(release, f), join(stage, 'build', 'Release', f));
  }
  for (const rel of packages) {
    // each needed nested package is copied at its own path; the rest of a node_modules is not needed
    cpSync(join(pkgRoot, rel), join(stage, rel), { recursive: true, filter: (src) => src === join(pkgRoot, rel) || !relative(join(pkgRoot, rel), src).split(sep).includes('node_modules') });
  }
  chmodSync(stage, 0o755);
  if (existsSync(lib) || isLink(lib)) renameSync(lib, old);
  renameSync(stage, lib);
  rmSync(old, { recursive: true, force: true });
  return true;
}

function isLink(path: string): boolean {
  try { return lstatSync(path).isSymbolicLink(); } catch { return false; }
}

/** What is at a path now: nothing, a file lsm wrote, or something else (a symlink, another's file). */
export function ownedByLsm(path: string, marker = MARKER): 'absent' | 'ours' | 'foreign' {
  let st;
  try { st = lstatSync(path); } catch { return 'absent'; }
  if (!st.isFile()) return 'foreign';
  return readFileSync(path, 'utf8').includes(marker) ? 'ours' : 'foreign';
}

/**
 * What one install run changed, newest last, so a refused or failed install takes it all back and
 * leaves the root as it found it.
 */
export class Journal {
  private steps: (() => void)[] = [];
  undo(step: () => void): void { this.steps.push(step); }
  /** mkdir -p, remembering the first directory it created. */
  mkdir(dir: string, mode: number): void {
    const first = mkdirSync(dir, { recursive: true, mode });
    if (first) this.undo(() => rmSync(first, { recursive: true, force: true }));
  }
  chmod(path: string, mode: number): void {
    const old = statSync(path).mode & 0o7777;
    chmodSync(path, mode);
    if (old !== mode) this.undo(() => chmodSync(path, old));
  }
  /** Undo every step, newest first; returns what could not be undone (one line each). */
  rollback(): string[] {
    const failed: string[] = [];
    for (const step of this.steps.reverse()) {
      try { step(); } catch (err) { failed.push((err as Error).message); }
    }
    this.steps = [];
    return failed;
  }
}

/**
 * Move one entry (a symlink stays a symlink) keeping its bytes, mode, owner and times; across file
 * systems too. `to` must not exist.
 */
function moveEntry(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    const st = lstatSync(from);
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else if (st.isFile()) { copyFileSync(from, to); chmodSync(to, st.mode & 0o7777); }
    else throw err; // a directory across file systems: left where it is, the error says so
    lchownSync(to, st.uid, st.gid);
    lutimesSync(to, st.atime, st.mtime);
    unlinkSync(from);
  }
}

const exists = (path: string) => lstatSync(path, { throwIfNoEntry: false }) !== undefined;
/** A second entry moved aside from the same path never replaces the first: it gets `~N~`. */
const ASIDE_SUFFIX = /~\d+~$/;

/** Move a path to the same path under `backupRoot`; an earlier one there is kept (never overwritten). */
export function moveAside(path: string, root: string, backupRoot: string, journal?: Journal): string {
  const base = join(backupRoot, relative(root || '/', path));
  if (journal) journal.mkdir(dirname(base), 0o700); else mkdirSync(dirname(base), { recursive: true, mode: 0o700 });
  let to = base;
  for (let n = 1; exists(to); n++) to = `${base}~${n}~`;
  moveEntry(path, to);
  journal?.undo(() => moveEntry(to, path));
  return to;
}

export interface Restored { path: string; from: string }
export interface NotRestored { backup: string; path: string; why: string; command: string }

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Put back what moveAside moved: each entry under `backupRoot` to its path under `root`, where that
 * path is free now. Where it is not (or its directory is unsafe), the entry stays and the command
 * that puts it back is returned. Emptied directories under `backupRoot` are removed.
 */
export function restoreAside(root: string, backupRoot: string): { restored: Restored[]; kept: NotRestored[] } {
  const restored: Restored[] = [];
  const kept: NotRestored[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) { // 'x' before 'x~1~': the first moved aside goes back
      const entry = join(dir, name);
      const rel = relative(backupRoot, entry);
      if (lstatSync(entry).isDirectory() && !ASIDE_SUFFIX.test(name)) { walk(entry); continue; }
      const path = join(root || '/', rel.replace(ASIDE_SUFFIX, ''));
      const command = `mv -f -T -- ${shellQuote(entry)} ${shellQuote(path)}`;
      if (exists(path)) { kept.push({ backup: entry, path, why: `${path} is taken by another file now`, command }); continue; }
      try {
        checkPath(dirname(path), 'directory to restore into', 'dir');
        mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
        moveEntry(entry, path);
        restored.push({ path, from: entry });
      } catch (err) {
        kept.push({ backup: entry, path, why: (err as Error).message.replace(/^lsm: /, ''), command: `mkdir -p ${shellQuote(dirname(path))} && ${command}` });
      }
    }
    if (dir !== backupRoot && readdirSync(dir).length === 0) rmdirSync(dir);
  };
  if (existsSync(backupRoot)) {
    walk(backupRoot);
    if (readdirSync(backupRoot).length === 0) rmdirSync(backupRoot);
  }
  return { restored, kept };
}

/**
 * Write a file lsm owns: to a temporary name, then renamed over the path (a symlink there is
 * replaced, never written through). Returns whether the content changed.
 */
export function writeOwned(path: string, text: string, mode: number, journal?: Journal): boolean {
  let before: { data: Buffer; mode: number } | null = null;
  try {
    const st = lstatSync(path);
    if (st.isFile()) before = { data: readFileSync(path), mode: st.mode & 0o7777 };
  } catch { /* absent */ }
  const same = before !== null && before.data.toString('utf8') === text;
  if (journal) journal.mkdir(dirname(path), 0o755); else mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  if (same) { if (journal) journal.chmod(path, mode); else chmodSync(path, mode); return false; }
  const tmp = join(dirname(path), `.${process.pid}.lsm-install.tmp`);
  rmSync(tmp, { force: true });
  writeFileSync(tmp, text, { mode, flag: 'wx' });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
  const was = before;
  journal?.undo(() => { if (was) { writeFileSync(path, was.data); chmodSync(path, was.mode); } else rmSync(path, { force: true }); });
  return true;
}
