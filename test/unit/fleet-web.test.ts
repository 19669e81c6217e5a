// The fleet web view's generator against real git: what a drain writes, and where root writes
// nothing (another user's repository, a planted link). The page in a browser is
// test/integration/fleet-web.test.ts's.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFleetWeb } from '../../src/fleet/web/generate.js';

function fleet(): string {
  const gitdir = join(mkdtempSync(join(tmpdir(), 'lsm-fleet-web-')), 'fleet.git');
  execFileSync('git', ['init', '--quiet', '--bare', gitdir]);
  const s = (t: number, tcp: string, from?: string) => `commit refs/heads/hosts/web-1\ncommitter lsm <lsm@web-1> ${1_793_491_200 + t} +0000\ndata 6\nchange\n${from ? `from ${from}\n` : ''}deleteall\n` +
    ['host/udp', 'host/raw', 'host/packet', 'host/unix'].map((p) => `M 100644 inline ${p}\ndata 0\n\n`).join('') + `M 100644 inline host/tcp\ndata ${tcp.length}\n${tcp}\n`;
  execFileSync('git', ['--git-dir', gitdir, 'fast-import', '--quiet'], { input: s(0, '0.0.0.0:22  sshd  root  /usr/sbin/sshd\n') + s(60, '0.0.0.0:22  sshd  root  /usr/sbin/sshd\n0.0.0.0:4444  nc  root  /bin/nc\n' ) }); // one stream: the second commit continues the branch
  return gitdir;
}

describe('fleet web view files', () => {
  it('writes the page, the fleet, the index, each host and each change', async () => {
    const gitdir = fleet();
    const r = await writeFleetWeb(gitdir, [], { silentAfterMs: 60_000 });
    expect(r).toEqual({ hosts: 1, diffs: 2, problems: [] });
    const web = join(gitdir, 'lsm', 'web');
    expect(readdirSync(web).sort()).toEqual(['app.css', 'app.js', 'd', 'favicon.svg', 'fleet.json', 'h', 'index.html', 'where.json']);
    const where = JSON.parse(readFileSync(join(web, 'where.json'), 'utf8'));
    // web-1's usual 'since' is its first change's; the 4444 line came later: its own time
    expect(where.hosts).toEqual(['web-1']);
    expect(where.lines).toEqual([['host/tcp', '0.0.0.0:22  sshd  root  /usr/sbin/sshd', 0], ['host/tcp', '0.0.0.0:4444  nc  root  /bin/nc', -1, 1_793_491_260_000]]);
    expect(where.since).toEqual([1_793_491_200_000]);
    // nothing new: no host file rewritten, no diff written again
    expect(await writeFleetWeb(gitdir, [], { silentAfterMs: 60_000 })).toEqual({ hosts: 0, diffs: 0, problems: [] });
  });

  it('as root, writes nothing into a web directory another user owns, or one that is a link', async () => {
    const theirs = fleet();
    mkdirSync(join(theirs, 'lsm', 'web'), { recursive: true });
    chownSync(join(theirs, 'lsm', 'web'), 65534, 65534);
    expect(await writeFleetWeb(theirs, ['web-1'], { silentAfterMs: 60_000 })).toEqual({ hosts: 0, diffs: 0, problems: [] });
    expect(readdirSync(join(theirs, 'lsm', 'web'))).toEqual([]);
    const linked = fleet();
    const elsewhere = mkdtempSync(join(tmpdir(), 'lsm-fleet-web-elsewhere-'));
    mkdirSync(join(linked, 'lsm'));
    symlinkSync(elsewhere, join(linked, 'lsm', 'web'));
    await writeFleetWeb(linked, ['web-1'], { silentAfterMs: 60_000 });
    expect(readdirSync(elsewhere)).toEqual([]);
  });
});
