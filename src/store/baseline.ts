// The approved baseline is a ref, refs/lsm/baseline, moved only by `lsm -g` (or `lsm accept`).
// Each move is appended to the ref's reflog, so `git reflog refs/lsm/baseline` (and lsm) can say
// who approved what, and when.
import { igit, readRef } from './git.js';
import { mkdirSync, readFileSync } from 'node:fs';
import { appendChecked } from '../safe-path.js';
import { hostname, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { ioError } from '../errors.js';
import { writeFileAtomic } from './atomic-fs.js';
import { BASELINE_REF, type Repo } from './repo.js';

export interface BaselineMove {
  from: string | null;
  to: string | null;
  who: string;
  time: number; // unix ms
  message: string;
}

const ZERO = '0'.repeat(40);

/** The person approving: the sudo user when run through sudo. */
export function approver(): string {
  try { return process.env.SUDO_USER || userInfo().username; } catch { return String(process.getuid?.() ?? '?'); }
}

export async function readBaseline(repo: Repo): Promise<string | null> {
  return readRef(repo.gitdir, BASELINE_REF);
}

function reflogLine(from: string | null, to: string | null, who: string, time: number, message: string): string {
  const offset = -new Date(time).getTimezoneOffset();
  const tz = `${offset >= 0 ? '+' : '-'}${String(Math.floor(Math.abs(offset) / 60)).padStart(2, '0')}${String(Math.abs(offset) % 60).padStart(2, '0')}`;
  const safe = (s: string) => s.replace(/[<>\n\t]/g, '_');
  return `${from ?? ZERO} ${to ?? ZERO} ${safe(who)} <${safe(who)}@${safe(hostname())}> ${Math.floor(time / 1000)} ${tz}\t${safe(message)}\n`;
}

/** Point the baseline at a commit (null: forget it), recording the move. Call under the lock. */
export async function moveBaseline(repo: Repo, to: string | null, message: string, now = Date.now()): Promise<BaselineMove> {
  const from = await readBaseline(repo);
  const who = approver();
  try {
    const log = join(repo.gitdir, 'logs', BASELINE_REF);
    mkdirSync(dirname(log), { recursive: true });
    if (to) {
      mkdirSync(dirname(join(repo.gitdir, BASELINE_REF)), { recursive: true });
      await writeFileAtomic(join(repo.gitdir, BASELINE_REF), `${to}\n`, join(repo.gitdir));
    } else if (from) {
      await (await igit()).deleteRef({ fs: repo.fs, gitdir: repo.gitdir, ref: BASELINE_REF });
    }
    appendChecked(log, reflogLine(from, to, who, now, message));
  } catch (err) {
    throw ioError('cannot move the baseline', err);
  }
  return { from, to, who, time: now, message };
}

/** Every recorded move of the baseline, oldest first. */
export function baselineHistory(repo: Repo): BaselineMove[] {
  let text: string;
  try { text = readFileSync(join(repo.gitdir, 'logs', BASELINE_REF), 'utf8'); } catch { return []; }
  const moves: BaselineMove[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{40}) ([0-9a-f]{40}) (.*?) <[^>]*> (\d+) [+-]\d{4}\t(.*)$/.exec(line);
    if (!m) continue;
    moves.push({ from: m[1] === ZERO ? null : m[1], to: m[2] === ZERO ? null : m[2], who: m[3], time: Number(m[4]) * 1000, message: m[5] });
  }
  return moves;
}
