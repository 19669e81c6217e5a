// Host side, one round trip: a push whose base the host knows (refs/lsm/pushed: what the server
// said 'ok' to) skips the discovery GET (info/refs lists every host's refs, 2,000 lines at 1,000
// hosts, and costs one more git-http-backend and receive-pack start on the server) and POSTs the
// update and a pack of what is new straight to git-receive-pack, as git's smart HTTP allows (each
// request stands alone). Git checks the old value under the ref's lock: when the server's branch
// is not where the host thinks, the update is refused and the caller pushes the long way.
import { createHash } from 'node:crypto';
import { igit } from '../store/git.js';
import type { Repo } from '../store/repo.js';

export type Request = (r: { url: string; method: string; headers: Record<string, string>; body: Uint8Array[] }) => Promise<{ statusCode: number; statusMessage: string; body: AsyncIterableIterator<Uint8Array> }>;

export interface SendResult {
  unpack: string; // 'ok' or git's reason
  refs: Map<string, string | null>; // ref -> null (updated) or why not
  messages: string; // what the server's hooks said (side band 2)
}

/** An HTTP answer other than 200 (the caller words it). */
export class SendHttpError extends Error {
  constructor(readonly statusCode: number, message: string) { super(message); }
}

// a pack of no objects (what a heartbeat sends): 'PACK', version 2, 0 objects, then the SHA-1 of those 12 bytes
const EMPTY_HEAD = Buffer.from('5041434b0000000200000000', 'hex');
const EMPTY_PACK = Buffer.concat([EMPTY_HEAD, createHash('sha1').update(EMPTY_HEAD).digest()]);

const pktLine = (b: Buffer) => Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, '0')), b]);

/** Split pkt-lines (flushes dropped); a damaged length throws. */
function pktLines(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos < buf.length;) {
    const len = Number.parseInt(buf.subarray(pos, pos + 4).toString('latin1'), 16);
    if (!Number.isInteger(len) || (len > 0 && len < 4) || pos + Math.max(len, 4) > buf.length) throw new Error('the server sent a damaged answer (pkt-line)');
    if (len > 0) out.push(buf.subarray(pos + 4, pos + len));
    pos += Math.max(len, 4);
  }
  return out;
}

/**
 * The commits from `base` (exclusive; null: from the root) to `head`, oldest first. Null when head
 * is not a linear descendant of base within `max` commits.
 */
export async function commitChain(repo: Repo, base: string | null, head: string, max = 1000): Promise<string[] | null> {
  const git = await igit();
  const chain: string[] = [];
  for (let oid = head; oid !== base;) {
    if (chain.length >= max) return null;
    const { commit } = await git.readCommit({ fs: repo.fs, gitdir: repo.gitdir, oid, cache: repo.cache });
    chain.push(oid);
    if (commit.parent.length === 0 && base === null) break; // the root
    if (commit.parent.length !== 1) return null; // a root or a merge: not a descent from base
    oid = commit.parent[0];
  }
  return chain.reverse();
}

/**
 * The objects the server needs to go from `base` (null: nothing) to `head`: the new commits, and in
 * each the trees and blobs that differ from its parent's at the same path (what is equal there the
 * server has, or gets with that parent). Null when head is not a linear descendant of base within
 * `max` commits.
 */
export async function newObjects(repo: Repo, base: string | null, head: string, max = 1000): Promise<string[] | null> {
  if (base === head) return []; // a heartbeat: isomorphic-git is not even loaded
  const chain = await commitChain(repo, base, head, max);
  if (!chain) return null;
  const git = await igit();
  const opts = { fs: repo.fs, gitdir: repo.gitdir, cache: repo.cache };
  const out = new Set<string>();
  const walk = async (tree: string, before: string | null): Promise<void> => {
    if (tree === before) return;
    out.add(tree);
    const old = new Map(before ? (await git.readTree({ ...opts, oid: before })).tree.map((e) => [e.path, e]) : []);
    for (const e of (await git.readTree({ ...opts, oid: tree })).tree) {
      const o = old.get(e.path);
      if (o?.oid === e.oid) continue;
      if (e.type === 'tree') await walk(e.oid, o?.type === 'tree' ? o.oid : null);
      else out.add(e.oid);
    }
  };
  for (const oid of chain) {
    const { commit } = await git.readCommit({ ...opts, oid });
    out.add(oid);
    await walk(commit.tree, commit.parent.length ? (await git.readCommit({ ...opts, oid: commit.parent[0] })).commit.tree : null);
  }
  return [...out];
}

/** POST one update (old -> new of ref) and a pack of `objects` to url's git-receive-pack. */
export async function sendUpdate(request: Request, url: string, headers: Record<string, string>, repo: Repo, update: { old: string; new: string; ref: string }, objects: string[]): Promise<SendResult> {
  const packfile = objects.length ? (await (await igit()).packObjects({ fs: repo.fs, gitdir: repo.gitdir, oids: objects, cache: repo.cache })).packfile! : EMPTY_PACK;
  const body = [pktLine(Buffer.from(`${update.old} ${update.new} ${update.ref}\0report-status side-band-64k agent=lsm\n`)), Buffer.from('0000'), Buffer.from(packfile)];
  const res = await request({
    url: `${url}/git-receive-pack`, method: 'POST', body,
    headers: { ...headers, 'content-type': 'application/x-git-receive-pack-request', accept: 'application/x-git-receive-pack-result' },
  });
  const chunks: Buffer[] = [];
  for await (const c of res.body) chunks.push(Buffer.from(c));
  if (res.statusCode !== 200) throw new SendHttpError(res.statusCode, `HTTP Error: ${res.statusCode} ${res.statusMessage}`);
  // side-band-64k: 1 carries git's report, 2 what the hooks said, 3 a fatal error
  const report: Buffer[] = [];
  let messages = '';
  for (const p of pktLines(Buffer.concat(chunks))) {
    if (p[0] === 1) report.push(p.subarray(1));
    else if (p[0] === 2) messages += p.subarray(1).toString('utf8');
    else if (p[0] === 3) throw new Error(`the server failed: ${p.subarray(1).toString('utf8').trim()}`);
  }
  const lines = pktLines(Buffer.concat(report)).map((l) => l.toString('utf8').replace(/\n$/, ''));
  if (!lines[0]?.startsWith('unpack ')) throw new Error(`the server sent no push report${messages ? ` (remote: ${messages.trim()})` : ''}`);
  const refs = new Map<string, string | null>();
  for (const l of lines.slice(1)) {
    const [status, ref, ...why] = l.split(' ');
    if (status === 'ok' || status === 'ng') refs.set(ref, status === 'ok' ? null : why.join(' ') || 'refused');
  }
  return { unpack: lines[0].slice('unpack '.length), refs, messages };
}
