// snapshot: pure functions from the collected sockets to the normalized text files that get
// committed: 'host/<kind>' and 'netns/<label>/<kind>', each a sorted list of unique lines.
import { createHash } from 'node:crypto';
import type { Collection, Kind, Snapshot, Socket } from '../types.js';
import { escapeField } from './escape.js';
import { KINDS } from '../types.js';
import { isIgnored, type IgnoreRule } from './ignore.js';
import { SEP, formatOwners } from './lines.js';
import { identity, listeningPorts, type SelectOptions } from './select.js';
import { unseenLines } from './unseen.js';

export interface SnapshotOptions extends SelectOptions {
  ignore?: IgnoreRule[];
}

export function namespaceDir(label: string, host: boolean): string {
  return host ? 'host' : `netns/${labelDir(label)}`;
}

// A directory name must fit NAME_MAX (255 bytes); an escaped label longer than this keeps its
// first part and a hash of the whole, so long names that share a prefix stay apart.
const LABEL_MAX = 200;

/**
 * A namespace's label (raw text) as a directory name: escaped as every field is, which is
 * reversible, so distinct labels stay distinct ('a b' is a%x20b, never a_b). The escapes' '\\' is
 * written '%' (isomorphic-git reads a backslash in a path as a separator), a '%' of the name as
 * %25; '/', '~' and a leading or trailing '.' as %x2f, %x7e, %x2e: a label is always one ordinary
 * directory that git accepts (never '.', '..', '.git', 'git~1', nor 'x../').
 */
export function labelDir(label: string): string {
  if (label === '') return '%e'; // escapeField writes '""' for it, which is also the name '""'
  let dir = escapeField(label).replace(/%/g, '%25').replace(/\\/g, '%').replace(/\//g, '%x2f').replace(/~/g, '%x7e');
  if (dir.startsWith('.')) dir = '%x2e' + dir.slice(1);
  if (dir.endsWith('.')) dir = dir.slice(0, -1) + '%x2e'; // 'x..' + '/tcp' holds '../': git refuses the path
  if (Buffer.byteLength(dir) <= LABEL_MAX) return dir;
  let cut = dir.slice(0, LABEL_MAX);
  // by bytes, and never between the two halves of a character beyond U+FFFF: a lone surrogate is
  // written as U+FFFD, so git would hold another name than the snapshot (a change on every scan)
  while (Buffer.byteLength(cut) > LABEL_MAX || /[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}%h${createHash('sha256').update(label, 'latin1').digest('hex').slice(0, 16)}`;
}

interface Entry { port: number; address: string; key: string; sockets: Socket[] }

/** One snapshot line and the sockets behind it (the alert names their owners now). */
export interface SnapshotLine { line: string; sockets: Socket[] }

/** The snapshot with its sockets: path -> lines in file order. */
export function snapshotLines(collection: Collection, options: SnapshotOptions = {}): Map<string, SnapshotLine[]> {
  // listeners matter only to tell inbound connections from outbound ones
  const listening = options.established ? listeningPorts(collection.sockets) : new Set<string>();
  // path -> identity key -> entry; the path strings made once per namespace and kind, not per socket
  const byFile = new Map<string, Map<string, Entry>>();
  const filesOf = new Map(collection.namespaces.map((n) => {
    const dir = namespaceDir(n.label, n.host);
    return [n.inode, Object.fromEntries(KINDS.map((kind) => {
      const entries = new Map<string, Entry>();
      byFile.set(`${dir}/${kind}`, entries);
      return [kind, entries];
    })) as Record<Kind, Map<string, Entry>>];
  }));
  // indexed: this runs once over every socket kept, mostly before V8 optimizes it, where for-of
  // allocates an iterator result per element
  const sockets = collection.sockets;
  for (let i = 0; i < sockets.length; i++) {
    const s = sockets[i];
    const files = filesOf.get(s.netns);
    if (files === undefined) continue;
    const id = identity(s, listening, options);
    if (id === null) continue;
    const entries = files[s.kind];
    const e = entries.get(id.group ?? id.key);
    if (e) e.sockets.push(s);
    else entries.set(id.group ?? id.key, { port: id.port, address: id.address, key: id.key, sockets: [s] });
  }

  const result = new Map<string, SnapshotLine[]>();
  const ownersMemo = new Map<string, string>();
  for (const ns of collection.namespaces) {
    const dir = namespaceDir(ns.label, ns.host);
    const files = KINDS.map((kind) => [kind, fileLines(byFile.get(`${dir}/${kind}`), `${dir}/${kind}`, options.ignore ?? [], ownersMemo)] as const);
    if (ns.host) {
      // what this scan could not see is part of the record (a non-root scan): the host's unattributed file
      const unattributed = files.find(([kind]) => kind === 'unattributed')![1];
      for (const line of unseenLines(collection.stats)) if (!isIgnored(options.ignore ?? [], `${dir}/unattributed`, line)) unattributed.push({ line, sockets: [] });
    }
    // the host always has its five files; another namespace only when it has something to record
    if (!ns.host && files.every(([, lines]) => lines.length === 0)) continue;
    for (const [kind, lines] of files) {
      if (kind === 'unattributed' && lines.length === 0) continue; // only when there is one
      result.set(`${dir}/${kind satisfies Kind}`, lines);
    }
  }
  return result;
}

export function buildSnapshot(collection: Collection, options: SnapshotOptions = {}): Snapshot {
  return new Map([...snapshotLines(collection, options)].map(([path, lines]) => [path, lines.map((l) => l.line)]));
}

function fileLines(entries: Map<string, Entry> | undefined, path: string, ignore: IgnoreRule[], memo: Map<string, string>): SnapshotLine[] {
  if (!entries || entries.size === 0) return [];
  const sorted = [...entries.values()].sort((a, b) => a.port - b.port || compare(a.address, b.address) || compare(a.key, b.key));
  const lines: SnapshotLine[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i];
    // one process holds thousands of sockets: its owner text is made once (100k sockets: -40% time)
    const owners = e.sockets.length === 1 ? e.sockets[0].owners : e.sockets.flatMap((s) => s.owners);
    let k = 0;
    while (k < e.sockets.length && e.sockets[k].user === null) k++;
    const socketUser = k < e.sockets.length ? e.sockets[k].user ?? null : null; // the first socket's that has one
    const key = owners.length === 1 ? `${owners[0].pid}/${socketUser}` : `${owners.map((o) => o.pid).join(',')}/${socketUser}`;
    let text = memo.get(key);
    if (text === undefined) memo.set(key, (text = formatOwners(owners, socketUser)));
    const line = e.key + SEP + text;
    if (!isIgnored(ignore, path, line)) lines.push({ line, sockets: e.sockets });
  }
  return lines;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A snapshot file's text: one line each, newline-terminated; empty for no lines. */
export function fileText(lines: string[]): string {
  return lines.length ? lines.join('\n') + '\n' : '';
}
