// What a scan could not see (not root: namespaces it cannot enter, processes whose namespace it
// cannot read), said the same way on stderr and in lsm status, and, so that it shows in the
// history, as lines of host/unattributed. Those lines carry no count that changes by itself:
// processes come and go all the time, so theirs says only that some could not be read.
import type { CollectStats } from '../types.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : word.endsWith('s') ? 'es' : 's'}`;

/** The snapshot's lines for what was not seen (host/unattributed), stable from scan to scan. */
export function unseenLines(stats: CollectStats): string[] {
  const u = stats.unseen;
  if (!u) return [];
  const lines: string[] = [];
  if (u.namespaces > 0) lines.push(`${plural(u.namespaces, 'namespace')} not readable: ${u.reason}`);
  if (u.processes > 0) lines.push(`processes not readable: ${u.reason}: a namespace only they are in is not recorded`);
  if (u.hidden) lines.push(`other users' processes hidden (${u.hidden}): a namespace only they are in is not recorded`);
  return lines;
}

/** One line for stderr and lsm status, with the counts of now; null when everything was seen. */
export function unseenSummary(stats: CollectStats): string | null {
  const u = stats.unseen;
  if (!u) return null;
  const what = [u.namespaces > 0 ? plural(u.namespaces, 'namespace') : '', u.processes > 0 ? `the namespaces of ${plural(u.processes, 'process')}` : ''].filter(Boolean).join(' and ');
  const hidden = u.hidden ? `other users' processes hidden (${u.hidden})` : '';
  return `${[what ? `${what} not readable (${u.reason})` : '', hidden].filter(Boolean).join(', ')}: sockets only there are not recorded`;
}
