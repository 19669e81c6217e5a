// The fleet index: per host, its changes and every interval of every line, read from the host's
// branch with one `git log -p` (incrementally from the last tip indexed). Derived data: `lsm fleet
// reindex` rebuilds it from the branches, `lsm fleet verify` checks it against them. The one record
// that is not derived is lsm/pushes.jsonl: when the server received what (git does not keep it).
//
// Each question reads only what it needs (profiled at 100 hosts: parsing every host's whole line
// history was most of status/where/log), so a host's index is three files under lsm/index/:
//   history/<host>.json  every interval of every line, and the changes (blame, log --grep; the
//                        incremental update starts from it)
//   changes/<host>.json  the changes alone (log)
//   now/<host>.json      the lines present now with their 'since', counts, drift from the host's
//                        pushed baseline (status, where, diff)
// Each file is a header line (the branch tip it was built from, the SHA-256 of the rest) and its
// JSON: a reader takes it only when both hold (else that host's files are rebuilt), and verify
// compares every byte with a rebuild.
//
// Times are the server's: a change's 'rt' is when the first push that brought it was recorded
// (pushes.jsonl); its 't', the host's own commit date, is kept beside it. Without a record (a
// mirror clone) the commit date stands in.
import { indexDamage, moveIndexDamageAside } from './central-layout.js';
import { replaceFile } from '../safe-path.js';
import { appendFileSync, closeSync, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { createHash, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { EXIT, LsmError, ioError, type ErrorCode } from '../errors.js';
import { gitOut, runGit } from './git-run.js';
import { ensureIndexKey, indexKeyIfAny, proof, readIndexKey } from './index-key.js';
import { BASELINE_PREFIX, HOST_PREFIX, baselineOfRef, hostOfRef } from './names.js';
import { SHARDS, Shard, buildShard, hostParts, shardOf, shardProblem } from './shards.js';
import { arrival, type FleetChange, type HostHistory, type HostNow } from './records.js';

export { arrival, type FleetChange, type HostHistory, type HostNow, type Span } from './records.js';

type Part = 'history' | 'changes' | 'now';
const indexDir = (gitdir: string) => join(gitdir, 'lsm', 'index');
const partDir = (gitdir: string, part: Part) => join(indexDir(gitdir), part);
const fileOf = (gitdir: string, part: Part, host: string) => join(partDir(gitdir, part), `${host}.json`);

const git = (gitdir: string, args: string[]): string => gitOut(gitdir, args).toString('utf8');

/**
 * Whether this run may write the index: any user but root may (the kernel refuses what it must
 * not); root only where root owns the repository, its lsm/ and lsm/index/ (none a symbolic link).
 * Root asking questions of the web server user's repository writes nothing there (that user could
 * plant a link where root would write): it answers from what it rebuilds in memory (`built`).
 */
function writesIndex(gitdir: string): boolean {
  if ((process.geteuid?.() ?? 0) !== 0) return true;
  return [gitdir, join(gitdir, 'lsm'), indexDir(gitdir)].every((p) => {
    const st = lstatSync(p, { throwIfNoEntry: false });
    // a link of root's at lsm/index is damage in root's lsm/: moved aside as the link (reindex)
    return !st || (st.uid === 0 && (!st.isSymbolicLink() || p === indexDir(gitdir)));
  });
}
const built = new Map<string, string>(); // index file -> its text, built by a run that does not own the index

export interface FleetRefs { tips: Map<string, string>; baselines: Map<string, string> }

/** Every host branch (id -> tip) and every pushed baseline (id -> commit). */
export function fleetRefs(gitdir: string): FleetRefs {
  const refs: FleetRefs = { tips: new Map(), baselines: new Map() };
  const add = (ref: string, oid: string) => {
    const host = hostOfRef(ref);
    if (host !== null) refs.tips.set(host, oid);
    const b = baselineOfRef(ref);
    if (b !== null) refs.baselines.set(b, oid);
  };
  const files = refFiles(gitdir);
  if (files) { for (const [ref, oid] of files) add(ref, oid); return refs; }
  for (const l of git(gitdir, ['for-each-ref', '--format=%(objectname) %(refname)', HOST_PREFIX, BASELINE_PREFIX]).split('\n')) {
    const [oid, ref] = l.split(' ');
    if (ref) add(ref, oid);
  }
  return refs;
}

/**
 * The fleet's refs read as git's files backend keeps them (packed-refs, then loose files, which
 * win): no git process for a question (one start was ~10% of fleet status). Null when the
 * repository is not plainly that (reftable, a symbolic ref, anything odd): git is asked instead.
 */
function refFiles(gitdir: string): Map<string, string> | null {
  const OID = /^[0-9a-f]{40}$/;
  const out = new Map<string, string>();
  try {
    if (readFileSync(join(gitdir, 'HEAD'), 'utf8').startsWith('ref: refs/heads/.invalid')) return null; // reftable
    // loose files first, then packed-refs: git pack-refs (gc) writes a ref into packed-refs before it
    // deletes its loose file, so in this order a ref being packed meanwhile is seen in one or the
    // other (packed first, a host packed in between was in neither, and left out of every answer)
    const loose = new Map<string, string>();
    for (const prefix of [HOST_PREFIX, BASELINE_PREFIX]) {
      let names: string[] = [];
      try { names = readdirSync(join(gitdir, prefix)); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return null; }
      for (const n of names) {
        let text: string;
        try { text = readFileSync(join(gitdir, prefix, n), 'utf8').trim(); } catch { return null; } // a directory (hosts/a/b), gone meanwhile
        if (!OID.test(text)) { if (n.endsWith('.lock')) continue; return null; }
        loose.set(prefix + n, text);
      }
    }
    let packed = '';
    try { packed = readFileSync(join(gitdir, 'packed-refs'), 'utf8'); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return null; }
    for (const l of packed.split('\n')) {
      if (l === '' || l[0] === '#' || l[0] === '^') continue;
      const [oid, ref] = l.split(' ');
      if (!OID.test(oid) || !ref) return null;
      if (ref.startsWith(HOST_PREFIX) || ref.startsWith(BASELINE_PREFIX)) out.set(ref, oid);
    }
    for (const [ref, oid] of loose) out.set(ref, oid); // a loose ref wins
  } catch {
    return null;
  }
  return out;
}

export const hostTips = (gitdir: string): Map<string, string> => fleetRefs(gitdir).tips;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface PartHead { v?: number; tip?: string; baseline?: string | null; sha256?: string }
/** A part's file text taken apart: its header (without the proof), its proof, its body; null when the header or the checksum does not hold. */
function splitPart(text: string): { head: PartHead; headText: string; mac: string | null; body: string } | null {
  const nl = text.indexOf('\n');
  if (nl < 0) return null;
  let line = text.slice(0, nl);
  let mac: string | null = null;
  const m = MAC_TAIL.exec(line);
  if (m) { mac = m[1]; line = `${line.slice(0, m.index)}}`; }
  try {
    const head = JSON.parse(line) as PartHead;
    const body = text.slice(nl + 1);
    return head.v === 3 && typeof head.tip === 'string' && head.sha256 === sha256(body) ? { head, headText: line, mac, body } : null;
  } catch { return null; }
}
/** The proof a part's header ends with: `,"mac":"<HMAC-SHA256>"}` (so the header it proves is the line without it, byte for byte). */
const MAC_TAIL = /,"mac":"([0-9a-f]{64})"\}$/;
const partLabel = (part: Part, host: string, headText: string) => `lsm fleet index\n${part}\n${host}\n${headText}`;

/** A part's JSON text, when its header says it was built from `tip` (any tip when not given) and its checksum holds (questions: the proof is verify's). */
function readPartText(gitdir: string, part: Part, host: string, tip?: string): string | null {
  let text: string;
  const path = fileOf(gitdir, part, host);
  try { text = built.get(path) ?? readFileSync(path, 'utf8'); } catch { return null; }
  const got = splitPart(text);
  return got && (tip === undefined || got.head.tip === tip) ? got.body : null;
}
function readPart<T>(gitdir: string, part: Part, host: string, tip?: string): T | null {
  const body = readPartText(gitdir, part, host, tip);
  return body === null ? null : (JSON.parse(body) as T);
}
/** A host's 'now', when it is intact (and built from `tip`, when given). */
export const readHostNow = (gitdir: string, host: string, tip?: string) => readPart<HostNow>(gitdir, 'now', host, tip);
export const readHostHistory = (gitdir: string, host: string, tip?: string) => readPart<HostHistory>(gitdir, 'history', host, tip);
type ChangeRow = [string, number, string, number, number, number | null];
/** A host's changes, oldest first; null when the file is not intact or not built from `tip`. */
export function readHostChanges(gitdir: string, host: string, tip?: string): FleetChange[] | null {
  return readPart<ChangeRow[]>(gitdir, 'changes', host, tip)?.map(([c, t, s, a, r, rt]) => ({ c, t, s, a, r, rt })) ?? null;
}

/**
 * The three files' texts, as written: header line (the tip, for 'now' the baseline too, the body's
 * SHA-256, then the proof keyed with the index key: none without a key, in memory only), then the JSON.
 */
function partTexts(h: HostHistory, now: HostNow, key: Buffer | null): Record<Part, string> {
  const bodies: Record<Part, string> = { history: JSON.stringify(h), changes: JSON.stringify(h.changes.map((c): ChangeRow => [c.c, c.t, c.s, c.a, c.r, c.rt])), now: JSON.stringify(now) };
  const out = {} as Record<Part, string>;
  for (const part of Object.keys(bodies) as Part[]) {
    const head = JSON.stringify(part === 'now' ? { v: 3, tip: h.tip, baseline: now.baseline, sha256: sha256(bodies[part]) } : { v: 3, tip: h.tip, sha256: sha256(bodies[part]) });
    out[part] = `${key ? `${head.slice(0, -1)},"mac":"${proof(key, partLabel(part, h.host, head))}"}` : head}\n${bodies[part]}`;
  }
  return out;
}

