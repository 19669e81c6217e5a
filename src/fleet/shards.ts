// The fleet index's read side at scale: the hosts are split into SHARDS groups (by a hash of the
// id), and each group's answers are precomputed in one file, lsm/index/shards/<n>.idx, so a
// question reads 64 small parts instead of 10,000 hosts' files (profiled at 1,000 hosts: opening,
// hashing and parsing every host's files was most of status/where/log, and blame parsed every
// host's whole line history).
//
// A shard file is one header line, then four sections (byte offsets after the header):
//   summary   every host's status row (HostSummary), JSON
//   keys      every distinct 'path\tline' any of its hosts ever had, one a line (JSON-escaped, so
//             a line holds no raw tab or newline), with where its postings are (chunks of postings
//             share a checksum): where/blame scan this text for the question's needle, read the hits' chunks
//   postings  per key: the hosts that had it and every interval, with the server's arrival times
//   changes   every change of its hosts, latest arrival first, in blocks: log --since reads the
//             first blocks only
// The header names the branch tip and baseline each host was built from and the checksum of each
// section (and its own): a question proves a shard against the refs (one read of packed-refs for
// the whole fleet) and each section it reads against its checksum. A host whose branch moved is
// answered from its own files (catalog.ts) until its shard holds more than OVERLAY_MAX such hosts:
// then the shard is rebuilt from the hosts' files (about 100 ms at 156 hosts). A shard that fails
// a checksum is rebuilt before it answers; `verify` compares every byte with a rebuild from git.
import { closeSync, openSync, readSync } from 'node:fs';
import { createHash, timingSafeEqual } from 'node:crypto';
import { proof } from './index-key.js';
import { arrival, type HostHistory, type HostNow } from './records.js';

export const SHARDS = 64;
/** Hosts whose branch moved since their shard was built, answered from their own files, before the shard is rebuilt. */
export const OVERLAY_MAX = 8;

/** The shard a host's answers live in: FNV-1a of its id. */
export function shardOf(host: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < host.length; i++) { h ^= host.charCodeAt(i); h = Math.imul(h, 0x01000193); }
  return (h >>> 0) % SHARDS;
}

/** What status shows of a host: its 'now' without the lines, their count per kind instead. */
export interface HostSummary extends Omit<HostNow, 'lines'> { sockets: Record<string, number> }
/** [from commit, its arrival, to commit, its arrival] */
export type Interval = [string, number, string | null, number | null];
/** A host that had a key: its id, the key's place among the host's lines (answers keep the hosts' order), its intervals. */
export type Posting = [string, number, Interval[]];
/** A change: arrival, host, its place in the host's history, commit, host's time, summary, +, -, server's arrival or null. */
export type TimelineRow = [number, string, number, string, number, string, number, number, number | null];

type Section = [number, number, string]; // offset, length, checksum
// pushes: the size of lsm/pushes.jsonl the shard was built with: a push recorded after it (the drain
// records the server's arrival after the ref moved) changes its host's answers without moving its tip
interface Head { v: 2; pushes: number; hosts: Record<string, [string, string | null]>; summary: Section; keys: Section; postings: Section[]; changes: [number, number, string, number][] }

const BLOCK = 512; // changes a block
const CHUNK = 32768; // postings' bytes a checksum
const sum = (b: Buffer | string) => createHash('sha256').update(b).digest('hex').slice(0, 32);
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** A key as it is written in the keys section: no raw tab, newline or quote. */
export const escapeKey = (key: string) => JSON.stringify(key).slice(1, -1);

export function summaryOf(now: HostNow): HostSummary {
  const { lines, ...rest } = now;
  const sockets: Record<string, number> = {};
  for (const key of Object.keys(lines)) {
    const path = key.slice(0, key.indexOf('\t'));
    const kind = path.slice(path.lastIndexOf('/') + 1);
    sockets[kind] = (sockets[kind] ?? 0) + 1;
  }
  return { ...rest, sockets };
}

/**
 * Shard n's file, from its hosts' histories and 'now's, stamped from the push record up to `pushes`
 * bytes: the same input gives the same bytes (verify --full compares them). Its header ends with its
 * proof (`key`: the index key; none without one, in memory only): an HMAC over the header, which
 * holds every section's checksum, so the proof covers every byte.
 */
