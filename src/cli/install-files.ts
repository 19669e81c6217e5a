// What `lsm install` puts on disk besides config and state: a self-contained copy of the program
// (package.json, bin, dist, hooks, docs and the production dependencies only) and the files that
// replace others. Nothing is written through a symlink: every file goes to a temporary name and is
// renamed over its path, and a file lsm did not write is moved aside first, never overwritten.
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, symlinkSync, copyFileSync, unlinkSync, writeFileSync, chmodSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LsmError } from '../errors.js';

/** The package this lsm runs from: a clone, an npm install, or an installed copy. */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PROGRAM_PARTS = ['package.json', 'bin', 'dist', 'hooks', 'docs', 'README.md'];
/** Written into every file lsm install writes: what carries it is ours to replace. */
export const MARKER = 'lsm install';

interface PackageJson { name?: string; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; peerDependencies?: Record<string, string> }
const readPackage = (dir: string): PackageJson => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

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
export function installProgram(lib: string, pkgRoot = PACKAGE_ROOT): boolean {
  if (existsSync(lib) && realpathSync(lib) === realpathSync(pkgRoot)) return false;
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

/** Move a path (a symlink stays a symlink) to the same path under `backupRoot`; across file systems too. */
export function moveAside(path: string, root: string, backupRoot: string): string {
  const to = join(backupRoot, relative(root || '/', path));
  mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
  rmSync(to, { force: true });
  try {
    renameSync(path, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    const st = lstatSync(path);
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(path), to);
    else { copyFileSync(path, to); chmodSync(to, st.mode & 0o7777); }
    unlinkSync(path);
  }
  return to;
}

/**
 * Write a file lsm owns: to a temporary name, then renamed over the path (a symlink there is
 * replaced, never written through). Returns whether the content changed.
 */
export function writeOwned(path: string, text: string, mode: number): boolean {
  let same = false;
  try { same = lstatSync(path).isFile() && readFileSync(path, 'utf8') === text; } catch { /* absent */ }
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  if (same) { chmodSync(path, mode); return false; }
  const tmp = join(dirname(path), `.${process.pid}.lsm-install.tmp`);
  rmSync(tmp, { force: true });
  writeFileSync(tmp, text, { mode, flag: 'wx' });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
  return true;
}