/** What is wrong with a part's file for this host at this tip and baseline (its proof checked with `key`), or null when it is proven. */
function partProblem(text: string | null, part: Part, host: string, tip: string, baseline: string | null, key: Buffer): string | null {
  const file = `lsm/index/${part}/${host}.json`;
  if (text === null) return `hosts/${host}: not indexed (${file} missing)`;
  const got = splitPart(text);
  if (!got) return `hosts/${host}: ${file} is damaged (its header or checksum does not hold)`;
  if (got.mac === null || !macEqual(got.mac, proof(key, partLabel(part, host, got.headText)))) return `hosts/${host}: ${file} is not proven (its HMAC does not hold: edited by hand, another host's, or written without this repository's key)`;
  if (got.head.tip !== tip) return `hosts/${host}: ${file} was built from another tip than the branch's ${tip.slice(0, 10)}`;
  if (part === 'now' && got.head.baseline !== baseline) return `hosts/${host}: indexed with baseline ${got.head.baseline?.slice(0, 10) ?? 'none'}, pushed baseline ${baseline?.slice(0, 10) ?? 'none'}`;
  return null;
}
const macEqual = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** The key a writer of the index proves its files with: the owner makes one when there is none; a run that keeps what it builds in memory uses it when it can read it. */
const writerKey = (gitdir: string): Buffer | null => (writesIndex(gitdir) ? ensureIndexKey(gitdir) : indexKeyIfAny(gitdir));

