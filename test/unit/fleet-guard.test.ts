// The guard (pre-receive) against real git: what it refuses in the pushed commits, whatever their
// shape. The pushed objects are in the repository but no ref names them, as in git's quarantine.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZERO, guard } from '../../src/fleet/guard.js';
import { DEFAULT_LIMITS, type FleetLimits } from '../../src/fleet/limits.js';

const SSHD = '0.0.0.0:22  sshd  root  /usr/sbin/sshd\n';
type File = [mode: string, path: string, body: string | Buffer];
const valid = (tcp = SSHD): File[] => [['100644', 'host/tcp', tcp], ...['udp', 'raw', 'packet', 'unix'].map((k): File => ['100644', `host/${k}`, ''])];
const quote = (p: string) => JSON.stringify(p); // fast-import reads C-style quoted paths

/** A commit made of FILES (its whole tree) on top of PARENTS, left unreferenced like pushed objects are. */
function pushed(gitdir: string, files: File[], parents: string[] = [], t = 0): string {
  const chunks: Buffer[] = [Buffer.from(`commit refs/incoming/x\ncommitter lsm <lsm@h> ${1_790_000_000 + t} +0000\ndata 6\nchange\n`)];
  if (parents[0]) chunks.push(Buffer.from(`from ${parents[0]}\n`));
  for (const p of parents.slice(1)) chunks.push(Buffer.from(`merge ${p}\n`));
  chunks.push(Buffer.from('deleteall\n'));
  for (const [mode, path, body] of files) {
    const b = Buffer.from(body);
    chunks.push(Buffer.from(`M ${mode} inline ${quote(path)}\ndata ${b.length}\n`), b, Buffer.from('\n'));
  }
  execFileSync('git', ['--git-dir', gitdir, 'fast-import', '--quiet'], { input: Buffer.concat(chunks), maxBuffer: 1 << 28 });
  const id = execFileSync('git', ['--git-dir', gitdir, 'rev-parse', 'refs/incoming/x'], { encoding: 'utf8' }).trim();
  execFileSync('git', ['--git-dir', gitdir, 'update-ref', '-d', 'refs/incoming/x']);
  return id;
}

function server(): string {
  const gitdir = join(mkdtempSync(join(tmpdir(), 'lsm-guard-')), 'fleet.git');
  execFileSync('git', ['init', '--quiet', '--bare', gitdir]);
  return gitdir;
}
const land = (gitdir: string, host: string, id: string) => execFileSync('git', ['--git-dir', gitdir, 'update-ref', `refs/heads/hosts/${host}`, id]);
// (many checks a test: the rate limit is another test's)
const check = (gitdir: string, old: string, id: string, host = 'web-1', limits: Partial<FleetLimits> = {}) => guard(gitdir, [{ old, new: id, ref: `refs/heads/hosts/${host}` }], host, undefined, { limits: { ...DEFAULT_LIMITS, pushesPerMinute: 1e6, ...limits } });

