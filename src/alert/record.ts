// The alert as one JSON object, for the event log and for hooks, at most a given number of bytes:
// root's sockets first, and when the record would be larger, sockets listed without owners, then
// not at all, from the last (users' first); `cut` then says how many and how to see the whole.
import { boundField, boundOwners, bytes, fitEntries, isCut, LINE_MAX, PIDS_SHOWN, rootFirst } from './bounds.js';
import { seeWhole, type Alert, type AlertLine, type AlertOwner } from './message.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Times as every JSON lsm writes them: RFC 3339 UTC with milliseconds. `max`: bytes of its JSON. */
export function alertRecord(a: Alert, max: number): Record<string, unknown> {
  const since = (l: AlertLine) => (l.since ? { since: { commit: l.since.commit, time: iso(l.since.time) } } : {});
  const owner = (o: AlertOwner) => ({ ...o, startedAt: iso(o.startedAt) });
  const whole = (l: AlertLine) => {
    const { owners, more } = boundOwners(l.owners, l.moreOwners); // again: an alert spooled before the bounds
    return { path: l.path, line: boundField(l.line, LINE_MAX), owners: owners.map(owner), ...(more ? { moreOwners: more } : {}), ...since(l) };
  };
  const brief = (l: AlertLine) => {
    const { owners, more } = boundOwners(l.owners, l.moreOwners);
    const count = owners.length + (more?.count ?? 0);
    const pids = [...owners.map((o) => o.pid), ...(more?.pids ?? [])].slice(0, PIDS_SHOWN);
    return { path: l.path, line: boundField(l.line, LINE_MAX), owners: [], ...(count ? { moreOwners: { count, pids } } : {}), ...since(l) };
  };
  const gone = (l: AlertLine) => ({ path: l.path, line: boundField(l.line, LINE_MAX), ...since(l) });
  const record = (added: object[], removed: object[], cut?: object) => ({
    id: a.id, schema: 1, time: iso(a.time), host: a.host, commit: a.commit, parent: a.parent, summary: boundField(a.summary), ...(a.reminder ? { reminder: true } : {}),
    added, removed, repo: a.repo, ...(cut ? { cut } : {}),
  });
  const cutInfo = (condensed: number, added: number, removed: number) => ({ condensed, omitted: { added, removed }, see: seeWhole(a) });
  const size = (e: object) => bytes(JSON.stringify(e)) + 1; // and a comma
  const widest = cutInfo(a.added.length, a.added.length, a.removed.length);
  let left = max - bytes(JSON.stringify(record([], [], widest)));
  const added = fitEntries(rootFirst(a.added), left, whole, brief, size);
  left = added.left;
  const removed = fitEntries(rootFirst(a.removed), left, gone, gone, size);
  const fieldsCut = added.kept.some((e) => isCut(JSON.stringify(e))) || removed.kept.some((e) => isCut(e.line));
  const cut = fieldsCut || added.condensed || added.omitted || removed.omitted;
  return record(added.kept, removed.kept, cut ? cutInfo(added.condensed, added.omitted, removed.omitted) : undefined);
}
