// The Debian package, for real: built once by scripts/deb.mjs (what `npm run deb` runs), read back
// with dpkg-deb, checked by lintian, then installed with apt-get, run, removed and purged inside a
// copy of this machine that vanishes with the test. The copy: an overlay whose lower layer is / and
// whose upper layer is a tmpfs the test mounts, made inside `unshare --mount` (the overlay and the
// /proc and /dev bind mounts exist only in that namespace) and entered with chroot. Every write of
// dpkg, apt, the maintainer scripts and lsm lands in the tmpfs; /proc is the real one, so lsm scans
// this host's sockets. The host's dpkg database and every path the package owns are compared
// before and after.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, LSM } from '../helpers/world.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
const VERSION = `${pkg.version}-1`;
const CONFFILES = ['/etc/lsm/lsm.conf', '/etc/lsm/ignore', '/etc/cron.d/lsm', '/etc/logrotate.d/lsm'];
/** Every path the package or its scripts write on a host: none may change on the test machine. */
const HOST_PATHS = ['/usr/lib/lsm', '/usr/sbin/lsm', '/usr/share/man/man8/lsm.8.gz', '/usr/share/doc/lsm', '/usr/share/lintian/overrides/lsm',
  '/etc/lsm', '/etc/cron.d/lsm', '/etc/logrotate.d/lsm', '/var/lib/lsm', '/var/log/lsm', '/var/lib/dpkg/info/lsm.list'];
const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

let tmp = '';
let ws = '';
let deb = '';
let probe: Server;
let probePath = '';
let lintian: Promise<{ code: number | null; out: string; ms: number }>;
let hostBefore = '';

/** What the host has at the package's paths (type, mode, size, content hash) and whether dpkg knows lsm. */
function hostState(): string {
  const lines = HOST_PATHS.map((p) => {
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st) return `${p} absent`;
    const hash = st.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex') : st.isDirectory() ? readdirSync(p).sort().join(',') : '';
    return `${p} ${st.mode.toString(8)} ${st.size} ${hash}`;
  });
  const status = readFileSync('/var/lib/dpkg/status', 'utf8');
  lines.push(`dpkg status: ${/^Package: lsm$/m.test(status) ? 'knows lsm' : 'no lsm'}`);
  return lines.join('\n');
}

/** A shell script run as root inside the throw-away copy of this machine. */
function inCopy(script: string) {
  const merged = join(ws, 'merged');
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `set -e
mount -t overlay overlay -o lowerdir=/,upperdir=${ws}/upper,workdir=${ws}/work ${merged}
mount --rbind /proc ${merged}/proc
mount --rbind /dev ${merged}/dev
exec chroot ${merged} /bin/sh -c ${shq(script)}`], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', DEBIAN_FRONTEND: 'noninteractive', NO_COLOR: '1', LANG: 'C.UTF-8' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** present/absent for each path inside the copy, one line each. */
const presence = (paths: string[]) => inCopy(paths.map((p) => `if [ -e ${shq(p)} ]; then echo "${p} present"; else echo "${p} absent"; fi`).join('\n')).out.trim().split('\n');

