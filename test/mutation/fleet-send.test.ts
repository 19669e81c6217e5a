// The host's one-request push (src/fleet/send.ts) against the real server side: each request is
// handed to `git http-backend` as the web server would run it (CGI: the request on stdin, the
// environment, the answer on stdout), so git-receive-pack itself reads the pack and the update and
// answers; no socket. The commit chain and the objects a push needs are checked against plain git.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitChain, newObjects, sendUpdate, SendHttpError, type Request } from '../../src/fleet/send.js';
import { openRepo } from '../../src/store/repo.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'lsm-send-')); dirs.push(d); return d; };
const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_DATE: '2026-12-01T00:00:00Z', GIT_COMMITTER_DATE: '2026-12-01T00:00:00Z' } }).trim();
const ZERO = '0'.repeat(40);
const REF = 'refs/heads/hosts/web-1';

/** A host repository (work tree + .git) with one commit per snapshot given: path -> text. */
function host(snapshots: Record<string, string>[]): { dir: string; commits: string[] } {
  const dir = tmp();
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', 'lsm');
  git(dir, 'config', 'user.email', 'lsm@localhost');
  const commits: string[] = [];
  for (const [i, files] of snapshots.entries()) {
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(join(dir, p, '..'), { recursive: true });
      if (text === '') rmSync(join(dir, p), { force: true });
      else { rmSync(join(dir, p), { recursive: true, force: true }); writeFileSync(join(dir, p), text); }
    }
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '--allow-empty', '-m', `snapshot ${i}`);
    commits.push(git(dir, 'rev-parse', 'HEAD'));
  }
  return { dir, commits };
}

/** A bare server repository that takes pushes over HTTP (as lsm fleet init sets it). */
function server(): string {
  const root = tmp();
  const gitdir = join(root, 'fleet.git');
  execFileSync('git', ['init', '-q', '--bare', gitdir]);
  git(gitdir, 'config', 'http.receivepack', 'true');
  return gitdir;
}

/** The web server: one CGI run of git http-backend per request. */
function cgi(gitdir: string, seen: { url: string; headers: Record<string, string> }[] = []): Request {
  return async (r) => {
    seen.push({ url: r.url, headers: r.headers });
    const u = new URL(r.url);
    const input = Buffer.concat(r.body);
    const res = spawnSync('git', ['http-backend'], {
      input,
      maxBuffer: 1 << 26,
      env: {
        PATH: process.env.PATH, GIT_PROJECT_ROOT: join(gitdir, '..'), GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: r.method, PATH_INFO: u.pathname.replace(/^\/git/, ''), QUERY_STRING: u.search.slice(1),
        CONTENT_TYPE: r.headers['content-type'] ?? '', CONTENT_LENGTH: String(input.length), REMOTE_USER: 'web-1', REMOTE_ADDR: '127.0.0.1',
      },
    });
    const out = res.stdout;
    const end = out.indexOf('\r\n\r\n');
    const head = out.subarray(0, end).toString('latin1');
    const status = /^Status: (\d+) ?(.*)$/m.exec(head);
    const body = out.subarray(end + 4);
    return { statusCode: status ? Number(status[1]) : 200, statusMessage: status ? status[2] : 'OK', body: (async function* () { yield body.subarray(0, 7); yield body.subarray(7); })() };
  };
}

/** A server that answers these bytes (what a broken or hostile server could send). */
const answer = (statusCode: number, bytes: Buffer, statusMessage = 'OK'): Request => async () => ({ statusCode, statusMessage, body: (async function* () { yield bytes; })() });
const pkt = (s: string | Buffer) => { const b = Buffer.isBuffer(s) ? s : Buffer.from(s); return Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, '0')), b]); };
const band = (n: number, s: string | Buffer) => pkt(Buffer.concat([Buffer.from([n]), Buffer.isBuffer(s) ? s : Buffer.from(s)]));

const sorted = (a: string[]) => [...a].sort();
const plainObjects = (dir: string, base: string | null, head: string) => sorted(git(dir, 'rev-list', '--objects', '--no-object-names', head, ...(base ? ['--not', base] : [])).split('\n').filter(Boolean));

