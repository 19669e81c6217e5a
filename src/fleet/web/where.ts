// The web view's where data (`lsm fleet where` answered in the browser), split so that a search
// fetches only what it can match: every line present now on some host is in one of WHERE_BUCKETS
// files, chosen by its endpoint (the part before the first space): by the port's digits when the
// endpoint ends in ':digits', else by the whole endpoint (a unix path, an @abstract name). A port or
// address:port search reads one bucket, a unix path one, any other text all of them. web/app.js
// computes the same bucket (its bucketOf).
//
//   w/hosts.json  { v, gen, buckets, hosts: [id...], since: [ms...] }  a host by its number; its usual 'since'
//   w/<n>.json    { v, gen, n, lines: [[path, line, ref...]...] }       sorted by path, then line
// A ref is a host's number when the line is there since that host's usual time, else -(number + 1)
// followed by the line's own time (ms). `gen` names the full build both belong to: a host added
// later gets the next number, so a bucket and hosts.json of the same gen always agree.

export const WHERE_BUCKETS = 64;

export interface WhereHosts { v: 2; gen: string; buckets: number; hosts: string[]; since: (number | null)[] }
export type WhereLine = [string, string, ...number[]];
export interface WhereBucket { v: 2; gen: string; n: number; lines: WhereLine[] }
/** A host's lines present now: 'path\tline' -> [commit, since (ms)] (HostNow's lines). */
export type Lines = Record<string, [string, number]>;

/** The bucket of a line ('path\tline'): FNV-1a of its endpoint's port digits, or of the endpoint. */
export function bucketOfKey(key: string): number {
  const line = key.slice(key.indexOf('\t') + 1);
  const endpoint = line.split('  ', 1)[0].split(' ', 1)[0];
  const port = /:(\d+)$/.exec(endpoint);
  const s = port ? port[1] : endpoint;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193); }
  return (h >>> 0) % WHERE_BUCKETS;
}

/** The time most of a host's lines are there since (its first push, usually): those refs need no time. */
function usualSince(lines: Lines): number | null {
  const count = new Map<number, number>();
  for (const [, t] of Object.values(lines)) count.set(t, (count.get(t) ?? 0) + 1);
  let best: number | null = null;
  for (const [t, c] of count) if (best === null || c > count.get(best)!) best = t;
  return best;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const split = (key: string): [string, string] => { const tab = key.indexOf('\t'); return [key.slice(0, tab), key.slice(tab + 1)]; };
const refOf = (i: number, t: number, since: number | null): number[] => (t === since ? [i] : [-(i + 1), t]);

function bucketFrom(gen: string, n: number, byKey: Map<string, number[]>): WhereBucket {
  const lines = [...byKey.keys()].sort(cmp).map((key): WhereLine => [...split(key), ...byKey.get(key)!]);
  return { v: 2, gen, n, lines };
}

/** Every bucket and the hosts, from every host's lines now (hosts in the order given). */
export function buildWhere(hosts: { host: string; lines: Lines }[], gen: string): { hosts: WhereHosts; buckets: WhereBucket[] } {
  const doc: WhereHosts = { v: 2, gen, buckets: WHERE_BUCKETS, hosts: hosts.map((h) => h.host), since: hosts.map((h) => usualSince(h.lines)) };
  const maps = Array.from({ length: WHERE_BUCKETS }, () => new Map<string, number[]>());
  hosts.forEach(({ lines }, i) => {
    for (const [key, [, t]] of Object.entries(lines)) {
      const m = maps[bucketOfKey(key)];
      let refs = m.get(key);
      if (!refs) m.set(key, (refs = []));
      refs.push(...refOf(i, t, doc.since[i]));
    }
  });
  return { hosts: doc, buckets: maps.map((m, n) => bucketFrom(gen, n, m)) };
}

/** A host new to the where data: the next number, its usual 'since'. */
export function addHost(doc: WhereHosts, host: string, lines: Lines): number {
  doc.hosts.push(host);
  doc.since.push(usualSince(lines));
  return doc.hosts.length - 1;
}

/**
 * Host i's refs in this bucket made what `lines` says, for `keys` (every key when null): each such
 * key loses the host's ref and gets it back with its time now if the host still has the line.
 */
export function patchHost(b: WhereBucket, i: number, keys: Set<string> | null, since: number | null, lines: Lines): void {
  const byKey = new Map<string, number[]>();
  for (const [path, line, ...refs] of b.lines) byKey.set(`${path}\t${line}`, refs);
  const redo = keys ? [...keys].filter((k) => bucketOfKey(k) === b.n) : [...new Set([...byKey.keys(), ...Object.keys(lines).filter((k) => bucketOfKey(k) === b.n)])];
  for (const key of redo) {
    const kept: number[] = [];
    const refs = byKey.get(key) ?? [];
    for (let r = 0; r < refs.length; r++) {
      const explicit = refs[r] < 0;
      const host = explicit ? -refs[r] - 1 : refs[r];
      if (host !== i) kept.push(...(explicit ? [refs[r], refs[r + 1]] : [refs[r]]));
      if (explicit) r++;
    }
    if (Object.hasOwn(lines, key)) kept.push(...refOf(i, lines[key][1], since));
    if (kept.length) byKey.set(key, kept); else byKey.delete(key);
  }
  b.lines = bucketFrom(b.gen, b.n, byKey).lines;
}