export function buildShard(n: number, hosts: { h: HostHistory; now: HostNow }[], pushes: number, key: Buffer | null): Buffer {
  const sorted = [...hosts].sort((a, b) => byName(a.h.host, b.h.host));
  // each posting written as JSON text at once (what JSON.stringify of the Posting gives, byte for byte):
  // the arrays it would make first were most of a rebuild's time and garbage
  const postings = new Map<string, string[]>();
  const timeline: TimelineRow[] = [];
  const str = JSON.stringify;
  for (const { h } of sorted) {
    const at = new Map(h.changes.map((c) => [c.c, arrival(c)]));
    const host = str(h.host);
    let place = 0;
    for (const key in h.lines) {
      let list = postings.get(key);
      if (!list) postings.set(key, (list = []));
      let text = `[${host},${place++},[`;
      const spans = h.lines[key];
      for (let i = 0; i < spans.length; i++) {
        const [fc, ft, tc, tt] = spans[i];
        text += `${i ? ',' : ''}[${str(fc)},${str(at.get(fc) ?? ft)},${tc === null ? 'null' : str(tc)},${tc === null ? 'null' : str(at.get(tc) ?? tt)}]`;
      }
      list.push(`${text}]]`);
    }
    h.changes.forEach((c, pos) => timeline.push([arrival(c), h.host, pos, c.c, c.t, c.s, c.a, c.r, c.rt]));
  }
  const parts: Buffer[] = [];
  let size = 0;
  const put = (b: Buffer): Section => { parts.push(b); size += b.length; return [size - b.length, b.length, sum(b)]; };
  const summary = put(Buffer.from(JSON.stringify(sorted.map(({ now }) => summaryOf(now)))));
  // postings in chunks of about CHUNK bytes, one checksum each (one a key cost more than the rest of a rebuild)
  let keysText = '';
  const chunks: string[] = [''];
  let off = 0;
  for (const key of [...postings.keys()].sort(byName)) {
    if (off >= CHUNK) { chunks.push(''); off = 0; }
    const text = `[${postings.get(key)!.join(',')}]`;
    const len = Buffer.byteLength(text);
    keysText += `${escapeKey(key)}\t${chunks.length - 1}\t${off}\t${len}\n`;
    chunks[chunks.length - 1] += text;
    off += len;
  }
  const keys = put(Buffer.from(keysText));
  const postingChunks = chunks.map((c) => put(Buffer.from(c)));
  timeline.sort((a, b) => b[0] - a[0] || byName(a[1], b[1]) || a[2] - b[2]);
  const changes: Head['changes'] = [];
  for (let i = 0; i < timeline.length; i += BLOCK) {
    const [o, l, s] = put(Buffer.from(JSON.stringify(timeline.slice(i, i + BLOCK))));
    changes.push([o, l, s, timeline[i][0]]);
  }
  const head: Head = { v: 2, pushes, hosts: Object.fromEntries(sorted.map(({ now }) => [now.host, [now.tip, now.baseline]])), summary, keys, postings: postingChunks, changes };
  let headText = JSON.stringify(head);
  if (key) headText = `${headText.slice(0, -1)},"mac":"${proof(key, shardLabel(n, headText))}"}`;
  return Buffer.concat([Buffer.from(`${sum(headText)} ${headText}\n`), ...parts]);
}

const shardLabel = (n: number, headText: string) => `lsm fleet index\nshard\n${n}\n${headText}`;
const MAC_TAIL = /,"mac":"([0-9a-f]{64})"\}$/;

/**
 * What is wrong with shard n's bytes (null: nothing): its header's checksum and proof under `key`,
 * every section's checksum, the sections covering the file exactly, and every host it names being
 * one of shard n's. What it holds of each host is what lsm built from that host's tip and baseline
 * (named in the header); hosts it holds at an older tip are answered from their own files.
 */
export function shardProblem(n: number, bytes: Buffer, key: Buffer): string | null {
  const nl = bytes.indexOf(10);
  const line = bytes.subarray(0, nl < 0 ? 0 : nl).toString('utf8');
  const sp = line.indexOf(' ');
  const headText = line.slice(sp + 1);
  if (nl < 0 || sp < 0 || sum(headText) !== line.slice(0, sp)) return 'is damaged (its header or a checksum does not hold)';
  const m = MAC_TAIL.exec(headText);
  const unsigned = m ? `${headText.slice(0, m.index)}}` : '';
  if (!m || !timingSafeEqual(Buffer.from(m[1]), Buffer.from(proof(key, shardLabel(n, unsigned))))) return 'is not proven (its HMAC does not hold: edited by hand, another shard, or written without this repository\'s key)';
  let head: Head;
  try { head = JSON.parse(unsigned) as Head; } catch { return 'is damaged (its header or a checksum does not hold)'; }
  const sections: Section[] = [head.summary, head.keys, ...head.postings, ...head.changes.map(([o, l, s]): Section => [o, l, s])].sort((a, b) => a[0] - b[0]);
  const body = bytes.subarray(nl + 1);
  let at = 0;
  for (const [off, len, s] of sections) {
    if (off !== at || off + len > body.length || sum(body.subarray(off, off + len)) !== s) return 'is damaged (its header or a checksum does not hold)';
    at += len;
  }
  if (at !== body.length) return 'is damaged (bytes after its last section)';
  const stranger = Object.keys(head.hosts).find((h) => shardOf(h) !== n);
  return stranger === undefined ? null : `holds hosts/${stranger}, which is not one of its hosts`;
}

const openFds: number[] = [];

/** A shard as read: its proven header, and its sections read on demand (each checked against its checksum). */
export class Shard {
  private constructor(readonly head: Head, private readonly read: (off: number, len: number) => Buffer, private readonly start: number) {}

  /** Close every shard file opened (a question's run holds at most SHARDS, or a few more after rebuilds). */
  static closeAll(): void { for (const fd of openFds.splice(0)) closeSync(fd); }