describe('commitChain and newObjects', () => {
  const snaps = [
    { 'web-1/tcp': 'a\n', 'web-1/deep/x/y': 'y\n', 'web-1/deep/z': 'z\n' },
    { 'web-1/tcp': 'b\n' }, // only tcp changes: deep/ is the parent's
    { 'web-1/deep/x/y': 'y2\n' }, // a nested blob: deep/ and deep/x/ change, deep/z does not
    { 'web-1/new/file': 'n\n', 'web-1/deep/z': '' }, // a new tree, a blob removed
    { 'web-1/deep': 'a file where a tree was\n' },
    { 'web-1/tcp': 'a\n' }, // back to an older blob: the server has it, but not at this path of the parent
  ];

  it('the chain from a base (exclusive) or the root, oldest first; null past max, for a merge or a head not above base', async () => {
    const h = host(snaps);
    const repo = openRepo(h.dir);
    const c = h.commits;
    expect(await commitChain(repo, null, c[5])).toEqual(c);
    expect(await commitChain(repo, c[1], c[5])).toEqual(c.slice(2));
    expect(await commitChain(repo, c[4], c[5])).toEqual([c[5]]);
    expect(await commitChain(repo, c[5], c[5])).toEqual([]);
    expect(await commitChain(repo, c[1], c[5], 4)).toEqual(c.slice(2)); // exactly max
    expect(await commitChain(repo, c[1], c[5], 3)).toBeNull();
    expect(await commitChain(repo, null, c[5], 6)).toEqual(c);
    expect(await commitChain(repo, null, c[5], 5)).toBeNull();
    // base not on the way: the root is reached with a base given
    const other = host([{ 'web-1/tcp': 'q\n' }]).commits[0];
    expect(await commitChain(repo, other, c[2])).toBeNull();
    // a merge on the way
    git(h.dir, 'checkout', '-q', '-b', 'side', c[3]);
    writeFileSync(join(h.dir, 'web-1', 'udp'), 'u\n');
    git(h.dir, 'add', '-A');
    git(h.dir, 'commit', '-q', '-m', 'side');
    git(h.dir, 'checkout', '-q', 'main');
    git(h.dir, 'merge', '-q', '--no-edit', 'side');
    const merge = git(h.dir, 'rev-parse', 'HEAD');
    expect(await commitChain(repo, c[1], merge)).toBeNull();
    expect(await commitChain(repo, merge, merge)).toEqual([]);
  });

  it('the objects a push needs are exactly what plain git says the server lacks', async () => {
    const h = host(snaps);
    const repo = openRepo(h.dir);
    const c = h.commits;
    expect(await newObjects(repo, c[5], c[5])).toEqual([]);
    for (const [base, head] of [[null, 0], [null, 4], [0, 1], [1, 2], [2, 3], [3, 4], [0, 4]] as const) {
      const b = base === null ? null : c[base];
      const got = await newObjects(repo, b, c[head]);
      expect(sorted(got!), `${base}..${head}`).toEqual(plainObjects(h.dir, b, c[head]));
      expect(new Set(got).size).toBe(got!.length);
    }
    // c[4] -> c[5]: tcp goes back to blob 'a\n', which the server has from c[0] but not at c[4]'s path: sent again (harmless)
    const back = await newObjects(repo, c[4], c[5]);
    expect(back).toContain(git(h.dir, 'rev-parse', `${c[5]}:web-1/tcp`));
    expect(back).toHaveLength(4); // the commit, the root tree, web-1's tree and that blob; not what equals the parent's (deep)
  });

  it('null when head is not a linear descendant within max', async () => {
    const h = host(snaps);
    const repo = openRepo(h.dir);
    expect(await newObjects(repo, h.commits[0], h.commits[5], 4)).toBeNull();
    expect(await newObjects(repo, h.commits[0], h.commits[5], 5)).not.toBeNull();
  });
});

