// A process whose binary never was a file: copied into a memfd and run from it (fexecve), as
// fileless malware does. Its exe link is '/memfd:<name> (deleted)', and the name is the user's:
// '/../usr/sbin/sshd' makes it '/memfd:/../usr/sbin/sshd (deleted)' (and comm 'memfd:/../usr/s'). Taken for an upgraded binary,
// the line showed '/memfd:/../usr/sbin/sshd' and the mail 'binary replaced, restart pending'.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, World } from '../helpers/world.js';
import { fakeSendmail, testConfig } from '../helpers/config.js';

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-c', 'safe.directory=*', '-C', repo, ...args], { encoding: 'utf8' });
// python3 -c RUN_FROM_MEMFD <binary> <memfd name> <args...>: the binary's bytes into a memfd, then exec'd from it
const RUN_FROM_MEMFD = 'import os, sys\nfd = os.memfd_create(sys.argv[2], 0)\nos.write(fd, open(sys.argv[1], "rb").read())\nos.execve(fd, ["sshd", *sys.argv[3:]], {})';

describe('a listener whose binary is a memfd', { timeout: 120_000 }, () => {
  let world: World;
  let tmp: string, repo: string, outbox: string, holder: string;
  const pids: number[] = [];
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-exe-'));
    repo = join(tmp, 'repo');
    holder = join(tmp, 'thread-holder');
    execFileSync('cc', ['-O', '-Wall', '-o', holder, join(ROOT, 'test', 'helpers', 'thread-holder.c'), '-lpthread']);
    const mail = fakeSendmail(tmp);
    outbox = mail.outbox;
    world.defaults = { LSM_CONFIG: testConfig(join(tmp, 'etc'), { SENDMAIL: mail.path, USER: 'ops@example.org' }) };
    expect((await world.lsm(['-g', '--repo', repo])).code).toBe(0);
  });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    await world?.stop();
  });

  it('is said as a memfd, deleted, in the snapshot and the mail; never as an upgrade', async () => {
    const h = await world.spawn(['python3', '-c', RUN_FROM_MEMFD, holder, '/../usr/sbin/sshd', '7701', 'files']);
    pids.push(h.pid);
    const exe = (await world.run(['readlink', `/proc/${h.pid}/exe`])).stdout.trim();
    expect(exe).toBe('/memfd:/../usr/sbin/sshd (deleted)');
    const r = await world.lsm(['-c', '--repo', repo]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(git(repo, 'show', 'HEAD:host/tcp')).toContain('0.0.0.0:7701  memfd:/../usr/s  root  /memfd:/../usr/sbin/sshd\\x20(deleted)\n');
    const mails = readdirSync(outbox).filter((n) => n.endsWith('.eml')).map((n) => readFileSync(join(outbox, n), 'utf8'));
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatch(/^ {6}exe \/memfd:\/\.\.\/usr\/sbin\/sshd( |\\x20)\(deleted\)$/m);
    expect(mails[0]).not.toContain('restart pending');
  });

  it("a user's own program bound over a root binary in a mount namespace of their own is not shown as that binary", async () => {
    // runuser -u nobody, then unshare -rm (no privilege): its bind of the holder at /usr/bin/env runs as '/usr/bin/env'
    const dir = mkdtempSync(join(tmpdir(), 'lsm-userns-'));
    execFileSync('cp', [holder, join(dir, 'env')]);
    execFileSync('chmod', ['755', dir, join(dir, 'env')]);
    const h = await world.spawn(['runuser', '-u', 'nobody', '--', 'unshare', '-rm', 'sh', '-c', `mount --bind ${dir}/env /usr/bin/env && exec /usr/bin/env 7702 files`]);
    pids.push(h.pid);
    const pid = (await world.run(['pgrep', '-n', '-u', 'nobody', 'env'])).stdout.trim();
    expect((await world.run(['readlink', `/proc/${pid}/exe`])).stdout.trim()).toBe('/usr/bin/env');
    const r = await world.lsm(['-c', '--repo', repo]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(git(repo, 'show', 'HEAD:host/tcp')).toContain('0.0.0.0:7702  env  nobody  /usr/bin/env\\x20(userns)\n');
    // a user's namespace running the host's very file keeps its path
    const same = await world.spawn(['runuser', '-u', 'nobody', '--', 'unshare', '-r', 'python3', '-c', 'import socket,time; s=socket.socket(); s.bind(("0.0.0.0", 7703)); s.listen(); print("ready", flush=True); time.sleep(300)']);
    pids.push(same.pid);
    expect((await world.lsm(['-c', '--repo', repo])).code).toBe(0);
    expect(git(repo, 'show', 'HEAD:host/tcp')).toMatch(/^0\.0\.0\.0:7703  python3  nobody  \/\S+python3[.0-9]*\n/m);
  });
});