function writePart(gitdir: string, part: Part, host: string, text: string): void {
  if (!writesIndex(gitdir)) { built.set(fileOf(gitdir, part, host), text); return; }
  const path = fileOf(gitdir, part, host);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    // one level at a time: a recursive mkdir on a read-only file system says ENOENT, not EROFS
    for (const dir of [indexDir(gitdir), partDir(gitdir, part)]) if (!existsSync(dir)) mkdirSync(dir);
    writeFileSync(tmp, text);
    renameSync(tmp, path); // readers see the old file or the new one
  } catch (err) {
    try { rmSync(tmp, { force: true }); } catch { /* read-only: none was made */ } // a full disk leaves it cut short
    throw ioError(`cannot write the fleet index ${path} (derived: lsm makes it again once it can write)`, err);
  }
}

/** What status, where and diff read, derived from the history. */
export function deriveNow(h: HostHistory, received: number | null, baseline: string | null): HostNow {
  const lines: HostNow['lines'] = {};
  for (const [key, spans] of Object.entries(h.lines)) {
    const open = spans[spans.length - 1];
    if (open[2] === null) lines[key] = [open[0], open[1]];
  }
  const at = new Map(h.changes.map((c) => [c.c, arrival(c)]));
  for (const l of Object.values(lines)) l[1] = at.get(l[0]) ?? l[1];
  const last = h.changes[h.changes.length - 1];
  let latest: number | null = null;
  for (const c of h.changes) if (latest === null || arrival(c) > latest) latest = arrival(c);
  return {
    v: 3, host: h.host, tip: h.tip, received, changes: h.changes.length, lastChange: last ? arrival(last) : null, lastChangeCommitted: last?.t ?? null,
    latestChange: latest, lines, baseline, drift: baseline ? drift(h, baseline, lines) : null,
  };
}

/** The lines at the baseline commit (from the intervals: no git needed) against the lines now. */
function drift(h: HostHistory, baseline: string, now: HostNow['lines']): HostNow['drift'] {
  const pos = new Map(h.changes.map((c, i) => [c.c, i]));
  const b = pos.get(baseline);
  if (b === undefined) return null;
  const atBaseline = new Set<string>();
  for (const [key, spans] of Object.entries(h.lines)) {
    if (spans.some(([from, , to]) => pos.get(from)! <= b && (to === null || pos.get(to)! > b))) atBaseline.add(key);
  }
  return { added: Object.keys(now).filter((k) => !atBaseline.has(k)).sort(), removed: [...atBaseline].filter((k) => !Object.hasOwn(now, k)).sort() };
}

function writeHostIndex(gitdir: string, h: HostHistory, received: number | null, baseline: string | null): HostNow {
  const now = deriveNow(h, received, baseline);
  const texts = partTexts(h, now, writerKey(gitdir));
  for (const part of ['history', 'changes', 'now'] as Part[]) writePart(gitdir, part, h.host, texts[part]);
  return now;
}

/** Arrival times from the push record: each push's time to the changes it brought first (records in the order written). */
function stampArrivals(h: HostHistory, records: PushRecord[]): void {
  const pos = new Map(h.changes.map((c, i) => [c.c, i]));
  let upTo = -1;
  for (const rec of records) {
    const p = pos.get(rec.new);
    if (p === undefined) continue;
    for (let i = upTo + 1; i <= p; i++) if (h.changes[i].rt === null) h.changes[i].rt = rec.t;
    upTo = Math.max(upTo, p);
  }
}

/** A host's whole index from its branch and the push record, as reindex and verify build it. */
function buildHost(gitdir: string, host: string, tip: string, records: PushRecord[]): HostHistory {
  const idx: HostHistory = { v: 3, host, tip: '', changes: [], lines: {} };
  applyCommits(idx, git(gitdir, [...LOG_ARGS, '--reverse', tip]));
  stampArrivals(idx, records);
  return idx;
}

const LOG_ARGS = ['log', '--first-parent', '--format=%x01%H%x02%P%x02%ct%x02%s', '-p', '--unified=0', '--no-renames', '--no-color', '--no-ext-diff', '--diff-algorithm=myers'];

/** One commit of LOG_ARGS' output: its diff is text.slice(from, to) (not copied: a batch's text is held whole). */
interface LogCommit { c: string; parent: string | null; t: number; s: string; from: number; to: number }

/** The commits of LOG_ARGS' output, in the order git printed them. */
function parseLog(text: string): LogCommit[] {
  const out: LogCommit[] = [];
  for (let i = text.startsWith('\x01') ? 0 : text.indexOf('\n\x01'); i >= 0;) {
    if (text.charCodeAt(i) === 10) i++;
    const next = text.indexOf('\n\x01', i);
    const end = next < 0 ? text.length : next;
    let nl = text.indexOf('\n', i);
    if (nl < 0 || nl > end) nl = end;
    const [c, parents = '', t, ...s] = text.slice(i + 1, nl).split('\x02');
    if (c) out.push({ c, parent: parents.split(' ')[0] || null, t: Number(t) * 1000, s: s.join('\x02'), from: nl + 1, to: end });
    i = next;
  }
  return out;
}

/** Apply `git log -p` output (LOG_ARGS, oldest first) to an index. */
function applyCommits(idx: HostHistory, text: string): void {
  for (const commit of parseLog(text)) applyDiff(idx, text, commit);
}

/** A decimal number at text[i..]: [value, index after it], or null when there is no digit. */
function digitsAt(text: string, i: number): [number, number] | null {
  let v = 0;
  const from = i;
  for (let ch = text.charCodeAt(i); ch >= 48 && ch <= 57; ch = text.charCodeAt(++i)) v = v * 10 + ch - 48;
  return i === from ? null : [v, i];
}

/** A hunk header '@@ -a[,b] +c[,d] @@' at text[i..]: [lines removed, lines added], or null. */
function hunkAt(text: string, i: number): [number, number] | null {
  if (!text.startsWith('@@ -', i)) return null;
  const a = digitsAt(text, i + 4);
  if (!a) return null;
  let j = a[1], minus = 1, plus = 1;
  if (text.charCodeAt(j) === 44) { const b = digitsAt(text, j + 1); if (!b) return null; [minus, j] = b; }
  if (!text.startsWith(' +', j)) return null;
  const c = digitsAt(text, j + 2);
  if (!c) return null;
  j = c[1];
  if (text.charCodeAt(j) === 44) { const d = digitsAt(text, j + 1); if (!d) return null; [plus, j] = d; }
  return text.startsWith(' @@', j) ? [minus, plus] : null;
}

