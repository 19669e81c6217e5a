// What the fleet accepts as names and content: host ids (a ref component), the branch a host
// pushes to, and what a valid lsm snapshot tree looks like (the shape snapshot/ writes).
import { KINDS } from '../types.js';

export const HOST_PREFIX = 'refs/heads/hosts/';
export const PUSHED_REF = 'refs/lsm/pushed'; // on a host: the last commit the server acknowledged
// a host's approved baseline on the server (a branch, so a plain mirror of the repository has it)
export const BASELINE_PREFIX = 'refs/heads/baselines/';
export const PUSHED_BASELINE_REF = 'refs/lsm/pushed-baseline'; // on a host: the baseline the server has

// a ref component git accepts everywhere, and a file name: no '/', no '..', no leading '.' or '-'
const HOST_ID = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,62}$/;

export function hostIdProblem(id: string): string | null {
  if (!HOST_ID.test(id) || id.includes('..') || id.endsWith('.lock') || id.endsWith('.')) {
    return `'${id}' is not a usable host id (letters, digits, '.', '_', '-'; up to 63; not starting with '.' or '-')`;
  }
  return null;
}

export const hostRef = (id: string) => `${HOST_PREFIX}${id}`;

/** The host id of a fleet ref, or null when the ref is not a host branch. */
export function hostOfRef(ref: string): string | null {
  if (!ref.startsWith(HOST_PREFIX)) return null;
  const id = ref.slice(HOST_PREFIX.length);
  return hostIdProblem(id) ? null : id;
}

export const baselineRef = (id: string) => `${BASELINE_PREFIX}${id}`;

/** The host id of a baseline ref, or null. */
export function baselineOfRef(ref: string): string | null {
  if (!ref.startsWith(BASELINE_PREFIX)) return null;
  const id = ref.slice(BASELINE_PREFIX.length);
  return hostIdProblem(id) ? null : id;
}

// netns labels as collect/ makes them (safeLabel, maybe with '-<inode>'), never '.' first
const LABEL = /^[A-Za-z0-9_@+-][A-Za-z0-9._@+-]{0,95}$/;
const KIND = new Set<string>(KINDS);

/** Why a path cannot be in a snapshot, or null. */
export function snapshotPathProblem(path: string): string | null {
  const parts = path.split('/');
  if (parts.length === 2 && parts[0] === 'host' && KIND.has(parts[1])) return null;
  if (parts.length === 3 && parts[0] === 'netns' && LABEL.test(parts[1]) && KIND.has(parts[2])) return null;
  return `'${path.slice(0, 80)}' is not a snapshot file (host/<kind> or netns/<label>/<kind>, kind one of ${KINDS.join(', ')})`;
}

// every snapshot has these (unattributed is written only when it holds a socket)
export const HOST_FILES = KINDS.filter((k) => k !== 'unattributed').map((k) => `host/${k}`);

// escaped text (snapshot/escape.ts): only what its escaping leaves as it is, so never a control
// character (C0, DEL, C1: a terminal's CSI), a bidi or zero-width one, a separator but the ASCII
// space, nor anything else that is not a visible graphic character; never an empty line
const PRINTABLE = /^[\x20-\x7e]*$/;
const BAD_CHAR = /[\p{C}\p{Default_Ignorable_Code_Point}\u2800]|(?! )\p{Z}/u;

/** Why a line of text a host wrote cannot be shown as it is (the character, by its code point), or null. */
export function hiddenCharProblem(line: string): string | null {
  if (PRINTABLE.test(line)) return null; // nearly every line: no regular expression over code points
  const bad = BAD_CHAR.exec(line)?.[0];
  if (bad === undefined) return null;
  return /\p{Cc}/u.test(bad) ? 'control character' : `invisible character U+${bad.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Why a file's text cannot be a snapshot file (newline-terminated unique escaped lines), or null. */
export function snapshotTextProblem(path: string, text: string): string | null {
  if (text === '') return null;
  if (!text.endsWith('\n')) return `${path}: does not end with a newline`;
  const lines = text.slice(0, -1).split('\n');
  const seen = new Set<string>();
  for (const [i, line] of lines.entries()) {
    if (line === '') return `${path}:${i + 1}: empty line`;
    const hidden = hiddenCharProblem(line);
    if (hidden) return `${path}:${i + 1}: ${hidden} (snapshot text is escaped)`;
    if (seen.has(line)) return `${path}:${i + 1}: duplicate line`;
    seen.add(line);
  }
  return null;
}
