// docs/fleet.md's server recipe as it is written: `lsm fleet init --web-user www-data` with the
// central config leaving SPOOL_DIR unset, `chown -R www-data:` the repository; then root asks the
// fleet questions with that config (a spool www-data owns) and gets answers, while writing nothing
// into what www-data owns (a link planted there leads nowhere) and refusing to rewrite its index.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MAIN = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const WEB = 'www-data';

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
    gitdir = join(tmp, 'srv', 'fleet.git');
    mkdirSync(join(tmp, 'etc'));
    conf = join(tmp, 'etc', 'lsm.conf');
    // the recipe's central config: SPOOL_DIR and EVENT_LOG left unset (the repository's own lsm/)
    writeFileSync(conf, 'USER="fleet@example.org"\nSMTP_URL="smtp://127.0.0.1:2525"\n', { mode: 0o600 });
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("init --web-user, with the config's spool left unset, places it in the repository and passes its own check", () => {
    const init = lsm(['fleet', 'init', gitdir, '--config', conf, '--listen', '127.0.0.1', '--port', '8080', '--htpasswd', join(tmp, 'etc', 'fleet.htpasswd'), '--web-user', WEB]);
    expect([init.status, init.stderr]).toEqual([0, '']);
    expect(init.stdout).toContain('server.username = "www-data"');
  });

  it('root asks status, where and log with the central config naming a spool www-data owns; nothing root-owned appears in the repository', () => {
    commit(gitdir, 'web-1', '0.0.0.0:4444  nc');
    commit(gitdir, 'web-2', '0.0.0.0:22  sshd', Date.now() - 2 * 3_600_000);
    // the hooks would have recorded web-1's heartbeat; web-2's last change, two hours ago, is all it sent
    mkdirSync(join(gitdir, 'lsm', 'seen'), { recursive: true });
    writeFileSync(join(gitdir, 'lsm', 'seen', 'web-1'), String(Date.now()));
    // the docs' other choice: SPOOL_DIR names a directory the web server's user owns
    mkdirSync(join(tmp, 'srv', 'spool'));
    writeFileSync(conf, `USER="fleet@example.org"\nSMTP_URL="smtp://127.0.0.1:2525"\nSPOOL_DIR="${join(tmp, 'srv', 'spool')}"\n`, { mode: 0o600 });
    execFileSync('chown', ['-R', `${WEB}:`, gitdir, join(tmp, 'srv', 'spool')]); // the recipe's chown
    // www-data plants a link where root would write the index: its target must stay empty
    trap = join(tmp, 'trap');
    mkdirSync(trap, { mode: 0o700 });
    mkdirSync(join(gitdir, 'lsm', 'index'), { recursive: true });
    symlinkSync(trap, join(gitdir, 'lsm', 'index', 'now'));
    execFileSync('chown', ['-h', '-R', `${WEB}:`, join(gitdir, 'lsm')]);
    const env = { LSM_CONFIG: conf };

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
    rmSync(join(gitdir, 'lsm', 'index', 'now'));
    const owner = spawnSync('runuser', ['-u', WEB, '--', process.execPath, MAIN, 'fleet', 'reindex', '--fleet', gitdir], { encoding: 'utf8' });
    expect([owner.status, owner.stdout, owner.stderr]).toEqual([0, '2 hosts indexed\n', '']);
  });
});