/**
 * One commit's diff applied to an index: a removed line closes its key's open interval, an added
 * one opens an interval. Scanned in place (one pass, no line array, no regular expression): this
 * was most of node's time in reindex and verify.
 */
function applyDiff(idx: HostHistory, text: string, { c, t, s, from, to }: LogCommit): void {
  const change: FleetChange = { c, t, s, a: 0, r: 0, rt: null };
  idx.changes.push(change);
  idx.tip = c;
  let path = '';
  let minus = 0, plus = 0;
  for (let i = from; i < to;) {
    let e = text.indexOf('\n', i);
    if (e < 0 || e > to) e = to;
    const ch = text.charCodeAt(i);
    if (minus > 0 && ch === 45) {
      minus--;
      const spans = idx.lines[`${path}\t${text.slice(i + 1, e)}`];
      const open = spans?.[spans.length - 1];
      if (open && open[2] === null) { open[2] = c; open[3] = t; }
      change.r++;
    } else if (plus > 0 && ch === 43) {
      plus--;
      (idx.lines[`${path}\t${text.slice(i + 1, e)}`] ??= []).push([c, t, null, null]);
      change.a++;
    } else if (ch === 100 && text.startsWith('diff --git a/', i)) path = text.slice(i + 13, e).split(' b/')[0];
    else if (ch === 64) {
      const h = hunkAt(text, i);
      if (h) [minus, plus] = h;
    }
    i = e + 1;
  }
}

/**
 * Bring one host's index up to its branch tip (from the last tip indexed when it is an ancestor and
 * its files are intact, else from scratch) and to its baseline, and rewrite its three files.
 * `received`: the push being recorded (its time goes to the changes no push had brought yet);
 * null keeps what the index had.
 */
export function updateHostIndex(gitdir: string, host: string, tip: string, received: number | null, baseline: string | null): HostNow {
  let idx = readHostHistory(gitdir, host);
  if (idx && idx.tip !== tip && runGit(gitdir, ['merge-base', '--is-ancestor', idx.tip, tip]).code !== 0) idx = null;
  let records: PushRecord[] | null = null;
  const hostRecords = () => (records ??= pushRecords(gitdir, host));
  if (!idx) idx = buildHost(gitdir, host, tip, hostRecords());
  else if (idx.tip !== tip) applyCommits(idx, git(gitdir, [...LOG_ARGS, '--reverse', `${idx.tip}..${tip}`]));
  if (received !== null) for (const c of idx.changes) c.rt ??= received;
  const last = received ?? readHostNow(gitdir, host)?.received ?? hostRecords().reduce<number | null>((m, r) => Math.max(m ?? 0, r.t), null);
  return writeHostIndex(gitdir, idx, last, baseline);
}

export interface PushRecord { t: number; host: string; old: string; new: string; user: string }

export function recordPush(gitdir: string, rec: PushRecord): void {
  mkdirSync(join(gitdir, 'lsm'), { recursive: true });
  appendFileSync(join(gitdir, 'lsm', 'pushes.jsonl'), JSON.stringify(rec) + '\n');
}

/**
 * The last time a host pushed, a heartbeat or new commits: lsm/seen/<host> holds it. Never moved
 * back: the post-receive hook writes a heartbeat's time itself, the drain a queued push's later.
 */
export function markSeen(gitdir: string, host: string, t: number): void {
  if ((lastSeen(gitdir, host) ?? -Infinity) >= t) return;
  mkdirSync(join(gitdir, 'lsm', 'seen'), { recursive: true });
  const path = join(gitdir, 'lsm', 'seen', host);
  replaceFile(path, String(t));
}

export function lastSeen(gitdir: string, host: string): number | null {
  try { const t = Number(readFileSync(join(gitdir, 'lsm', 'seen', host), 'utf8')); return Number.isFinite(t) ? t : null; } catch { return null; }
}

/** lsm/pushes.jsonl's bytes from `from` to its end as it is now, and that end. */
function pushText(gitdir: string, from = 0): { text: string; size: number } {
  let fd: number;
  try { fd = openSync(join(gitdir, 'lsm', 'pushes.jsonl'), 'r'); } catch { return { text: '', size: 0 }; }
  try {
    const size = fstatSync(fd).size;
    if (size <= from) return { text: '', size };
    const b = Buffer.alloc(size - from);
    const n = readSync(fd, b, 0, b.length, from);
    return { text: b.subarray(0, n).toString('utf8'), size: from + n };
  } finally { closeSync(fd); }
}

/** The push record's records in `text`, in the order written (a torn line is skipped); only one host's when named. */
function parseRecords(text: string, host?: string): PushRecord[] {
  const out: PushRecord[] = [];
  for (const l of text.split('\n')) {
    if (host !== undefined && !l.includes(`"host":${JSON.stringify(host)}`)) continue;
    try { const r = JSON.parse(l) as PushRecord; if (host === undefined || r.host === host) out.push(r); } catch { /* a torn last line */ }
  }
  return out;
}
const pushRecords = (gitdir: string, host?: string): PushRecord[] => parseRecords(pushText(gitdir).text, host);

function byHost(records: PushRecord[]): Map<string, PushRecord[]> {
  const by = new Map<string, PushRecord[]>();
  for (const r of records) { if (!by.has(r.host)) by.set(r.host, []); by.get(r.host)!.push(r); }
  return by;
}
/** Every host's push records, and the size of the push record they were read from (what a shard built from them says it holds). */
function recordsByHost(gitdir: string): { by: Map<string, PushRecord[]>; size: number } {
  const { text, size } = pushText(gitdir);
  return { by: byHost(parseRecords(text)), size };
}

