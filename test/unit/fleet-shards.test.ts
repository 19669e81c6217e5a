// The fleet index's shards (src/fleet/shards.ts) on a small real fleet written by the bench's
// generator: the whole fleet's questions against plain git's answers, hosts that moved since their
// shard was built, and every part of a shard damaged by hand: found by verify, never answered from.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error: a plain .mjs of the bench, untyped
import { generateFleet } from '../../bench/fleet-gen.mjs';
import { fleetRefs, openShard, rebuildShard, recordPush, reindex, updateHostIndex, verifyIndex } from '../../src/fleet/catalog.js';
import { fleetBlame, fleetLog, fleetNow, fleetStatus, fleetWhere } from '../../src/fleet/questions.js';
import { OVERLAY_MAX, shardOf } from '../../src/fleet/shards.js';
import { LsmError } from '../../src/errors.js';

const HOSTS = 24;
const CHANGES = 20;
const NOW = Date.parse('2026-12-01T00:00:00Z');
const git = (gitdir: string, args: string[]) => execFileSync('git', ['--git-dir', gitdir, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });

async function fleet(): Promise<string> {
  const gitdir = mkdtempSync(join(tmpdir(), 'lsm-fleet-shards-'));
  git(gitdir, ['init', '--quiet', '--bare']);
  await generateFleet(gitdir, HOSTS, CHANGES, NOW);
  await reindex(gitdir);
  return gitdir;
}
const tips = (gitdir: string) => [...fleetRefs(gitdir).tips].sort(([a], [b]) => (a < b ? -1 : 1));
const shardPath = (gitdir: string, host: string) => join(gitdir, 'lsm', 'index', 'shards', `${shardOf(host)}.idx`);

/** One more commit on a host's branch: its host/tcp with one line more. */
function commitOn(gitdir: string, host: string, line: string, t: number): void {
  const tip = git(gitdir, ['rev-parse', `refs/heads/hosts/${host}`]).trim();
  const text = git(gitdir, ['show', `${tip}:host/tcp`]) + `${line}\n`;
  const s = `commit refs/heads/hosts/${host}\ncommitter lsm <lsm@${host}> ${t} +0000\ndata 6\nchange\nfrom ${tip}\nM 100644 inline host/tcp\ndata ${Buffer.byteLength(text)}\n${text}\n`;
  execFileSync('git', ['--git-dir', gitdir, 'fast-import', '--quiet'], { input: s });
}

