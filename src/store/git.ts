// isomorphic-git costs ~57 ms to import, more than a whole no-change scan at 1k sockets: it is
// loaded on first use, and refs are read here directly, so the cron case (`lsm -c`, nothing
// changed) never loads it.
import { closeSync, constants, lstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { LsmError } from '../errors.js';

/** A ref whose file names no commit: damage or tampering (lsm -c repairs a damaged branch; see commit.ts). */
export class RefDamaged extends LsmError {
  constructor(readonly path: string, readonly text: string, readonly why?: string) {
    super(`${path} is damaged (${why ? `${why}${text ? ` ${JSON.stringify(text)}` : ''}` : JSON.stringify(text)}): restore it (lsm's last commit is the "c" of the last line of .git/lsm/journal.jsonl; git fsck --lost-found lists the rest; the next lsm -c repairs it)`, 'Damaged', { path });
  }
}

type Git = typeof import('isomorphic-git')['default'];
let loaded: Promise<Git> | null = null;

export function igit(): Promise<Git> {
  return (loaded ??= import('isomorphic-git').then((m) => m.default));
}

const PACKED_REF = /^[0-9a-f]{40} refs\/(?!.*(?:\.\.|\/\/|\/\.|@\{|\.lock$|\.$|\/$))[A-Za-z0-9._/-]+$/;
const PACKED_PEEL = /^\^[0-9a-f]{40}$/;

/** A packed-refs text with only the lines git reads (header, refs, peeled ids after a ref), and its first other line (-1: none). */
export function packedRefsKept(text: string): { kept: string; firstBad: number } {
  const kept: string[] = [];
  let firstBad = -1;
  let last = '';
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  for (const [i, line] of lines.entries()) {
    const ok = (i === 0 && line.startsWith('# pack-refs with:')) || PACKED_REF.test(line) || (PACKED_PEEL.test(line) && PACKED_REF.test(last));
    if (ok) kept.push(line); else if (firstBad < 0) firstBad = i;
    last = ok ? line : '';
  }
  return { kept: kept.map((l) => `${l}\n`).join(''), firstBad };
}

/** At most `max` bytes of a file of .git: never follow a link, never wait on a FIFO; null when absent. */
export function readBounded(path: string, max: number): string | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const buf = Buffer.alloc(max);
    let n = 0;
    for (let r = 1; r > 0 && n < max; n += r) r = readSync(fd, buf, n, max - n, null);
    return buf.toString('utf8', 0, n);
  } finally { closeSync(fd); }
}

// what a path of .git is when it is not what lsm made (a link is never followed)
const NOT_MADE: Record<string, string> = { ELOOP: 'a symbolic link', EISDIR: 'a directory', ENOTDIR: 'under a file, not a directory', ENXIO: 'not a regular file', EAGAIN: 'not a regular file' };

/** The text of a ref file under gitdir, null when absent; a component that is a link or not a directory is damage. */
function readRefFile(gitdir: string, name: string, max: number): string | null {
  const parts = name.split('/');
  for (let i = 1; i < parts.length; i++) {
    const dir = join(gitdir, ...parts.slice(0, i));
    let st;
    try { st = lstatSync(dir); } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    if (!st.isDirectory()) throw new RefDamaged(join(gitdir, name), '', `under ${dir}, which is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}`);
  }
  try {
    const path = join(gitdir, name);
    const text = readBounded(path, max);
    if (text !== null && !lstatSync(path).isFile()) throw Object.assign(new Error('not a file'), { code: 'ENXIO' });
    return text;
  } catch (err) {
    const why = NOT_MADE[(err as NodeJS.ErrnoException).code ?? ''];
    if (why) throw new RefDamaged(join(gitdir, name), '', why);
    throw err;
  }
}

/** A ref's commit id, loose or packed, following symbolic refs (HEAD); null when it does not exist, an error when it is damaged. */
export function readRef(gitdir: string, name: string, depth = 0): string | null {
  const raw = readRefFile(gitdir, name, 4096);
  if (raw !== null) {
    const text = raw.trim();
    if (text.startsWith('ref: ') && depth < 5) return readRef(gitdir, text.slice(5), depth + 1);
    if (/^[0-9a-f]{40}$/.test(text)) return text;
    // refs are written atomically: anything else is damage or tampering, and read as 'no commit
    // yet' it would start a new root and orphan the whole history
    throw new RefDamaged(join(gitdir, name), text.slice(0, 40));
  }
  const packed = readRefFile(gitdir, 'packed-refs', 1 << 20);
  if (packed === null) return null;
  // a line git refuses makes git log and git fsck fail: never read around it
  const bad = packedRefsKept(packed).firstBad;
  if (bad >= 0) throw new RefDamaged(join(gitdir, 'packed-refs'), packed.split('\n')[bad].slice(0, 60), `line ${bad + 1} is not one git reads`);
  for (const line of packed.split('\n')) {
    if (line.endsWith(` ${name}`) && /^[0-9a-f]{40} /.test(line)) return line.slice(0, 40);
  }
  return null;
}