/**
 * The hosts recorded in the push record from `from` bytes on (read once for every shard: a shard
 * built at a larger size asks with its own): `hostsAfter(at)` is who was recorded after `at`
 * bytes (a record that ends there or before is held), null when that part cannot be told apart
 * (the record shrank below `at`, or a line after it does not parse): every host of such a shard is unproven.
 */
export function pushedSince(gitdir: string, from: number): { size: number; hostsAfter: (at: number) => Set<string> | null } {
  const { text, size } = pushText(gitdir, from);
  const ends: [number, string | null][] = []; // each record's end (bytes), its host (null: does not parse)
  let off = from;
  for (const l of text.split('\n')) {
    off += Buffer.byteLength(l) + 1;
    if (l === '') continue;
    let host: string | null = null;
    try { const r = JSON.parse(l) as PushRecord; if (typeof r.host === 'string') host = r.host; } catch { /* torn */ }
    ends.push([off, host]);
  }
  return {
    size,
    hostsAfter: (at) => {
      if (at < from || at > size) return null;
      const hosts = new Set<string>();
      for (const [end, host] of ends) if (end > at) { if (host === null) return null; hosts.add(host); }
      return hosts;
    },
  };
}

const lastPush = (records: PushRecord[] | undefined) => (records?.length ? Math.max(...records.map((r) => r.t)) : null);

/** A host's 'now' built from this tip and baseline: its file when that holds, else the host rebuilt. */
export function hostNow(gitdir: string, host: string, tip: string, baseline: string | null): HostNow {
  const now = readHostNow(gitdir, host, tip);
  return now && now.baseline === baseline ? now : updateHostIndex(gitdir, host, tip, null, baseline);
}

/** One of a host's other files, proven as 'now' is; the host rebuilt (once) when it does not hold. */
export function provenPart<T>(gitdir: string, n: HostNow, read: (gitdir: string, host: string, tip: string) => T | null): T {
  const got = read(gitdir, n.host, n.tip);
  if (got !== null) return got;
  updateHostIndex(gitdir, n.host, n.tip, null, n.baseline);
  const again = read(gitdir, n.host, n.tip);
  if (again === null) throw new Error(`the index of hosts/${n.host} cannot be rebuilt`);
  return again;
}

const shardDir = (gitdir: string) => join(indexDir(gitdir), 'shards');
const shardFile = (gitdir: string, n: number) => join(shardDir(gitdir), `${n}.idx`);
const builtShards = new Map<string, Buffer>(); // as `built`: shards rebuilt by a run that does not own the index

/** Shard n as stored (or as rebuilt in memory by this run); null when missing or its header does not hold. */
export function openShard(gitdir: string, n: number): Shard | null {
  const path = shardFile(gitdir, n);
  return Shard.open(builtShards.get(path) ?? path);
}

function writeShard(gitdir: string, n: number, buf: Buffer): void {
  const path = shardFile(gitdir, n);
  if (!writesIndex(gitdir)) { builtShards.set(path, buf); return; }
  mkdirSync(shardDir(gitdir), { recursive: true });
  const st = lstatSync(path, { throwIfNoEntry: false });
  // not lsm's (a directory, a link): left for a person to look at; reindex moves it aside
  if (st && !st.isFile()) throw new LsmError(`lsm/index/shards/${n}.idx is not a file: lsm fleet reindex rebuilds it`, EXIT.FAILURE);
  replaceFile(path, buf);
}

/**
 * Rebuild shard n from its hosts' own files (each proven against its branch, or rebuilt first),
 * and from the push record as it is now: a change that a recorded push brought and its host's
 * files do not stamp yet (a question indexed the tip before the drain recorded its arrival) is
 * stamped as the drain will stamp it, and the host's files written so.
 */
export function rebuildShard(gitdir: string, n: number, refs: FleetRefs): Shard {
  const { text, size } = pushText(gitdir); // before the hosts' files: what is recorded later, the shard says it has not seen
  let records: Map<string, PushRecord[]> | undefined;
  const hosts: { h: HostHistory; now: HostNow }[] = [];
  for (const [host, tip] of refs.tips) {
    if (shardOf(host) !== n) continue;
    const baseline = refs.baselines.get(host) ?? null;
    let now = hostNow(gitdir, host, tip, baseline);
    const h = provenPart(gitdir, now, readHostHistory);
    if (size > 0 && h.changes.some((c) => c.rt === null)) {
      const mine = (records ??= byHost(parseRecords(text))).get(host) ?? [];
      const before = JSON.stringify(h.changes);
      stampArrivals(h, mine);
      if (JSON.stringify(h.changes) !== before || now.received !== (lastPush(mine) ?? now.received)) now = writeHostIndex(gitdir, h, lastPush(mine) ?? now.received, baseline);
    }
    hosts.push({ h, now });
  }
  writeShard(gitdir, n, buildShard(n, hosts, size, writerKey(gitdir)));
  const shard = openShard(gitdir, n);
  if (!shard) throw new Error(`shard ${n} of the fleet index cannot be rebuilt`);
  return shard;
}

/** git in GITDIR, its output as a promise (several run at once while node parses what came before). */
function gitAsync(gitdir: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: gitdir, env: { ...process.env, GIT_DIR: gitdir }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out).toString('utf8')) : reject(new LsmError(`git ${args[0]} failed in ${gitdir}: ${err.trim().split('\n')[0] || `exit ${code}`}`))));
  });
}

const BATCH_HOSTS = 500; // hosts a git log reads at once (its output is held whole: ~57 KB a host at 100 changes)

/**
 * Hosts' histories from one `git log` over all their tips (one process for hundreds of hosts, not
 * one each: at 1,000 hosts most of reindex was starting git). The histories are apart: each host's
 * is walked back from its tip by first parents, then applied oldest first as buildHost does.
 */