describe('fleet guard: the pushed commits', () => {
  it('accepts a new host history and a fast-forward of several snapshots', () => {
    const g = server();
    const a = pushed(g, valid());
    expect(check(g, ZERO, a)).toEqual([]);
    land(g, 'web-1', a);
    const b = pushed(g, valid(SSHD + '0.0.0.0:4444  nc  root  /usr/bin/nc\n'), [a], 1);
    const c = pushed(g, valid(), [b], 2);
    expect(check(g, a, c)).toEqual([]);
  });

  it('checks every commit a push brings, not only its tip: a bad one in the middle is refused and named', () => {
    const g = server();
    const a = pushed(g, valid());
    land(g, 'web-1', a);
    const bad = pushed(g, [...valid(), ['100644', 'etc/passwd', 'root::0:0::/root:/bin/sh\n']], [a], 1);
    const fixed = pushed(g, valid(), [bad], 2);
    const problems = check(g, a, fixed);
    expect(problems).toEqual([`refused refs/heads/hosts/web-1: commit ${bad.slice(0, 10)}: not an lsm snapshot: 'etc/passwd' is not a snapshot file (host/<kind> or netns/<label>/<kind>, kind one of tcp, udp, raw, packet, unix, unattributed)`]);
  });

  it('a commit already on another host branch is still checked when it comes to this one', () => {
    const g = server();
    const a = pushed(g, valid());
    land(g, 'web-1', a);
    const bad = pushed(g, [...valid(), ['100644', 'host/tcp.bak', 'x\n']], [a], 1);
    land(g, 'web-2', bad); // (as if it had got in there)
    expect(check(g, a, bad).join('\n')).toMatch(/commit [0-9a-f]{10}: not an lsm snapshot: 'host\/tcp\.bak'/);
  });

  it('refuses a merge, a first snapshot without the host files, an executable, a symbolic link, a deletion of a host file', () => {
    const g = server();
    const a = pushed(g, valid());
    land(g, 'web-1', a);
    const side = pushed(g, valid('0.0.0.0:23  telnetd  root  /usr/sbin/telnetd\n'), [a], 1);
    const merge = pushed(g, valid(), [a, side], 2);
    expect(check(g, a, merge)).toEqual([`refused refs/heads/hosts/web-1: commit ${merge.slice(0, 10)} is a merge: a host's history is linear`]);
    const partial = pushed(g, [['100644', 'host/tcp', SSHD]], [], 3);
    expect(check(g, ZERO, partial, 'web-2').join('\n')).toContain(`commit ${partial.slice(0, 10)}: not an lsm snapshot: host/udp, host/raw, host/packet, host/unix missing`);
    const exe = pushed(g, [...valid().slice(1), ['100755', 'host/tcp', SSHD]], [a], 4);
    expect(check(g, a, exe).join('\n')).toContain('host/tcp has mode 100755: snapshot files are plain files');
    const link = pushed(g, [...valid().slice(1), ['120000', 'host/tcp', '/etc/shadow']], [a], 5);
    expect(check(g, a, link).join('\n')).toContain('host/tcp has mode 120000');
    const gone = pushed(g, valid().slice(1), [a], 6);
    expect(check(g, a, gone)).toEqual([`refused refs/heads/hosts/web-1: commit ${gone.slice(0, 10)} deletes host/tcp: every snapshot has the host's files`]);
  });

  it('hostile file names cannot pass for git output: newlines, colons, a commit id, a NUL-free raw line', () => {
    const g = server();
    const a = pushed(g, valid());
    land(g, 'web-1', a);
    const names = [`${a}`, `\n${a} ${a}`, ':100644 100644 0000000000000000000000000000000000000000 0000000000000000000000000000000000000000 M', 'host/tcp\nhost/udp', '\n:100644'];
    for (const [i, name] of names.entries()) {
      const c = pushed(g, [...valid(), ['100644', name, 'x\n']], [a], 10 + i);
      const problems = check(g, a, c);
      expect(problems.length, JSON.stringify(name)).toBe(1);
      expect(problems[0]).toMatch(new RegExp(`^refused refs/heads/hosts/web-1: commit ${c.slice(0, 10)}: not an lsm snapshot: '.*' is not a snapshot file`, 's'));
    }
  });

  it('refuses text that is not a snapshot: invalid UTF-8, a control character, a duplicate line', () => {
    const g = server();
    const a = pushed(g, valid());
    land(g, 'web-1', a);
    const cases: [string | Buffer, RegExp][] = [
      [Buffer.from([0x30, 0xff, 0x0a]), /host\/tcp: not UTF-8 text/],
      ['0.0.0.0:22  sshd\x1b[2J  root  /usr/sbin/sshd\n', /host\/tcp:1: control character/],
      [SSHD + SSHD, /host\/tcp:2: duplicate line/],
    ];
    for (const [i, [body, why]] of cases.entries()) expect(check(g, a, pushed(g, valid(body as string), [a], 20 + i)).join('\n')).toMatch(why);
  });

  it('refuses a snapshot file bigger than FLEET_MAX_FILE_BYTES, and names it, the limit and the value, without reading past the limit', () => {
    const g = server();
    const a = pushed(g, valid());
    land(g, 'web-1', a);
    const line = '0.0.0.0:1  x  root  /x\n';
    const fileBytes = 1 << 20;
    const big = Buffer.alloc(fileBytes + line.length, line); // valid lines (the same one repeated), one more than fits
    const c = pushed(g, [...valid().slice(1), ['100644', 'host/tcp', big]], [a], 30);
    const said = `lsm: refused refs/heads/hosts/web-1: host/tcp is ${big.length} bytes (1.0 MiB), over FLEET_MAX_FILE_BYTES=${fileBytes} (1 MiB)`;
    expect(check(g, a, c, 'web-1', { fileBytes })).toEqual([said]);
    // beside a small file the limit is still per file
    const d = pushed(g, [...valid().slice(2), ['100644', 'host/udp', '0.0.0.0:53  dns  root  /d\n'], ['100644', 'host/tcp', big]], [a], 31);
    expect(check(g, a, d, 'web-1', { fileBytes })).toEqual([said]);
  });

  it('refuses a snapshot file of more lines than FLEET_MAX_LINES, at the first line too many', () => {
    const g = server();
    const a = pushed(g, valid());
    land(g, 'web-1', a);
    const lines = (n: number) => Array.from({ length: n }, (_, i) => `0.0.0.0:${i + 1}  x  root  /x\n`).join('');
    const atLimit = pushed(g, valid(lines(1000)), [a], 40);
    const over = pushed(g, valid(lines(1001)), [a], 41);
    expect(check(g, a, atLimit, 'web-1', { lines: 1000 })).toEqual([]);
    expect(check(g, a, over, 'web-1', { lines: 1000 })).toEqual(['lsm: refused refs/heads/hosts/web-1: host/tcp has 1001 lines, over FLEET_MAX_LINES=1000']);
  });

  it('refuses a push of more commits than a push may bring, at the first one too many', () => {
    const g = server();
    const a = pushed(g, valid());
    land(g, 'web-1', a);
    let tip = a;
    const chain: string[] = [];
    for (let i = 1; i <= 4; i++) chain.push(tip = pushed(g, valid(`0.0.0.0:${i}  x  root  /x\n`), [tip], 50 + i));
    expect(check(g, a, chain[2], 'web-1', { pushCommits: 3 })).toEqual([]);
    expect(check(g, a, chain[3], 'web-1', { pushCommits: 3 })).toEqual(['lsm: refused refs/heads/hosts/web-1: the push brings more than 3 commits: at most 3 commits a push (lsm pushes a backlog in steps)']);
  });
});
