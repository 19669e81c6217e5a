// Blame from the journal: for each snapshot line, every interval it was present.
import { escapeText } from '../snapshot/escape.js';
import type { JournalRecord } from './journal-read.js';

export interface Point { commit: string; time: number }
export interface Interval { from: Point; to: Point | null } // to: the commit that removed it; null: present now
export interface Blame { path: string; line: string; intervals: Interval[] }

/** Whether a snapshot line matches, and text that every line it matches contains. */
export type LineMatcher = ((path: string, line: string) => boolean) & { needle: string };

/**
 * What a user asks about: a port (22), a port and kind (22/tcp, 53/udp), an address and port
 * (127.0.0.1:631, [::1]:631), a unix path or @abstract name, or any text of a line.
 */
export function lineMatcher(what: string): LineMatcher {
  const endpoint = (line: string) => line.split('  ', 1)[0].split(' ', 1)[0];
  const kind = (path: string) => path.slice(path.lastIndexOf('/') + 1);
  const matcher = (needle: string, test: (path: string, line: string) => boolean) => Object.assign(test, { needle });
  const port = /^(\d{1,5})(?:\/(tcp|udp|raw))?$/.exec(what);
  if (port) {
    const kinds = port[2] ? [port[2]] : ['tcp', 'udp'];
    return matcher(`:${port[1]}`, (path, line) => kinds.includes(kind(path)) && endpoint(line).endsWith(`:${port[1]}`));
  }
  const addr = /^(\[[0-9a-fA-F:.]+\]|\d{1,3}(?:\.\d{1,3}){3}|\*):(\d{1,5})$/.exec(what);
  if (addr) {
    // a wildcard listener serves every address of its family (and [::] also v4, unless
    // bindv6only): asking about 127.0.0.1:22 finds the 0.0.0.0:22 that answers it
    const v4 = !addr[1].startsWith('[');
    const wild = addr[1] === '*' || addr[1] === '0.0.0.0' || addr[1] === '[::]' ? [] : v4 ? ['0.0.0.0', '[::]', '*'] : ['[::]', '*'];
    const wanted = new Set([what, ...wild.map((a) => `${a}:${addr[2]}`)]);
    return matcher(`:${addr[2]}`, (_path, line) => wanted.has(endpoint(line)));
  }
  if (what.startsWith('/') || what.startsWith('@')) {
    const escaped = escapeText(what);
    return matcher(escaped, (path, line) => kind(path) === 'unix' && endpoint(line) === escaped);
  }
  return matcher(what, (_path, line) => line.includes(what));
}

export function blame(records: Iterable<JournalRecord>, match: (path: string, line: string) => boolean): Blame[] {
  const byKey = new Map<string, Blame>();
  for (const rec of records) {
    const at = { commit: rec.c, time: rec.t };
    for (const [path, line] of rec.a) {
      if (!match(path, line)) continue;
      const key = `${path}\n${line}`;
      const b = byKey.get(key) ?? { path, line, intervals: [] };
      b.intervals.push({ from: at, to: null });
      byKey.set(key, b);
    }
    for (const [path, line] of rec.r) {
      const b = byKey.get(`${path}\n${line}`);
      const open = b?.intervals[b.intervals.length - 1];
      if (open && open.to === null) open.to = at;
    }
  }
  return [...byKey.values()];
}

export function presentNow(b: Blame): boolean {
  return b.intervals.length > 0 && b.intervals[b.intervals.length - 1].to === null;
}
