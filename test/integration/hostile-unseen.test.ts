// A non-root scan says what it could not see, also when /proc does not even list it (hostile
// review of issue 18.4): under a proc mounted hidepid=invisible, other users' processes are not
// unreadable, they are absent, and a namespace only they are in is not found at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOLDER, LSM, World } from '../helpers/world.js';
import { fakeSendmail, testConfig } from '../helpers/config.js';

const NOBODY = 65534;
const git = (repo: string, ...args: string[]) => execFileSync('git', ['-c', 'safe.directory=*', '-C', repo, ...args], { encoding: 'utf8' });
const chownTree = (p: string) => { chownSync(p, NOBODY, NOBODY); if (statSync(p).isDirectory()) for (const e of readdirSync(p)) chownTree(join(p, e)); };

describe('a non-root scan under a proc that hides other users (hidepid)', () => {
  let world: World;
  let tmp: string;
  let mine: string;
  let conf: string;
  const pids: number[] = [];
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-hidepid-'));
    chmodSync(tmp, 0o755);
    mine = join(tmp, 'nobody');
    mkdirSync(mine);
    conf = testConfig(join(mine, 'etc'), { SENDMAIL: fakeSendmail(mine).path, USER: 'admin@example.org' });
    chownTree(mine);
  });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    await world?.stop();
  });

  // lsm as nobody in a mount namespace of its own whose /proc is mounted with these options
  const asNobody = (procOptions: string, ...args: string[]) => world.run(['unshare', '--mount', 'sh', '-c',
    `mount -t proc -o ${procOptions} proc /proc && exec runuser -u nobody -- env NO_COLOR=1 LSM_CONFIG=${conf} HOME=${mine} ${process.execPath} ${LSM} "$@"`, 'lsm', ...args]);

  it('says on stderr, in status and in host/unattributed that processes were hidden; a gid= member is told nothing', async () => {
    const spec = (port: number) => JSON.stringify({ comm: 'rootsvc', sockets: [{ kind: 'tcp4', addr: '0.0.0.0', port }] });
    pids.push((await world.spawn(['unshare', '-n', 'python3', HOLDER, spec(7321)])).pid);
    pids.push((await world.spawn(['python3', HOLDER, spec(7322)])).pid);
    const repo = join(mine, 'repo');
    const scan = await asNobody('hidepid=invisible', 'scan', '--repo', repo);
    expect(scan.code).toBe(0);
    expect(scan.stderr).toBe("lsm: other users' processes hidden (/proc hidepid=invisible): sockets only there are not recorded\n");
    expect(git(repo, 'show', 'HEAD:host/unattributed')).toBe("other users' processes hidden (/proc hidepid=invisible): a namespace only they are in is not recorded\n");
    expect(git(repo, 'show', 'HEAD:host/tcp')).toBe('0.0.0.0:7322  ?  root  ?\n'); // the table is the namespace's: seen, owner unknown
    const status = await asNobody('hidepid=invisible', 'status', '--repo', repo);
    expect(status.stdout).toMatch(/^other users' processes hidden \(\/proc hidepid=invisible\): sockets only there are not recorded$/m);
    // gid= lets its members see every process: nothing hidden, nothing said about hiding
    const member = await asNobody(`hidepid=invisible,gid=${NOBODY}`, 'status', '--repo', repo);
    expect(member.stdout).not.toMatch(/hidden/);
    expect(member.stdout).toMatch(/not readable \(permission denied\)/); // but their fds and namespaces are refused, and said
  }, 90_000);
});