function parseBatch(text: string, hosts: [string, string][], pushes: Map<string, PushRecord[]>): HostHistory[] {
  const commits = new Map<string, LogCommit>();
  for (const commit of parseLog(text)) commits.set(commit.c, commit);
  return hosts.map(([host, tip]) => {
    const chain: LogCommit[] = [];
    for (let c = commits.get(tip); c !== undefined; c = c.parent === null ? undefined : commits.get(c.parent)) chain.push(c);
    const idx: HostHistory = { v: 3, host, tip: '', changes: [], lines: {} };
    for (let i = chain.length - 1; i >= 0; i--) applyDiff(idx, text, chain[i]);
    if (idx.tip !== tip) throw new Error(`hosts/${host}: its history was not found whole in git log's output`);
    stampArrivals(idx, pushes.get(host) ?? []);
    return idx;
  });
}

/** Whether a host's history file's header (its first KiB) names this tip and its proof holds: its body is checked when it is read. */
function historyHeadProven(gitdir: string, host: string, tip: string, key: Buffer): boolean {
  let fd: number;
  try { fd = openSync(fileOf(gitdir, 'history', host), 'r'); } catch { return false; }
  const b = Buffer.alloc(1024);
  let n = 0;
  try { n = readSync(fd, b, 0, b.length, 0); } catch { /* not a file */ } finally { closeSync(fd); }
  const line = b.subarray(0, Math.max(0, b.subarray(0, n).indexOf(10))).toString('utf8');
  const m = MAC_TAIL.exec(line);
  if (!m) return false;
  const headText = `${line.slice(0, m.index)}}`;
  try { if ((JSON.parse(headText) as PartHead).tip !== tip) return false; } catch { return false; }
  return macEqual(m[1], proof(key, partLabel('history', host, headText)));
}

/** A host's history as its proven history file holds it (proof, tip), restamped from the push record as a build from git stamps it; null when it cannot be reused. */
function reusedHistory(gitdir: string, host: string, tip: string, key: Buffer, records: PushRecord[]): HostHistory | null {
  let text: string;
  try { text = readFileSync(fileOf(gitdir, 'history', host), 'utf8'); } catch { return null; }
  const got = splitPart(text);
  if (!got || got.head.tip !== tip || got.mac === null || !macEqual(got.mac, proof(key, partLabel('history', host, got.headText)))) return null;
  const h = JSON.parse(got.body) as HostHistory;
  if (h.host !== host || h.tip !== tip) return null;
  for (const c of h.changes) c.rt = null; // the lines and changes are git's; the arrival times the record's, as a build from git takes them
  stampArrivals(h, records);
  return h;
}

/**
 * Every host's history, a shard at a time (in shard order): `each` gets the shard's hosts with
 * their histories and 'now's. From git, or (`reuse`) from a host's history file when its proof
 * holds at the branch's tip: the lines and changes are derived from git alone, and the file's HMAC
 * proves lsm wrote them from that tip. Two git processes run ahead while node parses.
 */
async function eachShard(gitdir: string, refs: FleetRefs, pushes: Map<string, PushRecord[]>, reuse: Buffer | null, each: (n: number, hosts: { h: HostHistory; now: HostNow }[]) => void, only: Set<number> | null = null): Promise<number> {
  const groups: [string, string][][] = Array.from({ length: SHARDS }, () => []);
  for (const [host, tip] of [...refs.tips].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) groups[shardOf(host)].push([host, tip]);
  const entry = (h: HostHistory) => ({ h, now: deriveNow(h, lastPush(pushes.get(h.host)), refs.baselines.get(h.host) ?? null) });
  // which hosts git must read: every one, or those whose history file's header is not proven at their tip (the whole file is
  // checked when its shard's turn comes, not all held at once; one that fails then is read from git alone)
  const fromGit = groups.map((g) => (reuse ? g.filter(([host, tip]) => !historyHeadProven(gitdir, host, tip, reuse)) : g));
  // one git log for BATCH_HOSTS hosts, shards following each other: at 10,000 hosts 20 processes,
  // not one a shard (starting one from a large node process took 50-130 ms of wall time under load)
  const ordered: [number, string, string][] = []; // shard, host, tip
  fromGit.forEach((g, n) => { for (const [host, tip] of g) ordered.push([n, host, tip]); });
  const units: [number, string, string][][] = [];
  for (let i = 0; i < ordered.length; i += BATCH_HOSTS) units.push(ordered.slice(i, i + BATCH_HOSTS));
  const running: (Promise<string> | undefined)[] = [];
  const start = (i: number) => { if (i < units.length) running[i] = gitAsync(gitdir, [...LOG_ARGS, ...units[i].map(([, , tip]) => tip)]); };
  start(0); start(1);
  const byShard: { h: HostHistory; now: HostNow }[][] = Array.from({ length: SHARDS }, () => []);
  let next = 0; // the next shard to hand to `each`
  const hand = (n: number) => {
    if (only !== null && !only.has(n)) return; // another worker's
    const git = new Set(fromGit[n].map(([host]) => host));
    for (const [host, tip] of groups[n]) {
      if (git.has(host)) continue;
      byShard[n].push(entry(reusedHistory(gitdir, host, tip, reuse!, pushes.get(host) ?? []) ?? buildHost(gitdir, host, tip, pushes.get(host) ?? [])));
    }
    each(n, byShard[n]);
    byShard[n] = [];
  };
  for (let i = 0; i < units.length; i++) {
    const text = await running[i]!;
    running[i] = undefined;
    start(i + 2);
    const unit = units[i];
    parseBatch(text, unit.map(([, host, tip]) => [host, tip]), pushes).forEach((h, k) => byShard[unit[k][0]].push(entry(h)));
    // the shards before the next unit's first host's are whole
    for (const upTo = i + 1 < units.length ? units[i + 1][0][0] : SHARDS; next < upTo; next++) hand(next);
  }
  for (; next < SHARDS; next++) hand(next);
  return ordered.length;
}