beforeAll(async () => {
  hostBefore = hostState();
  tmp = mkdtempSync(join(tmpdir(), 'lsm-deb-test-'));
  const t0 = Date.now();
  const built = execFileSync(process.execPath, [join(ROOT, 'scripts', 'deb.mjs'), '--out', tmp], { encoding: 'utf8' }).trim();
  process.stderr.write(`deb.test: package built in ${Date.now() - t0} ms\n`);
  deb = join(tmp, `lsm_${VERSION}_${arch}.deb`);
  expect(built).toBe(deb);
  // lintian reads the package for ~30 s: it runs while the package is installed and run below
  const l0 = Date.now();
  lintian = new Promise((resolve) => {
    const child = spawn('lintian', ['--display-level', '>=warning', deb], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('close', (code) => resolve({ code, out, ms: Date.now() - l0 }));
  });
  ws = join(tmp, 'ws');
  mkdirSync(ws);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256m,mode=0755', 'lsm-deb-test', ws]);
  for (const d of ['upper', 'work', 'merged']) mkdirSync(join(ws, d));
  // a named unix socket this test listens on (no traffic): the installed lsm must record it
  probePath = join(tmp, 'probe.sock');
  probe = createServer();
  await new Promise<void>((resolve) => probe.listen(probePath, resolve));
}, 300_000);

afterAll(async () => {
  await lintian?.catch(() => undefined);
  await new Promise((resolve) => (probe ? probe.close(resolve) : resolve(undefined)));
  if (ws) spawnSync('umount', [ws]);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the Debian package', () => {
  it('is lsm_<version>_<arch>.deb with the control fields, conffiles and production files only', () => {
    const info = execFileSync('dpkg-deb', ['--info', deb], { encoding: 'utf8' });
    const field = (name: string) => new RegExp(`^ ${name}: (.*)$`, 'm').exec(info)?.[1];
    expect(field('Package')).toBe('lsm');
    expect(field('Version')).toBe(VERSION);
    expect(field('Architecture')).toBe(arch);
    expect(field('Depends')).toMatch(/^nodejs \(>= 20\), libc6 \(>= [\d.]+\)$/);
    expect(execFileSync('dpkg-deb', ['--ctrl-tarfile', deb]).length).toBeGreaterThan(0);
    const conffiles = execFileSync('sh', ['-c', `dpkg-deb --ctrl-tarfile ${shq(deb)} | tar -xOf - ./conffiles`], { encoding: 'utf8' });
    expect(conffiles.trim().split('\n').sort()).toEqual([...CONFFILES].sort());

    const contents = execFileSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8' }).trim().split('\n');
    const entries = new Map(contents.map((l) => {
      const [perm, owner, , , , ...rest] = l.split(/\s+/);
      return [rest.join(' ').replace(/^\./, '').replace(/\/$/, '').replace(/ -> .*/, ''), `${perm} ${owner}`];
    }));
    expect(new Set([...entries.values()].map((v) => v.split(' ')[1]))).toEqual(new Set(['root/root']));
    for (const [path, perm] of [['/usr/sbin/lsm', '-rwxr-xr-x'], ['/usr/lib/lsm/bin/lsm', '-rwxr-xr-x'], ['/usr/lib/lsm/dist/cli/main.js', '-rwxr-xr-x'],
      ['/usr/lib/lsm/build/Release/sockdiag.node', '-rw-r--r--'], ['/usr/lib/lsm/package.json', '-rw-r--r--'], ['/usr/lib/lsm/node_modules/isomorphic-git/package.json', '-rw-r--r--'],
      ['/usr/lib/lsm/hooks/examples/50-webhook', '-rwxr-xr-x'], ['/usr/share/man/man8/lsm.8.gz', '-rw-r--r--'], ['/usr/share/doc/lsm/copyright', '-rw-r--r--'],
      ['/usr/share/doc/lsm/changelog.Debian.gz', '-rw-r--r--'], ['/etc/lsm/lsm.conf', '-rw-------'], ['/etc/lsm/ignore', '-rw-r--r--'],
      ['/etc/cron.d/lsm', '-rw-r--r--'], ['/etc/logrotate.d/lsm', '-rw-r--r--']]) expect([path, entries.get(path)]).toEqual([path, `${perm} root/root`]);
    // production only: no sources, tests, dev dependencies (typescript is in dependencies only to build dist/), dotfiles
    const paths = [...entries.keys()];
    expect(paths.filter((p) => /\/lsm\/(src|test|bench|node_modules\/(typescript|vitest|@types|@stryker-mutator|mailparser|smtp-server))(\/|$)|\/\.[^/]+$|\.ts$/.test(p) && !p.endsWith('.d.ts'))).toEqual([]);
    expect(paths.some((p) => p.startsWith('/usr/local'))).toBe(false);
  });

  it('holds what `lsm install` writes: the same program files, and the same cron, logrotate, ignore and config texts', () => {
    const root = join(tmp, 'install-root');
    mkdirSync(root);
    execFileSync(process.execPath, [LSM, 'install', '--root', root, '--schedule', 'cron', '--no-baseline'], { encoding: 'utf8' });
    const x = join(tmp, 'x');
    execFileSync('dpkg-deb', ['-x', deb, x]);
    const files = (dir: string): string[] => {
      const out: string[] = [];
      const walk = (d: string) => { for (const e of readdirSync(d, { withFileTypes: true })) { if (e.isDirectory()) walk(join(d, e.name)); else out.push(join(d, e.name).slice(dir.length)); } };
      walk(dir);
      return out.filter((p) => !/(^|\/)\./.test(p)).sort(); // the package leaves out dotfiles (npm's .eslintrc, dist's build stamp)
    };
    expect(files(join(x, 'usr/lib/lsm'))).toEqual(files(join(root, 'usr/local/lib/lsm')));
    const read = (r: string, p: string) => readFileSync(join(r, p), 'utf8');
    // the same entry, and it stays quiet once `apt remove` took the command (the entry is a conffile)
    expect(read(x, 'etc/cron.d/lsm')).toBe(read(root, 'etc/cron.d/lsm').replace('root /usr/local/sbin/lsm', 'root [ ! -x /usr/sbin/lsm ] || /usr/sbin/lsm'));
    expect(read(x, 'etc/cron.d/lsm')).toMatch(/^\*\/10 \* \* \* \* root \[ ! -x \/usr\/sbin\/lsm \] \|\| \/usr\/sbin\/lsm -c >\/dev\/null$/m);
    expect(read(x, 'etc/logrotate.d/lsm')).toBe(read(root, 'etc/logrotate.d/lsm'));
    expect(read(x, 'etc/lsm/ignore')).toBe(read(root, 'etc/lsm/ignore'));
    expect(read(x, 'usr/sbin/lsm')).toBe(read(root, 'usr/local/sbin/lsm').replaceAll('/usr/local/lib/lsm', '/usr/lib/lsm').replace(/LSM_NODE='[^']*'/, "LSM_NODE='/usr/bin/node'"));
    // the config: install's text, except the two defaults that name the building machine
    const hostDependent = /^#(HOST_ID|SENDMAIL)=/;
    const conf = (r: string) => read(r, 'etc/lsm/lsm.conf').split('\n');
    expect(conf(x).filter((l) => !hostDependent.test(l))).toEqual(conf(root).filter((l) => !hostDependent.test(l)));
    expect(conf(x).filter((l) => hostDependent.test(l))).toEqual(['#SENDMAIL="<the first of /usr/sbin/sendmail, /usr/lib/sendmail that exists>"', `#HOST_ID="<this host's name>"`]);
  });

  it('installs with apt-get, runs on the real /proc, and dpkg knows its conffiles', () => {
    // man-db's trigger would rebuild the whole man database of the copy: turned off there only
    const inst = inCopy(`rm -f /var/lib/man-db/auto-update; apt-get install -y --no-install-recommends ${shq(deb)}`);
    expect(inst.code, inst.err).toBe(0);
    expect(inCopy("dpkg-query -W -f='${Status} ${Version}' lsm").out).toBe(`install ok installed ${VERSION}`);
    const conf = inCopy("dpkg-query -W -f='${Conffiles}' lsm").out.trim().split('\n').map((l) => l.trim().split(' ')[0]);
    expect(conf.sort()).toEqual([...CONFFILES].sort());
    // postinst made install's directories with install's modes
    expect(inCopy('stat -c "%n %a %U" /etc/lsm /etc/lsm/hooks.d /var/lib/lsm /var/lib/lsm/spool /var/log/lsm /etc/lsm/lsm.conf').out.trim().split('\n'))
      .toEqual(['/etc/lsm 755 root', '/etc/lsm/hooks.d 755 root', '/var/lib/lsm 700 root', '/var/lib/lsm/spool 700 root', '/var/log/lsm 750 root', '/etc/lsm/lsm.conf 600 root']);
    // configure again (dpkg-reconfigure, an interrupted upgrade): idempotent
    expect(inCopy('/var/lib/dpkg/info/lsm.postinst configure 0.1.0-1').code).toBe(0);

    // the installed command, as cron runs it (cron's PATH, no node on it beyond /usr/bin)
    const check = inCopy('cd / && env -i PATH=/usr/bin:/bin /usr/sbin/lsm -c >/dev/null; echo "exit $?"; lsm --version; cat /var/lib/lsm/snapshots/host/unix');
    const [exit, version, ...snapshot] = check.out.split('\n');
    expect([exit, version], check.err).toEqual(['exit 0', pkg.version]);
    expect(snapshot.filter((l) => l.includes(probePath)), check.err).toHaveLength(1); // this test's socket, committed
    // the netlink reader in the package loads in the node the package depends on
    expect(inCopy(`node -e "require('/usr/lib/lsm/build/Release/sockdiag.node'); console.log('loaded')"`).out.trim()).toBe('loaded');
  }, 120_000);

  it('an upgrade, then dpkg -r, keep config (an admin\'s edit too) and history; dpkg -P removes them', () => {
    expect(inCopy('echo "# an administrator\'s edit" >> /etc/lsm/lsm.conf').code).toBe(0);
    // an upgrade (the same version again runs the same scripts: postrm upgrade, postinst configure OLD)
    const upgraded = inCopy(`dpkg -i ${shq(deb)} >/dev/null && tail -1 /etc/lsm/lsm.conf && ls /var/lib/lsm/snapshots/host`);
    expect(upgraded.code, upgraded.err).toBe(0);
    expect(upgraded.out).toMatch(/^# an administrator's edit\n(.*\n)*unix\n/);
    const removed = inCopy('dpkg -r lsm');
    expect(removed.code, removed.err).toBe(0);
    expect(inCopy("dpkg-query -W -f='${Status}' lsm").out).toBe('deinstall ok config-files');
    expect(presence(['/usr/lib/lsm', '/usr/sbin/lsm', '/usr/share/man/man8/lsm.8.gz', '/etc/lsm/lsm.conf', '/etc/cron.d/lsm', '/etc/logrotate.d/lsm', '/var/lib/lsm/snapshots/.git', '/var/lib/lsm/spool']))
      .toEqual(['/usr/lib/lsm absent', '/usr/sbin/lsm absent', '/usr/share/man/man8/lsm.8.gz absent', '/etc/lsm/lsm.conf present', '/etc/cron.d/lsm present', '/etc/logrotate.d/lsm present', '/var/lib/lsm/snapshots/.git present', '/var/lib/lsm/spool present']);
    expect(inCopy('tail -1 /etc/lsm/lsm.conf').out.trim()).toBe("# an administrator's edit");
    // the cron entry left behind runs quietly: cron mails any output, every 10 minutes
    const cronJob = inCopy("sed -n 's/^[^#]* root //p' /etc/cron.d/lsm | sh");
    expect([cronJob.code, cronJob.out, cronJob.err]).toEqual([0, '', '']);

    const purged = inCopy('dpkg -P lsm');
    expect(purged.code, purged.err).toBe(0);
    expect(inCopy('dpkg-query -W lsm 2>/dev/null; echo "known $?"').out.trim()).toBe('known 1');
    expect(presence(['/etc/lsm', '/etc/cron.d/lsm', '/etc/logrotate.d/lsm', '/var/lib/lsm', '/var/log/lsm', '/usr/share/doc/lsm']))
      .toEqual(['/etc/lsm absent', '/etc/cron.d/lsm absent', '/etc/logrotate.d/lsm absent', '/var/lib/lsm absent', '/var/log/lsm absent', '/usr/share/doc/lsm absent']);
  }, 120_000);

  it('lintian finds no errors', async () => {
    const l = await lintian;
    process.stderr.write(`deb.test: lintian took ${l.ms} ms\n`);
    expect(l.out.split('\n').filter((line) => /^E: /.test(line))).toEqual([]);
    expect(l.code, l.out).toBe(0);
  }, 120_000);

  it('left the test machine as it was', () => {
    expect(existsSync(join(ws, 'upper'))).toBe(true); // the copy's writes are all in the tmpfs
    expect(hostState()).toBe(hostBefore);
  });
});