  /** Null when the header is missing, torn or does not match its checksum. */
  static open(source: string | Buffer): Shard | null {
    let read: (off: number, len: number) => Buffer;
    if (Buffer.isBuffer(source)) read = (off, len) => source.subarray(off, off + len);
    else {
      let fd: number;
      try { fd = openSync(source, 'r'); } catch { return null; }
      // a read that fails (not a file: EISDIR) reads nothing: the header or the section does not hold
      read = (off, len) => { const b = Buffer.alloc(len); let n = 0; try { n = readSync(fd, b, 0, len, off); } catch { /* nothing read */ } return b.subarray(0, n); };
      openFds.push(fd);
    }
    let text = Buffer.alloc(0);
    let nl = -1;
    for (let off = 0; nl < 0; off += 65536) {
      const b = read(off, 65536);
      if (b.length === 0) return null;
      nl = b.indexOf(10);
      text = Buffer.concat([text, nl < 0 ? b : b.subarray(0, nl)]);
      if (nl >= 0) nl = off + nl;
    }
    const line = text.toString('utf8');
    const sp = line.indexOf(' ');
    if (sp < 0 || sum(line.slice(sp + 1)) !== line.slice(0, sp)) return null;
    try {
      const head = JSON.parse(line.slice(sp + 1)) as Head;
      return head.v === 2 && Number.isSafeInteger(head.pushes) && head.pushes >= 0 ? new Shard(head, read, nl + 1) : null;
    } catch { return null; }
  }

  private bytes([off, len, s]: Section): Buffer | null {
    const b = this.read(this.start + off, len);
    return b.length === len && sum(b) === s ? b : null;
  }
  private section(sec: Section): string | null {
    return this.bytes(sec)?.toString('utf8') ?? null;
  }

  /** Whether this shard was built from this tip and baseline of the host. */
  holds(host: string, tip: string, baseline: string | null): boolean {
    const h = Object.hasOwn(this.head.hosts, host) ? this.head.hosts[host] : undefined;
    return h !== undefined && h[0] === tip && h[1] === baseline;
  }

  summaries(): HostSummary[] | null {
    const t = this.section(this.head.summary);
    return t === null ? null : (JSON.parse(t) as HostSummary[]);
  }

  /** Every key holding the needle (a superset: the caller matches), with its postings; null when a part fails its checksum. */
  postings(needle: string): [string, Posting[]][] | null {
    const text = this.section(this.head.keys);
    if (text === null) return null;
    const esc = escapeKey(needle);
    const lines: string[] = [];
    if (esc !== needle || needle === '') lines.push(...text.split('\n').filter(Boolean)); // a needle that escapes differently: every key
    else {
      let last = -1;
      for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
        const from = text.lastIndexOf('\n', i) + 1;
        if (from === last) continue;
        last = from;
        lines.push(text.slice(from, text.indexOf('\n', i)));
      }
    }
    const out: [string, Posting[]][] = [];
    const chunks = new Map<number, Buffer | null>();
    for (const l of lines) {
      const f = l.split('\t');
      const [chunk, off, len] = f.slice(-3).map(Number);
      const key = JSON.parse(`"${f.slice(0, -3).join('\t')}"`) as string;
      if (!key.includes(needle)) continue;
      if (!chunks.has(chunk)) chunks.set(chunk, this.head.postings[chunk] ? this.bytes(this.head.postings[chunk]) : null);
      const b = chunks.get(chunk);
      if (!b || off + len > b.length) return null;
      out.push([key, JSON.parse(b.subarray(off, off + len).toString('utf8')) as Posting[]]);
    }
    return out;
  }

  /** The changes that arrived at or after `since` (all without it), latest first; null when a block fails its checksum. */
  changes(since: number | undefined): TimelineRow[] | null {
    const out: TimelineRow[] = [];
    for (const [off, len, s, max] of this.head.changes) {
      if (since !== undefined && max < since) break;
      const t = this.section([off, len, s]);
      if (t === null) return null;
      for (const row of JSON.parse(t) as TimelineRow[]) if (since === undefined || row[0] >= since) out.push(row);
    }
    return out;
  }
}

/** Per host, what the shard holds of it (summary, every key with its intervals, its changes) as one text: verify compares these with a rebuild's. Null when a part fails its checksum. */
export function hostParts(shard: Shard): Map<string, string> | null {
  const summaries = shard.summaries();
  const postings = shard.postings('');
  const changes = shard.changes(undefined);
  if (!summaries || !postings || !changes) return null;
  const parts = new Map<string, { summary: HostSummary | null; lines: [string, number, Interval[]][]; changes: TimelineRow[] }>();
  const of = (host: string) => { let p = parts.get(host); if (!p) parts.set(host, (p = { summary: null, lines: [], changes: [] })); return p; };
  for (const s of summaries) of(s.host).summary = s;
  for (const [key, list] of postings) for (const [host, place, spans] of list) of(host).lines.push([key, place, spans]);
  for (const row of changes) of(row[1]).changes.push(row);
  return new Map([...parts].map(([host, p]) => [host, JSON.stringify(p)]));
}
