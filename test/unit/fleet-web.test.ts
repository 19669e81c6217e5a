// The fleet web view's generator against real git: what a drain writes, and where root writes
// nothing (another user's repository, a planted link). The page in a browser is
// test/integration/fleet-web.test.ts's.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFleetWeb } from '../../src/fleet/web/generate.js';
import { bucketOfKey, WHERE_BUCKETS } from '../../src/fleet/web/where.js';
import { fleetWhere } from '../../src/fleet/questions.js';
import { fleetRefs, readHostNow, rebuildShard, recordPush, updateHostIndex } from '../../src/fleet/catalog.js';
import { shardOf } from '../../src/fleet/shards.js';

const FILES = ['host/udp', 'host/raw', 'host/packet', 'host/unix'];
/** One snapshot commit of HOST (fast-import), its tcp lines given; continues the branch when it exists. */
function commit(gitdir: string, host: string, t: number, tcp: string[]): void {
  const ref = `refs/heads/hosts/${host}`;
  const text = tcp.map((l) => `${l}\n`).join('');
  let from = '';
  try { from = `from ${execFileSync('git', ['--git-dir', gitdir, 'rev-parse', '--verify', '--quiet', ref], { encoding: 'utf8' }).trim()}\n`; } catch { /* a new branch */ }
  execFileSync('git', ['--git-dir', gitdir, 'fast-import', '--quiet'], { input: `commit ${ref}\ncommitter lsm <lsm@${host}> ${1_793_491_200 + t} +0000\ndata 6\nchange\n${from}deleteall\n` +
    FILES.map((p) => `M 100644 inline ${p}\ndata 0\n\n`).join('') + `M 100644 inline host/tcp\ndata ${Buffer.byteLength(text)}\n${text}\n` });
}
const SSHD = '0.0.0.0:22  sshd  root  /usr/sbin/sshd';
const NC = '0.0.0.0:4444  nc  root  /bin/nc';

function fleet(): string {
  const gitdir = join(mkdtempSync(join(tmpdir(), 'lsm-fleet-web-')), 'fleet.git');
  execFileSync('git', ['init', '--quiet', '--bare', gitdir]);
  commit(gitdir, 'web-1', 0, [SSHD]);
  commit(gitdir, 'web-1', 60, [SSHD, NC]);
  return gitdir;
}

/** Every (host, path, line, since) the where files hold, sorted: what a browser can answer from them. */
function whereFiles(web: string): string[] {
  const hosts = JSON.parse(readFileSync(join(web, 'w', 'hosts.json'), 'utf8'));
  const out: string[] = [];
  for (let n = 0; n < hosts.buckets; n++) {
    const b = JSON.parse(readFileSync(join(web, 'w', `${n}.json`), 'utf8'));
    expect(b.gen).toBe(hosts.gen);
    for (const [path, line, ...refs] of b.lines) {
      for (let i = 0; i < refs.length; i++) {
        const h = refs[i] < 0 ? -refs[i] - 1 : refs[i];
        const t = refs[i] < 0 ? refs[++i] : hosts.since[h];
        expect(bucketOfKey(`${path}\t${line}`)).toBe(n);
        out.push([hosts.hosts[h], path, line, new Date(t).toISOString()].join('|'));
      }
    }
  }
  return out.sort();
}
const cliWhere = (gitdir: string) => fleetWhere(gitdir, '').map((h) => [h.host, h.path, h.line, h.since].join('|')).sort();

