// What a scan could not see (not root: namespaces it cannot enter, processes whose namespace it
// cannot read), said the same way on stderr and in lsm status, and, so that it shows in the
// history, as lines of host/unattributed. Those lines carry no count that changes by itself:
// processes come and go all the time, so theirs says only that some could not be read.
// Also what no fd and no table shows: fds in flight in a unix socket's queue (collect/in-flight.ts),
// named by the queue's socket and its holder, never by a count.
import type { CollectStats } from '../types.js';
import { escapeField } from './escape.js';

const SHOWN = 5; // queues named on the one line; a user may fill thousands

type Queue = NonNullable<CollectStats['inFlight']>[number];
const queueText = (q: Queue) => `unix socket ${q.path ? escapeField(q.path) : `inode ${q.inode}`} held by ${escapeField(q.comm)} ${escapeField(q.user)}`;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : word.endsWith('s') ? 'es' : 's'}`;

/** The snapshot's lines for what was not seen (host/unattributed), stable from scan to scan. */
export function unseenLines(stats: CollectStats): string[] {
  const lines = [...new Set((stats.inFlight ?? []).map((q) => `fds in flight: ${queueText(q)}: what they carry is not read`))];
  const u = stats.unseen;
  if (!u) return lines;
  if (u.namespaces > 0) lines.push(`${plural(u.namespaces, 'namespace')} not readable: ${u.reason}`);
  if (u.processes > 0) lines.push(`processes not readable: ${u.reason}: a namespace only they are in is not recorded`);
  if (u.hidden) lines.push(`other users' processes hidden (${u.hidden}): a namespace only they are in is not recorded`);
  return lines;
}

/** One line for stderr and lsm status, with the counts of now; null when everything was seen. */
export function unseenSummary(stats: CollectStats): string | null {
  const u = stats.unseen;
  const queues = [...new Set((stats.inFlight ?? []).map(queueText))]; // a socket held in two fds is one queue
  const inFlight = queues.length > 0 ? `fds in flight in ${plural(queues.length, 'unix socket queue')} (${queues.slice(0, SHOWN).join(', ')}${queues.length > SHOWN ? `, ${queues.length - SHOWN} more in host/unattributed` : ''}): what they carry is not read` : null;
  if (!u) return inFlight;
  const what = [u.namespaces > 0 ? plural(u.namespaces, 'namespace') : '', u.processes > 0 ? `the namespaces of ${plural(u.processes, 'process')}` : ''].filter(Boolean).join(' and ');
  const hidden = u.hidden ? `other users' processes hidden (${u.hidden})` : '';
  const unseen = `${[what ? `${what} not readable (${u.reason})` : '', hidden].filter(Boolean).join(', ')}: sockets only there are not recorded`;
  return inFlight ? `${unseen}; ${inFlight}` : unseen;
}