/**
 * Rebuild every host's index and every shard from the branches (and the push record). A host whose
 * history file is proven at its branch's tip is rebuilt from that file, not from git, unless `full`:
 * the bytes are the same (a test holds it). Returns the hosts indexed and how many git read.
 */
export async function reindex(gitdir: string, o: { full?: boolean } = {}): Promise<{ hosts: number; fromGit: number; movedAside: string[] }> {
  indexDamage(gitdir); // damage elsewhere in lsm/ is said (65) before anything is written
  if (!writesIndex(gitdir)) throw new LsmError(`refusing to rewrite the index of ${gitdir}: it is another user's, and root writes nothing there (run lsm fleet reindex as its owner: runuser -u USER -- lsm fleet reindex)`, EXIT.UNSAFE);
  // never rebuilt through a link planted for lsm/index, nor over a file there: moved aside first
  const movedAside = moveIndexDamageAside(gitdir);
  const key = ensureIndexKey(gitdir);
  const pushes = recordsByHost(gitdir);
  const refs = fleetRefs(gitdir);
  const { tips } = refs;
  mkdirSync(indexDir(gitdir), { recursive: true });
  // what no branch backs, and version 1's one file per host (lsm/index/<host>.json)
  for (const n of readdirSync(indexDir(gitdir))) if (n.endsWith('.json')) unlinkSync(join(indexDir(gitdir), n));
  for (const part of ['now', 'changes', 'history'] as Part[]) {
    let names: string[] = [];
    try { names = readdirSync(partDir(gitdir, part)); } catch { continue; }
    for (const n of names) if (!n.endsWith('.json') || !tips.has(n.slice(0, -5))) unlinkSync(join(partDir(gitdir, part), n));
  }
  let names: string[] = [];
  try { names = readdirSync(shardDir(gitdir)); } catch { /* none yet */ }
  // (an entry that is not a regular file never gets here: checkCentralLayout said it above)
  for (const n of names) if (!SHARD_NAME.test(n) || Number(n.slice(0, -4)) >= SHARDS) rmSync(join(shardDir(gitdir), n), { force: true });
  // shards are independent (a host's files and its shard come from that host's branch and records, and the record's size
  // read here): each worker rebuilds every WORKERS-th shard, the main thread only waits
  const workers = reindexWorkers(tips.size);
  const jobs: ShardJob[] = Array.from({ length: workers }, () => ({ gitdir, shards: [], tips: [], baselines: [], records: [], size: pushes.size, full: o.full === true, key }));
  for (let n = 0; n < SHARDS; n++) jobs[n % workers].shards.push(n);
  for (const [host, tip] of tips) {
    const job = jobs[shardOf(host) % workers];
    job.tips.push([host, tip]);
    const baseline = refs.baselines.get(host);
    if (baseline !== undefined) job.baselines.push([host, baseline]);
    const records = pushes.by.get(host);
    if (records) job.records.push([host, records]);
  }
  const fromGit = workers === 1 ? await reindexShards(jobs[0]) : await inWorkers(jobs);
  return { hosts: tips.size, fromGit, movedAside };
}

/** What one reindex worker rebuilds: its shards, their hosts' tips, baselines and push records, the record's size read, the key. */
export interface ShardJob { gitdir: string; shards: number[]; tips: [string, string][]; baselines: [string, string][]; records: [string, PushRecord[]][]; size: number; full: boolean; key: Uint8Array }

const WORKER_FILE = new URL('./reindex-worker.js', import.meta.url);
const MAX_WORKERS = 4;
/**
 * Threads for a reindex: one per core, up to MAX_WORKERS, from a few hosts on (a thread's start, ~0.1 s of CPU, is
 * little beside a reindex; the few hosts of a test fleet are enough to run the threads). One, in this thread, when
 * lsm runs from its TypeScript sources (the unit tests: a worker runs compiled code only).
 */
function reindexWorkers(hosts: number): number {
  if (hosts < 16 || !import.meta.url.endsWith('.js')) return 1;
  return Math.max(1, Math.min(MAX_WORKERS, availableParallelism()));
}

/** Run the jobs in worker threads; the hosts git read, summed. A worker's error is thrown as it was (an LsmError keeps its exit code), once every worker has stopped. */
async function inWorkers(jobs: ShardJob[]): Promise<number> {
  const runs = jobs.map((job) => new Promise<number>((resolve, reject) => {
    const worker = new Worker(WORKER_FILE, { workerData: job });
    let done = false;
    worker.once('message', (m: WorkerReply) => {
      done = true;
      if ('fromGit' in m) resolve(m.fromGit);
      else reject(m.lsm ? new LsmError(m.message, m.lsm) : Object.assign(new Error(m.message), m.errno ? { code: m.errno } : {}));
    });
    worker.once('error', (err) => { done = true; reject(err); });
    worker.once('exit', (code) => { if (!done) reject(new Error(`a reindex worker stopped (exit ${code}) before it had rebuilt its shards`)); });
  }));
  const settled = await Promise.allSettled(runs);
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.reduce((sum, r) => sum + (r as PromiseFulfilledResult<number>).value, 0);
}
export type WorkerReply = { fromGit: number } | { message: string; lsm: ErrorCode | null; errno: string | null };

/**
 * Rebuild a job's shards and their hosts' files (in a worker, or in this thread). A file that already holds these very
 * bytes is left as it is (a reindex of a whole index writes nothing: writing was most of its system time).
 */
export async function reindexShards(job: ShardJob): Promise<number> {
  const { gitdir, size } = job;
  const key = Buffer.from(job.key);
  const refs: FleetRefs = { tips: new Map(job.tips), baselines: new Map(job.baselines) };
  return eachShard(gitdir, refs, new Map(job.records), job.full ? null : key, (n, hosts) => {
    for (const { h, now } of hosts) {
      const texts = partTexts(h, now, key);
      for (const part of ['history', 'changes', 'now'] as Part[]) if (readOrNull(fileOf(gitdir, part, h.host)) !== texts[part]) writePart(gitdir, part, h.host, texts[part]);
    }
    const shard = buildShard(n, hosts, size, key);
    let old: Buffer | null = null;
    try { old = readFileSync(shardFile(gitdir, n)); } catch { /* none yet */ }
    if (!old?.equals(shard)) writeShard(gitdir, n, shard);
  }, new Set(job.shards));
}
const SHARD_NAME = /^\d+\.idx$/;

