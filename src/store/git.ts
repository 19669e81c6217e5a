// isomorphic-git costs ~57 ms to import, more than a whole no-change scan at 1k sockets: it is
// loaded on first use, and refs are read here directly, so the cron case (`lsm -c`, nothing
// changed) never loads it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LsmError } from '../errors.js';

/** A ref whose file names no commit: damage or tampering (lsm -c repairs a damaged branch; see commit.ts). */
export class RefDamaged extends LsmError {
  constructor(readonly path: string, readonly text: string) {
    super(`${path} is damaged (${JSON.stringify(text)}): restore it (lsm's last commit is the "c" of the last line of .git/lsm/journal.jsonl; git fsck --lost-found lists the rest; the next lsm -c repairs it)`, 'Damaged', { path });
  }
}

type Git = typeof import('isomorphic-git')['default'];
let loaded: Promise<Git> | null = null;

export function igit(): Promise<Git> {
  return (loaded ??= import('isomorphic-git').then((m) => m.default));
}

/** A ref's commit id, loose or packed, following symbolic refs (HEAD); null when it does not exist, an error when it is damaged. */
export function readRef(gitdir: string, name: string, depth = 0): string | null {
  let text: string | null = null;
  try { text = readFileSync(join(gitdir, name), 'utf8').trim(); } catch { /* maybe packed */ }
  if (text !== null) {
    if (text.startsWith('ref: ') && depth < 5) return readRef(gitdir, text.slice(5), depth + 1);
    if (/^[0-9a-f]{40}$/.test(text)) return text;
    // refs are written atomically: anything else is damage or tampering, and read as 'no commit
    // yet' it would start a new root and orphan the whole history
    throw new RefDamaged(join(gitdir, name), text.slice(0, 40));
  }
  try {
    for (const line of readFileSync(join(gitdir, 'packed-refs'), 'utf8').split('\n')) {
      if (line.endsWith(` ${name}`) && /^[0-9a-f]{40} /.test(line)) return line.slice(0, 40);
    }
  } catch { /* no packed refs */ }
  return null;
}
