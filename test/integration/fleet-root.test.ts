// docs/fleet.md's server recipe as it is written (its commands run under a test directory): a
// central config www-data can read, SPOOL_DIR left unset, `lsm fleet init --web-user www-data`,
// `chown -R www-data:` the repository; then root asks the
// fleet questions with that config (a spool www-data owns) and gets answers, while writing nothing
// into what www-data owns (a link planted there leads nowhere) and refusing to rewrite its index.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MAIN = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const WEB = 'www-data';
const BIN = join(__dirname, '..', '..', 'bin');
const DOC = join(__dirname, '..', '..', 'docs', 'fleet.md');

const lsm = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

/** A snapshot commit on hosts/<host> (git fast-import): one tcp line. */
function commit(gitdir: string, host: string, line: string, at = Date.now()): void {
  let s = `commit refs/heads/hosts/${host}\ncommitter lsm <lsm@${host}> ${Math.floor(at / 1000)} +0000\ndata 6\nchange\ndeleteall\n`;
  for (const [p, body] of [['host/tcp', `${line}\n`], ['host/udp', ''], ['host/raw', ''], ['host/packet', ''], ['host/unix', '']]) s += `M 100644 inline ${p}\ndata ${Buffer.byteLength(body)}\n${body}\n`;
  execFileSync('git', ['--git-dir', gitdir, 'fast-import', '--quiet'], { input: s });
}

/** Every path under dir that root owns (what a root-run command would have written there). */
const rootOwned = (dir: string) => execFileSync('find', [dir, '-uid', '0'], { encoding: 'utf8' }).trim();