describe('fleet index shards', { timeout: 300_000 }, () => {
  it("answer as plain git does: where (git grep), log --since (git log), blame (git log -G), status (rev-list, the tip's files)", async () => {
    const gitdir = await fleet();
    const refs = tips(gitdir);
    const grep = git(gitdir, ['grep', '-l', '-E', ':4444  ', ...refs.map(([h]) => `refs/heads/hosts/${h}`), '--', '*/tcp']);
    const hosts = grep.trim().split('\n').map((l) => l.split(':')[0].replace('refs/heads/hosts/', ''));
    expect(hosts.length).toBeGreaterThan(0);
    expect(fleetWhere(gitdir, '4444').map((h) => h.host)).toEqual(hosts);
    const since = NOW - 3 * 86_400_000;
    const gitLog = git(gitdir, ['log', `--since=@${Math.floor(since / 1000)}`, '--format=%H %ct', ...refs.map(([, t]) => t)]).trim().split('\n');
    const ours = fleetLog(gitdir, { since });
    expect(ours.map((e) => e.commit).sort()).toEqual(gitLog.map((l) => l.split(' ')[0]).sort());
    expect(ours.map((e) => Date.parse(e.time))).toEqual([...ours.map((e) => Date.parse(e.time))].sort((a, b) => a - b));
    for (const [host, tip] of refs) {
      const touched = git(gitdir, ['log', '--first-parent', '-G', '^0\\.0\\.0\\.0:4444  ', '--format=%H', tip, '--', 'host/tcp']).trim().split('\n').filter(Boolean).sort();
      const ends = fleetBlame(gitdir, '4444').filter((b) => b.host === host).flatMap((b) => b.intervals.flatMap((i) => [i.fromCommit, i.toCommit])).filter((c): c is string => c !== null);
      expect([...new Set(ends)].sort()).toEqual(touched);
    }
    const status = fleetStatus(gitdir, 86_400_000, NOW);
    expect(status.map((s) => [s.host, s.tip])).toEqual(refs);
    for (const s of status.filter((_, i) => i % 7 === 0)) {
      expect(s.changes).toBe(Number(git(gitdir, ['rev-list', '--count', '--first-parent', s.tip]).trim()));
      const tcp = git(gitdir, ['grep', '-h', '-c', '', s.tip, '--', '*/tcp']).trim().split('\n').reduce((n, c) => n + Number(c), 0);
      expect(s.sockets.tcp).toBe(tcp);
    }
    // and as each host's own files answer
    expect(fleetWhere(gitdir, '22').length).toBe(fleetNow(gitdir).reduce((n, h) => n + Object.keys(h.lines).filter((k) => /^host\/(tcp|udp)\t\S*:22 /.test(k)).length, 0));
    expect(await verifyIndex(gitdir)).toEqual([]);
  });

  it('a host whose branch moved is answered from its own files; more than OVERLAY_MAX of them in a shard rebuild it', async () => {
    const gitdir = await fleet();
    const refs = tips(gitdir);
    const [first] = refs[0];
    commitOn(gitdir, first, '0.0.0.0:5555  evil  root  /tmp/evil', NOW / 1000);
    const before = readFileSync(shardPath(gitdir, first));
    expect(fleetWhere(gitdir, '5555').map((h) => h.host)).toEqual([first]);
    expect(fleetLog(gitdir, { since: NOW - 1000 }).map((e) => e.host)).toEqual([first]);
    expect(fleetStatus(gitdir, 1e12, NOW).find((s) => s.host === first)!.sockets.tcp).toBe(git(gitdir, ['grep', '-h', '-c', '', `refs/heads/hosts/${first}`, '--', '*/tcp']).trim().split('\n').reduce((n, c) => n + Number(c), 0));
    expect(readFileSync(shardPath(gitdir, first))).toEqual(before); // one host moved: the shard stays
    expect(await verifyIndex(gitdir)).toEqual([]); // the host's own files were brought up to its branch; the shard holds it at its old tip, unused
    // more than OVERLAY_MAX hosts new in one shard: it is rebuilt by the next question
    const n = shardOf(first);
    const added: string[] = [];
    for (let i = 0; added.length <= OVERLAY_MAX; i++) if (shardOf(`new-${i}`) === n) added.push(`new-${i}`);
    for (const h of added) {
      const text = '0.0.0.0:6666  evil  root  /tmp/evil\n';
      execFileSync('git', ['--git-dir', gitdir, 'fast-import', '--quiet'], { input: `commit refs/heads/hosts/${h}\ncommitter lsm <lsm@${h}> ${NOW / 1000} +0000\ndata 6\nchange\nM 100644 inline host/tcp\ndata ${text.length}\n${text}\n` });
    }
    expect(fleetWhere(gitdir, '6666').map((h) => h.host)).toEqual(added.sort());
    const shard = openShard(gitdir, n)!;
    for (const h of [...added, first]) expect(shard.holds(h, fleetRefs(gitdir).tips.get(h)!, null)).toBe(true);
    expect(readFileSync(shardPath(gitdir, first))).not.toEqual(before);
    expect(await verifyIndex(gitdir)).toEqual([]);
  });

  it('each part of a shard changed by hand is found by verify and never answered from; the question rebuilds the shard', async () => {
    const gitdir = await fleet();
    const host = fleetWhere(gitdir, '4444')[0].host;
    const path = shardPath(gitdir, host);
    const good = readFileSync(path, 'latin1');
    const head = JSON.parse(good.slice(good.indexOf(' ') + 1, good.indexOf('\n')));
    const body = good.indexOf('\n') + 1;
    const sectionOf = (name: string): [number, number] => {
      const [off, len] = name === 'postings' ? head.postings[0] : name === 'changes' ? head.changes[0] : head[name];
      return [body + off, body + off + len];
    };
    const cases: [string, (t: string) => string][] = [
      ['header', (t) => t.replace(host, host.replace(/.$/, 'X'))],
      ['summary', (t) => { const [a, b] = sectionOf('summary'); return t.slice(0, a) + t.slice(a, b).replace(/"changes":20/, '"changes":31') + t.slice(b); }],
      ['keys', (t) => { const [a, b] = sectionOf('keys'); return t.slice(0, a) + t.slice(a, b).replace(':4444 ', ':4445 ') + t.slice(b); }],
      ['postings', (t) => { const [a, b] = sectionOf('postings'); return t.slice(0, a) + t.slice(a, b).replace(/"host-(\d+)"/, '"host-$1x"') + t.slice(b); }],
      ['changes', (t) => { const [a, b] = sectionOf('changes'); return t.slice(0, a) + t.slice(a, b).replace(/"change",(\d)/, '"chang3",$1') + t.slice(b); }],
    ];
    const answers = () => JSON.stringify([fleetStatus(gitdir, 1e12, NOW), fleetWhere(gitdir, '4444'), fleetWhere(gitdir, '4445'), fleetBlame(gitdir, '4444'), fleetLog(gitdir, {}), fleetLog(gitdir, { grep: '4444' })]);
    const right = answers();
    for (const [part, edit] of cases) {
      const bad = edit(good);
      expect(bad, part).not.toBe(good);
      writeFileSync(path, bad, 'latin1');
      expect(await verifyIndex(gitdir), part).toEqual([`lsm/index/shards/${shardOf(host)}.idx is damaged (its header or a checksum does not hold)`]);
      expect(answers(), part).toBe(right);
      expect(readFileSync(path, 'latin1'), part).toBe(good);
    }
    // a shard that cannot be read (here a directory in its place) is damaged, not missing, and not read through
    rmSync(path);
    mkdirSync(path);
    expect(await verifyIndex(gitdir)).toEqual([expect.stringMatching(new RegExp(`^fleet server: \\S+/lsm/index/shards/${shardOf(host)}\\.idx is a directory, not a regular file: damage`))]);
    rmSync(path, { recursive: true });
    writeFileSync(path, good, 'latin1');
    // an edit that keeps every checksum right is still found: the shard's proof (HMAC) does not hold
    const [a, b] = sectionOf('summary');
    const summary = good.slice(a, b).replace(/"changes":20/, '"changes":31');
    const head2 = { ...head, summary: [head.summary[0], summary.length, createHash('sha256').update(summary).digest('hex').slice(0, 32)] };
    const text2 = JSON.stringify(head2);
    writeFileSync(path, `${createHash('sha256').update(text2).digest('hex').slice(0, 32)} ${text2}\n${good.slice(body, a)}${summary}${good.slice(b)}`, 'latin1');
    expect((await verifyIndex(gitdir)).length).toBeGreaterThan(0);
    for (const full of [false, true]) expect(await verifyIndex(gitdir, { full })).toEqual([`lsm/index/shards/${shardOf(host)}.idx is not proven (its HMAC does not hold: edited by hand, another shard, or written without this repository's key)`]);
    await reindex(gitdir);
    expect(readFileSync(path, 'latin1')).toBe(good);
  });
  // the drain records a push's arrival after git moved the ref: a question between the two indexes
  // the new tip without it (the commit's own date), and a shard built then holds the host at that
  // very tip and baseline; the arrival recorded later must still reach every answer
  it('a push recorded after its shard was built: the host is answered from its own files (or the shard rebuilt), with the arrival time', async () => {
    const gitdir = await fleet();
    const [[host, old]] = tips(gitdir);
    const committed = NOW - 86_400_000 * 30; // the host's clock: a month behind
    commitOn(gitdir, host, '0.0.0.0:5556  late  root  /tmp/late', committed / 1000);
    const tip = fleetRefs(gitdir).tips.get(host)!;
    // a question before the drain: the host answered at its commit's date, and its shard rebuilt at that tip
    expect(fleetWhere(gitdir, '5556').map((h) => h.since)).toEqual([new Date(committed).toISOString()]);
    rebuildShard(gitdir, shardOf(host), fleetRefs(gitdir));
    expect(openShard(gitdir, shardOf(host))!.holds(host, tip, null)).toBe(true);
    const arrived = NOW + 5000;
    const expectArrival = async () => {
      expect(fleetWhere(gitdir, '5556')).toEqual([expect.objectContaining({ host, commit: tip, since: new Date(arrived).toISOString() })]);
      expect(fleetLog(gitdir, { since: arrived }).filter((e) => e.commit === tip).map((e) => [e.host, e.time, e.received])).toEqual([[host, new Date(arrived).toISOString(), true]]);
      expect(fleetStatus(gitdir, 1e12, NOW).find((s) => s.host === host)).toMatchObject({ lastPush: new Date(arrived).toISOString(), lastChange: new Date(arrived).toISOString() });
      expect(fleetBlame(gitdir, '5556')[0].intervals).toEqual([expect.objectContaining({ from: new Date(arrived).toISOString(), fromCommit: tip })]);
      expect(await verifyIndex(gitdir)).toEqual([]);
    };
    // the push recorded, the drain not yet through: a shard rebuilt now stamps it as the drain will
    recordPush(gitdir, { t: arrived, host, old, new: tip, user: 'u' });
    rebuildShard(gitdir, shardOf(host), fleetRefs(gitdir));
    await expectArrival();
    // and a shard built before the record, then the drain's own update: the shard no longer answers for the host
    commitOn(gitdir, host, '0.0.0.0:5557  later  root  /tmp/later', committed / 1000 + 60);
    const tip2 = fleetRefs(gitdir).tips.get(host)!;
    const shardBefore = rebuildShard(gitdir, shardOf(host), fleetRefs(gitdir));
    expect(shardBefore.holds(host, tip2, null)).toBe(true);
    const arrived2 = arrived + 5000;
    recordPush(gitdir, { t: arrived2, host, old: tip, new: tip2, user: 'u' });
    updateHostIndex(gitdir, host, tip2, arrived2, null);
    const shardBytes = readFileSync(shardPath(gitdir, host));
    expect(fleetWhere(gitdir, '5557')).toEqual([expect.objectContaining({ host, commit: tip2, since: new Date(arrived2).toISOString() })]);
    expect(fleetStatus(gitdir, 1e12, NOW).find((s) => s.host === host)).toMatchObject({ lastPush: new Date(arrived2).toISOString() });
    expect(readFileSync(shardPath(gitdir, host))).toEqual(shardBytes); // one host: from its files, the shard kept
    expect(await verifyIndex(gitdir)).toEqual([]);
    // a push record that shrank (rewritten by hand): no shard built from the old one answers
    writeFileSync(join(gitdir, 'lsm', 'pushes.jsonl'), '');
    expect(statSync(join(gitdir, 'lsm', 'pushes.jsonl')).size).toBe(0);
    expect(fleetWhere(gitdir, '5557').map((h) => h.since)).toEqual([new Date(arrived2).toISOString()]); // its files keep what the drain stamped
    expect(openShard(gitdir, shardOf(host))!.head.pushes).toBe(0);
  });

  it('a shard path that is a directory: a question says so in one line (never a stack), and reindex moves it aside and puts the shard back', async () => {
    const gitdir = await fleet();
    const host = tips(gitdir)[0][0];
    const path = shardPath(gitdir, host);
    const right = fleetWhere(gitdir, '4444');
    rmSync(path);
    mkdirSync(path);
    writeFileSync(join(path, 'x'), 'x');
    let err: unknown = null;
    try { fleetWhere(gitdir, '4444'); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(LsmError);
    expect((err as Error).message).toMatch(new RegExp(`^fleet server: \\S+/lsm/index/shards/${shardOf(host)}\\.idx is a directory, not a regular file: damage, neither read nor written through; move it aside \\(mv .*\\), lsm fleet reindex makes it again$`));
    expect((err as Error).message).not.toContain('\n');
    // reindex moves it aside (the index is derived: nothing of it is lost) and makes the shard again
    expect((await reindex(gitdir)).movedAside).toEqual([expect.stringMatching(new RegExp(`/lsm/index/shards/${shardOf(host)}\\.idx: damage moved to \\S+/lsm/damaged/lsm_index_shards_${shardOf(host)}\\.idx\\.\\d+ `))]);
    expect(statSync(path).isFile()).toBe(true);
    expect(fleetWhere(gitdir, '4444')).toEqual(right);
    expect(await verifyIndex(gitdir)).toEqual([]);
  });
});