const readOrNull = (path: string): string | null => { try { return readFileSync(path, 'utf8'); } catch { return null; } };

/**
 * Differences between the index and the branches, from the proofs (empty when they agree): every
 * host's three files must be whole, proven with the index key, and built from the branch's tip
 * (and baseline); every shard whole, proven, and holding only its own hosts. No git: the refs and
 * the files' bytes. `full`: every file is compared with a rebuild from git (verifyFull).
 * Without a readable key it throws (one line): never "agrees" unproven.
 */
export async function verifyIndex(gitdir: string, o: { full?: boolean } = {}): Promise<string[]> {
  // what is not a file or directory lsm made: in the index, a difference (never read through nor
  // 'agrees'); elsewhere in lsm/, thrown (65)
  const damage = indexDamage(gitdir);
  if (damage.length) return damage;
  const key = readIndexKey(gitdir);
  if (o.full) return verifyFull(gitdir, key);
  const problems: string[] = [];
  const { tips, baselines } = fleetRefs(gitdir);
  const groups: boolean[] = Array.from({ length: SHARDS }, () => false);
  for (const [host, tip] of [...tips].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    groups[shardOf(host)] = true;
    for (const part of ['history', 'changes', 'now'] as Part[]) {
      const p = partProblem(readOrNull(fileOf(gitdir, part, host)), part, host, tip, baselines.get(host) ?? null, key);
      if (p) problems.push(p);
    }
  }
  groups.forEach((has, n) => {
    if (!has) return;
    let bytes: Buffer;
    try { bytes = readFileSync(shardFile(gitdir, n)); } catch (err) { if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; bytes = Buffer.alloc(0); } // missing: the next question builds it
    const p = shardProblem(n, bytes, key);
    if (p) problems.push(`lsm/index/shards/${n}.idx ${p}`);
  });
  problems.push(...unbacked(gitdir, tips));
  return problems;
}

/** Hosts indexed that no branch backs. */
function unbacked(gitdir: string, tips: Map<string, string>): string[] {
  let indexed: string[] = [];
  try { indexed = readdirSync(partDir(gitdir, 'now')).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)); } catch { /* none */ }
  return indexed.filter((host) => !tips.has(host)).map((host) => `${host}: indexed but no branch hosts/${host}`);
}

/** verify --full: every file compared with a rebuild from git. */
async function verifyFull(gitdir: string, key: Buffer): Promise<string[]> {
  const problems: string[] = [];
  const refs = fleetRefs(gitdir);
  const { tips, baselines } = refs;
  const pushes = recordsByHost(gitdir);
  await eachShard(gitdir, refs, pushes.by, null, (n, hosts) => {
    for (const { h: fresh, now } of hosts) {
      const host = fresh.host, tip = fresh.tip;
      const expected = partTexts(fresh, now, key);
      for (const part of ['history', 'changes', 'now'] as Part[]) {
        const text = readOrNull(fileOf(gitdir, part, host));
        if (text === expected[part]) continue;
        problems.push(partProblem(text, part, host, tip, baselines.get(host) ?? null, key) ?? `hosts/${host}: lsm/index/${part}/${host}.json differs from a rebuild from the branch`);
      }
    }
    problems.push(...verifyShard(gitdir, n, hosts, pushes.size, key));
  });
  problems.push(...unbacked(gitdir, tips));
  return problems;
}

/**
 * A shard against a rebuild: every host it says it holds at the branch's tip and baseline (the ones
 * questions take from it) must have exactly the rebuilt summary, lines and changes. Hosts it holds
 * at another tip are answered from their own files until it is rebuilt; a missing shard is built by
 * the next question.
 */
function verifyShard(gitdir: string, n: number, hosts: { h: HostHistory; now: HostNow }[], pushes: number, key: Buffer): string[] {
  const file = `lsm/index/shards/${n}.idx`;
  const path = shardFile(gitdir, n);
  let bytes: Buffer | undefined = builtShards.get(path);
  try { bytes ??= readFileSync(path); } catch (err) { if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []; bytes = Buffer.alloc(0); } // unreadable: damaged below
  const rebuilt = buildShard(n, hosts, pushes, key);
  if (bytes.equals(rebuilt)) return []; // the same bytes: every host agrees (and every checksum holds)
  const bad = shardProblem(n, bytes, key);
  if (bad) return [`${file} ${bad}`];
  const shard = Shard.open(bytes);
  const got = shard && hostParts(shard);
  if (!shard || !got) return [`${file} is damaged (its header or a checksum does not hold)`];
  const expected = hostParts(Shard.open(rebuilt)!)!;
  const problems: string[] = [];
  // hosts pushed since the shard was built: questions answer them from their own files
  const pushedAfter = pushedSince(gitdir, shard.head.pushes).hostsAfter(shard.head.pushes);
  for (const { now } of hosts) {
    if (pushedAfter === null || pushedAfter.has(now.host)) continue;
    if (shard.holds(now.host, now.tip, now.baseline) && got.get(now.host) !== expected.get(now.host)) problems.push(`hosts/${now.host}: ${file} differs from a rebuild from the branch`);
  }
  return problems;
}

/** The lines present now: path -> lines. */
export function currentLines(now: HostNow): Map<string, string[]> {
  const files = new Map<string, string[]>();
  for (const key of Object.keys(now.lines)) {
    const tab = key.indexOf('\t');
    const path = key.slice(0, tab);
    if (!files.has(path)) files.set(path, []);
    files.get(path)!.push(key.slice(tab + 1));
  }
  return files;
}
