// The fleet index against real git: branches written with git fast-import, the index built
// incrementally (as the post-receive hook does) and from scratch, and the questions it answers.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleetRefs, readHostChanges, readHostHistory, readHostNow, recordPush, reindex, updateHostIndex, verifyIndex } from '../../src/fleet/catalog.js';
import { fleetBlame, fleetDiff, fleetLog, fleetStatus, fleetWhere } from '../../src/fleet/questions.js';

const T0 = Date.parse('2026-11-01T00:00:00Z') / 1000;
const EMPTY = ['host/udp', 'host/raw', 'host/packet', 'host/unix'];

/** Commits on hosts/<host>: each a full host/tcp text (and netns files when given). */
function writeHistory(gitdir: string, host: string, snapshots: { t: number; tcp: string[]; netns?: Record<string, string[]> }[], from?: string): void {
  let s = '';
  snapshots.forEach((snap, i) => {
    const text = (l: string[]) => (l.length ? l.join('\n') + '\n' : '');
    s += `commit refs/heads/hosts/${host}\nmark :${i + 1}\ncommitter lsm <lsm@${host}> ${T0 + snap.t} +0000\ndata 6\nchange\n`;
    if (i > 0) s += `from :${i}\n`;
    else if (from) s += `from ${from}\n`;
    s += 'deleteall\n';
    const files: [string, string][] = [['host/tcp', text(snap.tcp)], ...EMPTY.map((p) => [p, ''] as [string, string]), ...Object.entries(snap.netns ?? {}).map(([p, l]) => [p, text(l)] as [string, string])];
    for (const [p, t] of files) s += `M 100644 inline ${p}\ndata ${Buffer.byteLength(t)}\n${t}\n`;
  });
  execFileSync('git', ['--git-dir', gitdir, 'fast-import', '--quiet'], { input: s });
}

const tip = (gitdir: string, host: string) => execFileSync('git', ['--git-dir', gitdir, 'rev-parse', `refs/heads/hosts/${host}`], { encoding: 'utf8' }).trim();