describe("fleet questions as root on the web server user's repository", { timeout: 60_000 }, () => {
  let tmp: string, gitdir: string, conf: string, trap: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'lsm-fleet-root-'));
    chmodSync(tmp, 0o755); // www-data reaches the repository
    gitdir = join(tmp, 'srv', 'lsm', 'fleet.git');
    conf = join(tmp, 'etc', 'lsm', 'fleet.conf');
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("docs/fleet.md's server recipe runs as it is written (under a test directory): the config the web server's user reads, the spool in the repository", () => {
    const block = /## The server\n[^]*?```sh\n([^]*?)```/.exec(readFileSync(DOC, 'utf8'))![1].replace(/\\\n\s*/g, '');
    const lines = block.split('\n').filter((l) => l && !/^(apt-get|htpasswd|lighttpd) /.test(l)); // packages installed here; htpasswd asks a password; lighttpd: fleet.test.ts
    expect(lines.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(['install -D', "echo 'USER=\"security@example.org\"'", 'lsm fleet', 'chown -R']);
    for (const line of lines) {
      const cmd = line.replace(/ \/etc\/lighttpd\//g, ` ${tmp}/`).replace(/ (\/etc|\/srv)\//g, ` ${tmp}$1/`);
      const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', env: { ...process.env, PATH: `${BIN}:${process.env.PATH}` } });
      expect([cmd, r.status, r.stderr], cmd).toEqual([cmd, 0, '']);
    }
    expect(readFileSync(join(tmp, 'lsm-fleet.conf'), 'utf8')).toContain('server.username = "www-data"');
    expect(statSync(gitdir).uid).toBe(33);
  });

  it("init refuses a config the web server's user cannot read (root's mode 600 lsm.conf): the hooks would lose every alert", () => {
    const own = join(tmp, 'etc', 'lsm', 'lsm.conf');
    writeFileSync(own, 'USER="root@example.org"\n', { mode: 0o600 });
    const init = lsm(['fleet', 'init', join(tmp, 'other.git'), '--config', own, '--htpasswd', join(tmp, 'htpasswd'), '--web-user', WEB]);
    expect([init.status, init.stdout]).toEqual([2, '']);
    expect(init.stderr).toBe(`lsm: the web server's user www-data cannot read --config ${own}: the hooks run as www-data and would lose central alerts; give the central alerts a config of their own that www-data can read (docs/fleet.md: install -m 640 -g www-data), then run lsm fleet init again\n`);
  });

  it('root asks status, where and log with the central config naming a spool www-data owns (a link planted in lsm/ is damage, never followed); nothing root-owned appears in the repository', () => {
    commit(gitdir, 'web-1', '0.0.0.0:4444  nc');
    commit(gitdir, 'web-2', '0.0.0.0:22  sshd', Date.now() - 2 * 3_600_000);
    // the hooks would have recorded web-1's heartbeat; web-2's last change, two hours ago, is all it sent
    mkdirSync(join(gitdir, 'lsm', 'seen'), { recursive: true });
    writeFileSync(join(gitdir, 'lsm', 'seen', 'web-1'), String(Date.now()));
    // the docs' other choice: SPOOL_DIR names a directory the web server's user owns
    mkdirSync(join(tmp, 'srv', 'lsm', 'spool'));
    writeFileSync(conf, `USER="fleet@example.org"\nSMTP_URL="smtp://127.0.0.1:2525"\nSPOOL_DIR="${join(tmp, 'srv', 'lsm', 'spool')}"\n`);
    execFileSync('chown', ['-R', `${WEB}:`, gitdir, join(tmp, 'srv', 'lsm', 'spool')]); // the recipe's chown
    // www-data plants a link where root would write the index: its target must stay empty
    trap = join(tmp, 'trap');
    mkdirSync(trap, { mode: 0o700 });
    mkdirSync(join(gitdir, 'lsm', 'index'), { recursive: true });
    symlinkSync(trap, join(gitdir, 'lsm', 'index', 'now'));
    execFileSync('chown', ['-h', '-R', `${WEB}:`, join(gitdir, 'lsm')]);
    const env = { LSM_CONFIG: conf };
    // a link at a path of lsm's own is damage: said in one line (65), never read or written through
    const planted = lsm(['fleet', 'status', '--json', '--silent-after', '1h', '--fleet', gitdir], env);
    expect([planted.status, planted.stderr]).toEqual([65, expect.stringMatching(/^lsm: fleet server: \S+\/lsm\/index\/now is a symbolic link to "\S+\/trap", not a directory: damage, neither read nor written through; move it aside \(mv .*\), lsm fleet reindex makes it again\n$/)]);
    expect(readdirSync(trap)).toEqual([]);
    rmSync(join(gitdir, 'lsm', 'index', 'now'));

    const status = lsm(['fleet', 'status', '--json', '--silent-after', '1h', '--fleet', gitdir], env);
    expect([status.status, status.stderr]).toEqual([0, '']);
    const hosts = JSON.parse(status.stdout).hosts as { host: string; silent: boolean; sockets: Record<string, number> }[];
    expect(hosts.map((h) => [h.host, h.silent, h.sockets.tcp])).toEqual([['web-1', false, 1], ['web-2', true, 1]]);
    const where = lsm(['fleet', 'where', '4444', '--json', '--fleet', gitdir], env);
    expect([where.status, where.stderr]).toEqual([0, '']);
    expect(JSON.parse(where.stdout).hits.map((h: { host: string }) => h.host)).toEqual(['web-1']);
    const log = lsm(['fleet', 'log', '--since', '3h', '--json', '--fleet', gitdir], env);
    expect([log.status, log.stderr]).toEqual([0, '']);
    expect(JSON.parse(log.stdout).changes.map((c: { host: string }) => c.host)).toEqual(['web-2', 'web-1']); // oldest first

    expect(rootOwned(gitdir)).toBe('');
    expect(readdirSync(trap)).toEqual([]);
  });

  it('root refuses to rewrite that index (exit 77, nothing written); the owner may', () => {
    const r = lsm(['fleet', 'reindex', '--fleet', gitdir]);
    expect(r.status).toBe(77);
    expect(r.stderr).toMatch(/^lsm: refusing to rewrite the index of .*: it is another user's.*\n$/);
    expect(rootOwned(gitdir)).toBe('');
    expect(readdirSync(trap)).toEqual([]);
    const owner = spawnSync('runuser', ['-u', WEB, '--', process.execPath, MAIN, 'fleet', 'reindex', '--fleet', gitdir], { encoding: 'utf8' });
    expect([owner.status, owner.stdout, owner.stderr]).toEqual([0, '2 hosts indexed\n', '']);
  });
});