describe('fleet web view files', () => {
  it('writes the page, the fleet, the index, each host and each change', async () => {
    const gitdir = fleet();
    const r = await writeFleetWeb(gitdir, [], { silentAfterMs: 60_000 });
    expect(r).toEqual({ hosts: 1, diffs: 2, problems: [], buckets: WHERE_BUCKETS, full: true });
    const web = join(gitdir, 'lsm', 'web');
    expect(readdirSync(web).sort()).toEqual(['app.css', 'app.js', 'd', 'favicon.svg', 'fleet.json', 'h', 'index.html', 'w']);
    const hosts = JSON.parse(readFileSync(join(web, 'w', 'hosts.json'), 'utf8'));
    // web-1's usual 'since' is its first change's; the 4444 line came later: its own time
    expect(hosts).toMatchObject({ v: 2, buckets: WHERE_BUCKETS, hosts: ['web-1'], since: [1_793_491_200_000] });
    const bucket = (line: string) => JSON.parse(readFileSync(join(web, 'w', `${bucketOfKey(`host/tcp\t${line}`)}.json`), 'utf8')).lines;
    expect(bucket(SSHD)).toContainEqual(['host/tcp', SSHD, 0]);
    expect(bucket(NC)).toContainEqual(['host/tcp', NC, -1, 1_793_491_260_000]);
    expect(whereFiles(web)).toEqual(cliWhere(gitdir));
    // nothing new: no host file rewritten, no bucket, no diff written again
    expect(await writeFleetWeb(gitdir, [], { silentAfterMs: 60_000 })).toEqual({ hosts: 0, diffs: 0, problems: [], buckets: 0, full: false });
  });

  it('a push rewrites its host\'s file and only the buckets of the lines it changed, and answers as a full build', async () => {
    const gitdir = fleet();
    commit(gitdir, 'web-2', 0, [SSHD, '0.0.0.0:8080  node  www  /usr/bin/node']);
    const web = join(gitdir, 'lsm', 'web');
    await writeFleetWeb(gitdir, [], { silentAfterMs: 60_000 });
    const ino = (p: string) => statSync(join(web, p)).ino;
    const before = new Map(Array.from({ length: WHERE_BUCKETS }, (_, n) => [n, ino(`w/${n}.json`)]));
    const web2 = ino('h/web-2.json');
    // web-1 drops 4444 and opens 5555: two buckets change (4444's and 5555's), nothing else
    commit(gitdir, 'web-1', 120, [SSHD, '0.0.0.0:5555  nc  root  /bin/nc']);
    const r = await writeFleetWeb(gitdir, ['web-1'], { silentAfterMs: 60_000 });
    expect(r).toMatchObject({ hosts: 1, problems: [], full: false });
    const changed = new Set([NC, '0.0.0.0:5555  nc  root  /bin/nc'].map((l) => bucketOfKey(`host/tcp\t${l}`)));
    expect(r.buckets).toBe(changed.size);
    for (const [n, i] of before) expect(ino(`w/${n}.json`) !== i, `bucket ${n}`).toBe(changed.has(n));
    expect(ino('h/web-2.json')).toBe(web2);
    expect(whereFiles(web)).toEqual(cliWhere(gitdir));
    // a host new to the fleet gets the next number; its lines are patched in
    commit(gitdir, 'web-3', 180, ['0.0.0.0:4444  nc  root  /bin/nc']);
    expect(await writeFleetWeb(gitdir, ['web-3'], { silentAfterMs: 60_000 })).toMatchObject({ hosts: 1, buckets: 1, full: false });
    expect(JSON.parse(readFileSync(join(web, 'w', 'hosts.json'), 'utf8')).hosts).toEqual(['web-1', 'web-2', 'web-3']);
    expect(whereFiles(web)).toEqual(cliWhere(gitdir));
    // the changes a day count what arrived, as a full count does
    const days = JSON.parse(readFileSync(join(web, 'fleet.json'), 'utf8')).days;
    rmSync(join(web, 'w', 'state.json'));
    expect(await writeFleetWeb(gitdir, [], { silentAfterMs: 60_000 })).toMatchObject({ full: true });
    expect(JSON.parse(readFileSync(join(web, 'fleet.json'), 'utf8')).days).toEqual(days);
  });

  it('a run cut before it recorded what it wrote is made good by the next, whichever host files it had rewritten', async () => {
    const gitdir = fleet();
    const web = join(gitdir, 'lsm', 'web');
    await writeFleetWeb(gitdir, [], { silentAfterMs: 60_000 });
    const state = readFileSync(join(web, 'w', 'state.json'));
    commit(gitdir, 'web-1', 120, ['0.0.0.0:5555  nc  root  /bin/nc']);
    await writeFleetWeb(gitdir, ['web-1'], { silentAfterMs: 60_000 });
    writeFileSync(join(web, 'w', 'state.json'), state); // as if cut after the buckets and h/web-1.json, before state.json
    commit(gitdir, 'web-1', 180, ['0.0.0.0:6666  nc  root  /bin/nc']);
    expect(await writeFleetWeb(gitdir, [], { silentAfterMs: 60_000 })).toMatchObject({ hosts: 1, buckets: WHERE_BUCKETS, full: false });
    expect(whereFiles(web)).toEqual(cliWhere(gitdir));
    expect(whereFiles(web).join('\n')).not.toContain('5555');
  });

  it('a baseline pushed: the host\'s file has its drift, and its index keeps the baseline', async () => {
    const gitdir = fleet();
    const web = join(gitdir, 'lsm', 'web');
    await writeFleetWeb(gitdir, [], { silentAfterMs: 60_000 });
    const first = execFileSync('git', ['--git-dir', gitdir, 'rev-parse', 'refs/heads/hosts/web-1~1'], { encoding: 'utf8' }).trim();
    execFileSync('git', ['--git-dir', gitdir, 'update-ref', 'refs/heads/baselines/web-1', first]);
    expect(await writeFleetWeb(gitdir, [], { silentAfterMs: 60_000 })).toMatchObject({ hosts: 1, buckets: 0, full: false });
    const status = JSON.parse(readFileSync(join(web, 'h', 'web-1.json'), 'utf8')).status;
    expect(status.drift).toEqual({ baseline: first, added: [{ path: 'host/tcp', line: NC }], removed: [] });
    expect(readHostNow(gitdir, 'web-1')?.baseline).toBe(first);
  });

  it('as root, writes nothing into a web directory another user owns, or one that is a link', async () => {
    const theirs = fleet();
    mkdirSync(join(theirs, 'lsm', 'web'), { recursive: true });
    chownSync(join(theirs, 'lsm', 'web'), 65534, 65534);
    expect(await writeFleetWeb(theirs, ['web-1'], { silentAfterMs: 60_000 })).toMatchObject({ hosts: 0, diffs: 0, problems: [] });
    expect(readdirSync(join(theirs, 'lsm', 'web'))).toEqual([]);
    const linked = fleet();
    const elsewhere = mkdtempSync(join(tmpdir(), 'lsm-fleet-web-elsewhere-'));
    mkdirSync(join(linked, 'lsm'));
    symlinkSync(elsewhere, join(linked, 'lsm', 'web'));
    await writeFleetWeb(linked, ['web-1'], { silentAfterMs: 60_000 });
    expect(readdirSync(elsewhere)).toEqual([]);
  });
  it("a push recorded after the host's shard was built: the where data has the arrival, as the CLI", async () => {
    const gitdir = fleet();
    const old = fleetRefs(gitdir).tips.get('web-1')!;
    commit(gitdir, 'web-1', 120, [SSHD, NC, '0.0.0.0:5556  late  root  /tmp/late']);
    const tip = fleetRefs(gitdir).tips.get('web-1')!;
    // a question before the drain records the push: the shard holds web-1 at this tip, with the commit's date
    rebuildShard(gitdir, shardOf('web-1'), fleetRefs(gitdir));
    const arrived = Date.parse('2027-01-01T00:00:00Z');
    recordPush(gitdir, { t: arrived, host: 'web-1', old, new: tip, user: 'u' });
    updateHostIndex(gitdir, 'web-1', tip, arrived, null); // the drain
    await writeFleetWeb(gitdir, ['web-1'], { silentAfterMs: 60_000 });
    const web = join(gitdir, 'lsm', 'web');
    expect(whereFiles(web)).toEqual(cliWhere(gitdir));
    expect(whereFiles(web).filter((l) => l.includes(':5556'))).toEqual([`web-1|host/tcp|0.0.0.0:5556  late  root  /tmp/late|${new Date(arrived).toISOString()}`]);
  });

  it("a full rebuild (a host gone) keeps every other host's baseline: no host's index flips to none", async () => {
    const gitdir = fleet();
    commit(gitdir, 'web-2', 0, [SSHD]);
    commit(gitdir, 'web-3', 0, [SSHD]);
    const first = execFileSync('git', ['--git-dir', gitdir, 'rev-parse', 'refs/heads/hosts/web-1~1'], { encoding: 'utf8' }).trim();
    execFileSync('git', ['--git-dir', gitdir, 'update-ref', 'refs/heads/baselines/web-1', first]);
    await writeFleetWeb(gitdir, [], { silentAfterMs: 60_000 });
    expect(readHostNow(gitdir, 'web-1')?.baseline).toBe(first);
    execFileSync('git', ['--git-dir', gitdir, 'update-ref', '-d', 'refs/heads/hosts/web-3']);
    expect(await writeFleetWeb(gitdir, [], { silentAfterMs: 60_000 })).toMatchObject({ full: true, problems: [] });
    expect(readHostNow(gitdir, 'web-1')?.baseline).toBe(first);
    expect(whereFiles(join(gitdir, 'lsm', 'web'))).toEqual(cliWhere(gitdir));
  });
});