describe('sendUpdate through git http-backend', () => {
  it('a first push, a change and a heartbeat: git-receive-pack unpacks ok and moves the branch', async () => {
    const h = host([{ 'web-1/tcp': 'a\n' }, { 'web-1/tcp': 'b\n' }]);
    const repo = openRepo(h.dir);
    const srv = server();
    const seen: { url: string; headers: Record<string, string> }[] = [];
    const req = cgi(srv, seen);
    const [c0, c1] = h.commits;
    const first = await sendUpdate(req, 'http://fleet.invalid/git/fleet.git', { Authorization: 'Basic x' }, repo, { old: ZERO, new: c0, ref: REF }, (await newObjects(repo, null, c0))!);
    expect(first).toEqual({ unpack: 'ok', refs: new Map([[REF, null]]), messages: '' });
    expect(git(srv, 'rev-parse', REF)).toBe(c0);
    expect(seen[0].url).toBe('http://fleet.invalid/git/fleet.git/git-receive-pack');
    expect(seen[0].headers).toEqual({ Authorization: 'Basic x', 'content-type': 'application/x-git-receive-pack-request', accept: 'application/x-git-receive-pack-result' });
    const change = await sendUpdate(req, 'http://fleet.invalid/git/fleet.git', {}, repo, { old: c0, new: c1, ref: REF }, (await newObjects(repo, c0, c1))!);
    expect(change.unpack).toBe('ok');
    expect(git(srv, 'rev-parse', REF)).toBe(c1);
    expect(git(srv, 'cat-file', '-p', `${REF}:web-1/tcp`)).toBe('b');
    // a heartbeat: no objects, git's empty pack, the branch where it is
    const beat = await sendUpdate(req, 'http://fleet.invalid/git/fleet.git', {}, repo, { old: c1, new: c1, ref: REF }, []);
    expect(beat).toEqual({ unpack: 'ok', refs: new Map([[REF, null]]), messages: '' });
    expect(git(srv, 'rev-parse', REF)).toBe(c1);
  });

  it("the server's branch elsewhere: git refuses under the ref's lock, the reason kept", async () => {
    const h = host([{ 'web-1/tcp': 'a\n' }, { 'web-1/tcp': 'b\n' }, { 'web-1/tcp': 'c\n' }]);
    const repo = openRepo(h.dir);
    const srv = server();
    const req = cgi(srv);
    const [c0, c1, c2] = h.commits;
    await sendUpdate(req, 'http://s/git/fleet.git', {}, repo, { old: ZERO, new: c1, ref: REF }, (await newObjects(repo, null, c1))!);
    const r = await sendUpdate(req, 'http://s/git/fleet.git', {}, repo, { old: c0, new: c2, ref: REF }, (await newObjects(repo, c1, c2))!);
    expect(r.unpack).toBe('ok');
    expect(r.refs.get(REF)).toMatch(/^failed to update ref$|lock|stale|^failed/);
    expect(git(srv, 'rev-parse', REF)).toBe(c1);
  });

  it("a hook's refusal: its words (side band 2) and git's reason for the ref", async () => {
    const h = host([{ 'web-1/tcp': 'a\n' }]);
    const repo = openRepo(h.dir);
    const srv = server();
    const hook = join(srv, 'hooks', 'pre-receive');
    writeFileSync(hook, '#!/bin/sh\necho "lsm: refused: the push brings too much" >&2\necho "second line" >&2\nexit 1\n');
    chmodSync(hook, 0o755);
    const r = await sendUpdate(cgi(srv), 'http://s/git/fleet.git', {}, repo, { old: ZERO, new: h.commits[0], ref: REF }, (await newObjects(repo, null, h.commits[0]))!);
    expect(r.unpack).toBe('ok');
    expect(r.refs).toEqual(new Map([[REF, 'pre-receive hook declined']]));
    expect(r.messages).toBe('lsm: refused: the push brings too much\nsecond line\n');
    expect(spawnSync('git', ['-C', srv, 'rev-parse', '--verify', '--quiet', REF]).status).not.toBe(0);
  });

  it('an HTTP error is a SendHttpError with its status, after the body is read', async () => {
    const h = host([{ 'web-1/tcp': 'a\n' }]);
    const repo = openRepo(h.dir);
    const err = await sendUpdate(answer(403, Buffer.from('go away'), 'Forbidden'), 'http://s/x', {}, repo, { old: ZERO, new: h.commits[0], ref: REF }, []).catch((e) => e);
    expect(err).toBeInstanceOf(SendHttpError);
    expect(err.statusCode).toBe(403);
    expect(err.message).toBe('HTTP Error: 403 Forbidden');
    // a real one: receive-pack not enabled on the server
    const srv = server();
    git(srv, 'config', 'http.receivepack', 'false');
    const off = await sendUpdate(cgi(srv), 'http://s/git/fleet.git', {}, repo, { old: ZERO, new: h.commits[0], ref: REF }, []).catch((e) => e);
    expect(off).toBeInstanceOf(SendHttpError);
    expect(off.statusCode).toBe(403);
  });

  it("what the server's answer holds, read pkt-line by pkt-line; a damaged or missing report throws", async () => {
    const h = host([{ 'web-1/tcp': 'a\n' }]);
    const repo = openRepo(h.dir);
    const send = (bytes: Buffer) => sendUpdate(answer(200, bytes), 'http://s/x', {}, repo, { old: ZERO, new: h.commits[0], ref: REF }, []);
    const report = (...lines: string[]) => band(1, Buffer.concat([...lines.map((l) => pkt(l)), Buffer.from('0000')]));
    // ok and ng lines, a reason of several words, an ng without one, lines that are neither
    const r = await send(Buffer.concat([band(2, 'remote says\n'), report('unpack ok\n', `ok ${REF}\n`, 'ng refs/heads/a non-fast-forward here\n', 'ng refs/heads/b\n', 'xx refs/heads/c\n'), Buffer.from('0000')]));
    expect(r).toEqual({ unpack: 'ok', refs: new Map<string, string | null>([[REF, null], ['refs/heads/a', 'non-fast-forward here'], ['refs/heads/b', 'refused']]), messages: 'remote says\n' });
    // the report without its newlines; unpack's reason kept whole
    const bad = await send(report('unpack index-pack abnormal exit', `ng ${REF} unpacker error`));
    expect(bad).toEqual({ unpack: 'index-pack abnormal exit', refs: new Map([[REF, 'unpacker error']]), messages: '' });
    // side band 3: the server failed
    await expect(send(Buffer.concat([band(2, 'x'), band(3, '  disk full \n')]))).rejects.toThrow(/^the server failed: disk full$/);
    // no report: said, with what the hooks said
    await expect(send(band(2, ' hook words \n'))).rejects.toThrow(/^the server sent no push report \(remote: hook words\)$/);
    await expect(send(Buffer.from('0000'))).rejects.toThrow(/^the server sent no push report$/);
    await expect(send(report('ok nothing\n'))).rejects.toThrow(/^the server sent no push report$/);
    // damaged lengths: not hex, 1 to 3, past the end (outer and inner)
    for (const b of ['zzzz', '0003', '0001abc', '0009abc', '00', '0005']) await expect(send(Buffer.from(b)), b).rejects.toThrow(/^the server sent a damaged answer \(pkt-line\)$/);
    await expect(send(band(1, '00ffunpack ok'))).rejects.toThrow(/damaged answer/);
    // exactly to the end: read; a flush (0000) in the middle skipped
    const exact = await send(Buffer.concat([Buffer.from('0000'), report('unpack ok\n', `ok ${REF}\n`)]));
    expect(exact.refs.get(REF)).toBeNull();
    // a flush first in the report is dropped too: 'unpack' is still its first line
    const flushed = await send(band(1, Buffer.concat([Buffer.from('0000'), pkt('unpack ok\n'), pkt(`ok ${REF}\n`)])));
    expect(flushed.refs).toEqual(new Map([[REF, null]]));
    // only a line's last newline is cut: a reason of two lines keeps its inner one
    const twoLines = await send(report('unpack ok\n', `ng ${REF} first\nsecond\n`));
    expect(twoLines.refs.get(REF)).toBe('first\nsecond');
    // 0004: an empty line, kept (band 1 of nothing is not 1, 2 or 3: ignored)
    const four = await send(Buffer.concat([Buffer.from('0004'), pkt(Buffer.from([9, 65])), report('unpack ok\n')]));
    expect(four).toEqual({ unpack: 'ok', refs: new Map(), messages: '' });
  });
});