describe('fleet index', () => {
  it('answers where, blame, log, diff and status; incremental and rebuilt indexes agree', async () => {
    const gitdir = mkdtempSync(join(tmpdir(), 'lsm-fleet-index-'));
    execFileSync('git', ['init', '--quiet', '--bare', gitdir]);
    const sshd = '0.0.0.0:22  sshd  root  /usr/sbin/sshd';
    const nc = '0.0.0.0:4444  nc  root  /usr/bin/nc';
    // a line starting like a diff header must not confuse the parser
    const odd = '+++:1  x  root  /x';
    writeHistory(gitdir, 'web-1', [{ t: 0, tcp: [sshd] }, { t: 100, tcp: [sshd, nc] }]);
    // as the drain does: the push recorded, then indexed at its time (the server's: the hosts' commit dates are theirs)
    const pushed = (t: number, old: string) => { recordPush(gitdir, { t, host: 'web-1', old, new: tip(gitdir, 'web-1'), user: 'web-1' }); updateHostIndex(gitdir, 'web-1', tip(gitdir, 'web-1'), t, null); };
    pushed((T0 + 100) * 1000, '0'.repeat(40));
    const first = tip(gitdir, 'web-1');
    // more commits on web-1 after the first index: indexed incrementally
    writeHistory(gitdir, 'web-1', [{ t: 200, tcp: [sshd] }, { t: 300, tcp: [sshd, nc, odd], netns: { 'netns/c1/tcp': ['0.0.0.0:80  nginx  root  /usr/sbin/nginx'] } }], tip(gitdir, 'web-1'));
    pushed((T0 + 300) * 1000, first);
    writeHistory(gitdir, 'web-2', [{ t: 50, tcp: [sshd, nc] }]);

    const where = fleetWhere(gitdir, '4444');
    expect(where.map((h) => [h.host, h.line, h.since])).toEqual([
      ['web-1', nc, new Date((T0 + 300) * 1000).toISOString()], // since it came back, not since it first appeared
      ['web-2', nc, new Date((T0 + 50) * 1000).toISOString()],
    ]);
    const blame = fleetBlame(gitdir, '4444/tcp');
    expect(blame.find((b) => b.host === 'web-1')!.intervals.map((i) => [i.from, i.to])).toEqual([
      [new Date((T0 + 100) * 1000).toISOString(), new Date((T0 + 300) * 1000).toISOString()], // when the server got each commit
      [new Date((T0 + 300) * 1000).toISOString(), null],
    ]);
    expect(fleetWhere(gitdir, '+++:1').map((h) => h.line)).toEqual([odd]);
    const log = fleetLog(gitdir, {});
    // by arrival: web-2 never pushed through the hook (its commit date stands in); web-1's first two came in one push
    expect(log.map((e) => [e.host, e.added, e.removed, e.received])).toEqual([['web-2', 2, 0, false], ['web-1', 1, 0, true], ['web-1', 1, 0, true], ['web-1', 0, 1, true], ['web-1', 3, 0, true]]);
    expect(log[1]).toMatchObject({ time: new Date((T0 + 100) * 1000).toISOString(), committed: new Date(T0 * 1000).toISOString(), clockOff: false });
    expect(fleetLog(gitdir, { grep: '4444' }).map((e) => e.time)).toEqual([50, 100, 300, 300].map((t) => new Date((T0 + t) * 1000).toISOString()));
    expect(fleetLog(gitdir, { since: (T0 + 250) * 1000 }).length).toBe(2);
    expect(fleetLog(gitdir, { since: (T0 + 300) * 1000 }).length).toBe(2); // a change made exactly at T is in
    expect(fleetLog(gitdir, { host: 'web-2' }).length).toBe(1);
    expect(fleetDiff(gitdir, 'web-1', 'web-2')!.files).toEqual([
      { path: 'host/tcp', onlyA: [odd], onlyB: [] },
      { path: 'netns/c1/tcp', onlyA: ['0.0.0.0:80  nginx  root  /usr/sbin/nginx'], onlyB: [] },
    ]);
    // web-1 pushed a minute ago; web-2 never pushed through the hook: its last change counts (310 s ago)
    const status = fleetStatus(gitdir, 120_000, (T0 + 300) * 1000 + 60_000);
    expect(status.map((s) => [s.host, s.changes, s.sockets, s.silent])).toEqual([['web-1', 4, { tcp: 4 }, false], ['web-2', 1, { tcp: 2 }, true]]);
    expect(await verifyIndex(gitdir)).toEqual([]);
    const all = () => JSON.stringify(['web-1', 'web-2'].map((h) => [readHostHistory(gitdir, h), readHostChanges(gitdir, h), readHostNow(gitdir, h)]));
    const incremental = all();
    // version 1's one file per host is removed by reindex
    writeFileSync(join(gitdir, 'lsm', 'index', 'web-1.json'), '{"v":1}');
    expect((await reindex(gitdir)).hosts).toBe(2);
    expect(all()).toBe(incremental);
    expect(existsSync(join(gitdir, 'lsm', 'index', 'web-1.json'))).toBe(false);
    // each part of the index is checked: a port changed by hand in 'now' (where, status) is found by
    // verify, and never answered: the whole fleet's questions answer from the shards (proven on their
    // own), one host's questions rebuild that host first; reindex repairs the file
    const nowFile = join(gitdir, 'lsm', 'index', 'now', 'web-1.json');
    const good = readFileSync(nowFile, 'utf8');
    writeFileSync(nowFile, good.replace('4444', '4445'));
    expect(await verifyIndex(gitdir)).toEqual(['hosts/web-1: lsm/index/now/web-1.json is damaged (its header or checksum does not hold)']);
    expect(fleetWhere(gitdir, '4445')).toEqual([]);
    expect(fleetWhere(gitdir, '4444').map((h) => h.host)).toEqual(['web-1', 'web-2']);
    expect(fleetDiff(gitdir, 'web-1', 'web-2')!.files[0].onlyA).toEqual([odd]);
    expect(readFileSync(nowFile, 'utf8')).toBe(good);
    // the same in 'changes' (log) and 'history' (blame)
    for (const [part, host, edit] of [['changes', 'web-2', (t: string) => t.replace(/,2,0,/, ',9,0,')], ['history', 'web-1', (t: string) => t.replace('4444', '4445')]] as const) {
      const file = join(gitdir, 'lsm', 'index', part, `${host}.json`);
      const before = readFileSync(file, 'utf8');
      writeFileSync(file, edit(before));
      expect(await verifyIndex(gitdir)).toEqual([`hosts/${host}: lsm/index/${part}/${host}.json is damaged (its header or checksum does not hold)`]);
      expect(part === 'changes' ? fleetLog(gitdir, { host }).map((e) => e.added) : fleetBlame(gitdir, '4445')).toEqual(part === 'changes' ? [2] : []);
      if (part === 'history') expect(fleetLog(gitdir, { host, grep: '4445' })).toEqual([]);
      expect(readFileSync(file, 'utf8')).toBe(before);
    }
    // a content edit that keeps the checksum right is still found: its proof (an HMAC keyed with the index key) does not hold
    const forged = good.split('\n')[1].replace('4444', '4445');
    writeFileSync(nowFile, `${JSON.stringify({ ...JSON.parse(good.split('\n')[0]), sha256: createHash('sha256').update(forged).digest('hex') })}\n${forged}`);
    for (const full of [false, true]) expect(await verifyIndex(gitdir, { full })).toEqual([expect.stringMatching(/^hosts\/web-1: lsm\/index\/now\/web-1.json is not proven /)]);
    await reindex(gitdir);
    // an index behind its branch is found by verify
    writeHistory(gitdir, 'web-2', [{ t: 400, tcp: [sshd] }], tip(gitdir, 'web-2'));
    expect(await verifyIndex(gitdir)).toEqual(['history', 'changes', 'now'].map((p) => expect.stringMatching(new RegExp(`^hosts/web-2: lsm/index/${p}/web-2.json was built from another tip than the branch's [0-9a-f]{10}$`))));
  });

  it("drift: a host's pushed baseline against its lines now, in status; a baseline pushed later re-derives it", async () => {
    const gitdir = mkdtempSync(join(tmpdir(), 'lsm-fleet-drift-'));
    execFileSync('git', ['init', '--quiet', '--bare', gitdir]);
    const sshd = '0.0.0.0:22  sshd  root  /usr/sbin/sshd';
    const web = '0.0.0.0:80  nginx  root  /usr/sbin/nginx';
    const nc = '0.0.0.0:4444  nc  root  /usr/bin/nc';
    writeHistory(gitdir, 'db-1', [{ t: 0, tcp: [sshd, web] }, { t: 100, tcp: [sshd, web, nc] }, { t: 200, tcp: [sshd, nc] }]);
    const commits = execFileSync('git', ['--git-dir', gitdir, 'rev-list', '--reverse', 'refs/heads/hosts/db-1'], { encoding: 'utf8' }).trim().split('\n');
    expect(fleetStatus(gitdir, 1e12, (T0 + 300) * 1000)[0].drift).toBeNull(); // no baseline pushed
    execFileSync('git', ['--git-dir', gitdir, 'update-ref', 'refs/heads/baselines/db-1', commits[0]]);
    // the index is brought to the new baseline on the next question
    expect(fleetStatus(gitdir, 1e12, (T0 + 300) * 1000)[0].drift).toEqual({ baseline: commits[0], added: [{ path: 'host/tcp', line: nc }], removed: [{ path: 'host/tcp', line: web }] });
    execFileSync('git', ['--git-dir', gitdir, 'update-ref', 'refs/heads/baselines/db-1', commits[2]]);
    expect(fleetStatus(gitdir, 1e12, (T0 + 300) * 1000)[0].drift).toEqual({ baseline: commits[2], added: [], removed: [] });
    expect(await verifyIndex(gitdir)).toEqual([]);
    // an index made before the baseline moved is found stale by verify
    execFileSync('git', ['--git-dir', gitdir, 'update-ref', 'refs/heads/baselines/db-1', commits[1]]);
    expect(await verifyIndex(gitdir)).toEqual([expect.stringMatching(/^hosts\/db-1: indexed with baseline [0-9a-f]{10}, pushed baseline [0-9a-f]{10}$/)]);
    await reindex(gitdir);
    expect(readHostNow(gitdir, 'db-1')!.drift).toEqual({ added: [], removed: [`host/tcp\t${web}`] });
  });

  it('reads the refs from the files as git does: packed, loose ones winning, and asks git when unsure', () => {
    const gitdir = mkdtempSync(join(tmpdir(), 'lsm-fleet-refs-'));
    execFileSync('git', ['init', '--quiet', '--bare', gitdir]);
    const line = '0.0.0.0:22  sshd  root  /usr/sbin/sshd';
    for (const h of ['a', 'b', 'c']) writeHistory(gitdir, h, [{ t: 0, tcp: [line] }, { t: 10, tcp: [] }]);
    execFileSync('git', ['--git-dir', gitdir, 'update-ref', 'refs/heads/baselines/a', `refs/heads/hosts/a~1`]);
    execFileSync('git', ['--git-dir', gitdir, 'update-ref', 'refs/heads/other', 'refs/heads/hosts/a']);
    execFileSync('git', ['--git-dir', gitdir, 'pack-refs', '--all']);
    writeHistory(gitdir, 'b', [{ t: 20, tcp: [line] }], tip(gitdir, 'b')); // loose now, newer than its packed line
    writeHistory(gitdir, 'd', [{ t: 0, tcp: [line] }]); // loose only
    const viaGit = () => {
      const out = execFileSync('git', ['--git-dir', gitdir, 'for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads/hosts/', 'refs/heads/baselines/'], { encoding: 'utf8' });
      const m = new Map(out.trim().split('\n').map((l) => l.split(' ')).map(([o, r]) => [r, o]));
      const pick = (prefix: string) => new Map([...m].filter(([r]) => r.startsWith(prefix) && !r.slice(prefix.length).includes('/')).map(([r, o]) => [r.slice(prefix.length), o]));
      return { tips: pick('refs/heads/hosts/'), baselines: pick('refs/heads/baselines/') };
    };
    expect(fleetRefs(gitdir)).toEqual(viaGit());
    expect(fleetRefs(gitdir).tips.get('b')).toBe(tip(gitdir, 'b'));
    // a ref the files cannot say plainly (a directory where a host's file would be): git answers (and 'e/x' is no host id)
    execFileSync('git', ['--git-dir', gitdir, 'update-ref', 'refs/heads/hosts/e/x', 'refs/heads/hosts/a']);
    expect(fleetRefs(gitdir)).toEqual(viaGit());
  });
  // git pack-refs (the drain's gc --auto, or a person's gc) writes packed-refs, then deletes the
  // loose files: a question reading the refs meanwhile must still see every host. Made certain with
  // packed-refs as a pipe: the packing process hands the reader the packed-refs it had before, and
  // deletes the loose ref, exactly when the reader opens packed-refs
  it('a host being packed (git pack-refs) while the refs are read is still a host', () => {
    const gitdir = mkdtempSync(join(tmpdir(), 'lsm-fleet-refs-'));
    execFileSync('git', ['init', '--quiet', '--bare', gitdir]);
    const line = '0.0.0.0:22  sshd  root  /usr/sbin/sshd';
    for (const h of ['a', 'b']) writeHistory(gitdir, h, [{ t: 0, tcp: [line] }]);
    execFileSync('git', ['--git-dir', gitdir, 'pack-refs', '--all']);
    writeHistory(gitdir, 'c', [{ t: 0, tcp: [line] }]); // loose only: the one being packed
    const before = readFileSync(join(gitdir, 'packed-refs'), 'utf8');
    const tips = new Map(['a', 'b', 'c'].map((h) => [h, tip(gitdir, h)]));
    rmSync(join(gitdir, 'packed-refs'));
    execFileSync('mkfifo', [join(gitdir, 'packed-refs')]);
    // (the pipe opened for writing waits for the reader; then the old text, the loose ref deleted, closed)
    const packer = spawn('sh', ['-c', 'exec 3>"$1/packed-refs"; printf %s "$2" >&3; rm "$1/refs/heads/hosts/c"; exec 3>&-', 'sh', gitdir, before], { stdio: 'ignore' });
    try {
      expect(fleetRefs(gitdir).tips).toEqual(tips);
    } finally {
      packer.kill();
    }
  });
});
