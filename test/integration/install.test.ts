// lsm install / uninstall into a root the test owns, and lsm watch coalescing a burst.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HOLDER, LSM, ROOT, World } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';
import { isIgnored, parseIgnoreRules } from '../../src/snapshot/ignore.js';

const lsm = (...args: string[]) => execFileSync(process.execPath, [LSM, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' });
/** Run a shell script in a private mount namespace where ROOT's /usr/local is the system's, and the clone is gone. */
const inImage = (root: string, script: string) => run('unshare', ['-m', 'sh', '-c',
  `mount --make-rprivate / && mount --bind ${root}/usr/local /usr/local && mount -t tmpfs none ${ROOT} && ${script}`]);
const tree = (dir: string): Record<string, string> => {
  const o: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isSymbolicLink()) o[p.slice(dir.length)] = `-> ${readlinkSync(p)}`;
      else if (e.isDirectory()) walk(p);
      else o[p.slice(dir.length)] = `${mode(p)} ${readFileSync(p, 'utf8')}`;
    }
  };
  walk(dir);
  return o;
};

/** Every entry under dir, directories too, with type, mode, owner, link target or bytes, mtime: "as it was" means this is equal. */
const listing = (dir: string): Record<string, string> => {
  const o: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const st = lstatSync(p);
      const what = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (e.isSymbolicLink()) o[p.slice(dir.length)] = `link ${what} -> ${readlinkSync(p)} ${st.mtimeMs}`;
      else if (e.isDirectory()) { o[p.slice(dir.length)] = `dir ${what}`; walk(p); }
      else o[p.slice(dir.length)] = `file ${what} ${st.mtimeMs} ${readFileSync(p, 'base64')}`;
    }
  };
  walk(dir);
  return o;
};

describe('lsm install', () => {
  it('installs a self-contained program with safe modes, that runs without the clone; uninstall reverses it', () => {
    const root = mkdtempSync(join(tmpdir(), 'lsm-root-'));
    // the command an older lsm install wrote (it ran the clone): replaced, not moved aside
    mkdirSync(`${root}/usr/local/sbin`, { recursive: true });
    writeFileSync(`${root}/usr/local/sbin/lsm`, `#!/bin/sh\n# lsm, installed by lsm install\nLSM_NODE='/usr/bin/node' exec '/tmp/lsm-clone/bin/lsm' "$@"\n`, { mode: 0o755 });
    const summary = lsm('install', '--root', root, '--schedule', 'cron');
    expect(summary).toContain(`schedule: ${root}/etc/cron.d/lsm: lsm -c every 10m`);
    expect(summary).not.toContain('moved');
    expect([mode(`${root}/etc/lsm`), mode(`${root}/etc/lsm/lsm.conf`), mode(`${root}/var/lib/lsm`), mode(`${root}/var/lib/lsm/spool`),
      mode(`${root}/var/log/lsm`), mode(`${root}/usr/local/sbin/lsm`), mode(`${root}/etc/cron.d/lsm`), mode(`${root}/var/lib`),
      mode(`${root}/usr/local/lib/lsm`), mode(`${root}/usr/local/share/man/man8/lsm.8`), mode(`${root}/etc/logrotate.d/lsm`)])
      .toEqual(['755', '600', '700', '700', '750', '755', '644', '755', '755', '644', '644']);
    expect(readFileSync(`${root}/etc/cron.d/lsm`, 'utf8')).toMatch(/^\*\/10 \* \* \* \* root \/usr\/local\/sbin\/lsm -c >\/dev\/null$/m);
    // the command names the program by its path in the installed system: nothing of the clone or of --root
    const cmd = readFileSync(`${root}/usr/local/sbin/lsm`, 'utf8');
    expect(cmd).toContain(`LSM_NODE='${process.execPath}' exec /usr/local/lib/lsm/bin/lsm "$@"`);
    expect(cmd).not.toContain(ROOT);
    expect(cmd).not.toContain(root);
    // production code only: no TypeScript, no test runner, no sources
    const lib = `${root}/usr/local/lib/lsm`;
    expect(existsSync(`${lib}/dist/cli/main.js`) && existsSync(`${lib}/node_modules/isomorphic-git/package.json`)).toBe(true);
    // the netlink reader, where node-gyp built one (npm ci does), goes with it
    expect(existsSync(`${lib}/build/Release/sockdiag.node`)).toBe(existsSync(join(ROOT, 'build/Release/sockdiag.node')));
    for (const dev of ['node_modules/typescript', 'node_modules/vitest', 'node_modules/smtp-server', 'src', 'test']) expect(existsSync(join(lib, dev))).toBe(false);
    expect(summary).toMatch(new RegExp(`^lsm installed in ${root}/usr/local/lib/lsm \\((\\d+\\.\\d) MiB\\)$`, 'm'));
    expect(Number(/\((\d+\.\d) MiB\)/.exec(summary)![1])).toBeLessThan(20);
    // with the clone hidden and the image's /usr/local as the system's, the command runs, every module loads
    const r = inImage(root, `/usr/local/sbin/lsm --version && /usr/local/sbin/lsm config --config ${root}/etc/lsm/lsm.conf >/dev/null && /usr/local/sbin/lsm status --help >/dev/null && ls ${ROOT} | wc -l`);
    expect([r.status, r.stderr, r.stdout]).toEqual([0, '', '0.1.0\n0\n']);
    // the default config is every key commented out, and lsm reads it
    const conf = readFileSync(`${root}/etc/lsm/lsm.conf`, 'utf8');
    expect(conf).toMatch(/^#USER="root"$/m);
    expect(conf).toMatch(/^#SUB="LSM Port Monitor Alert on \$HOSTNAME"$/m);
    expect(lsm('config', '--config', `${root}/etc/lsm/lsm.conf`)).toMatch(/^USER="root"  # default$/m);
    expect(readFileSync(`${root}/etc/logrotate.d/lsm`, 'utf8')).toMatch(/^\/var\/log\/lsm\/events\.jsonl \{$/m);

    // an admin's config is never overwritten; a second install changes nothing else
    writeFileSync(`${root}/etc/lsm/lsm.conf`, 'USER="admin@example.org"\nINTERVAL="5m"\n');
    lsm('install', '--root', root, '--schedule', 'systemd');
    expect(readFileSync(`${root}/etc/lsm/lsm.conf`, 'utf8')).toBe('USER="admin@example.org"\nINTERVAL="5m"\n');
    const timer = readFileSync(`${root}/etc/systemd/system/lsm.timer`, 'utf8');
    expect(timer).toMatch(/^OnCalendar=\*-\*-\* \*:0\/5:00$/m);
    expect(timer).toMatch(/^Persistent=true$/m);
    expect(timer).not.toMatch(/OnUnitActiveSec|OnBootSec/);
    expect(readFileSync(`${root}/etc/systemd/system/lsm.service`, 'utf8')).toMatch(/^ExecStart=\/usr\/local\/sbin\/lsm -c --quiet$/m);

    const un = lsm('uninstall', '--root', root);
    expect(un).toContain(`removed ${root}/etc/cron.d/lsm`);
    for (const f of ['etc/cron.d/lsm', 'etc/systemd/system/lsm.timer', 'etc/systemd/system/lsm.service', 'usr/local/sbin/lsm', 'usr/local/lib/lsm', 'usr/local/share/man/man8/lsm.8', 'etc/logrotate.d/lsm']) expect(existsSync(join(root, f))).toBe(false);
    expect(existsSync(`${root}/etc/lsm/lsm.conf`)).toBe(true);
    // the history is the audit trail: --purge alone is refused, and nothing is deleted
    const refused = spawnSync(process.execPath, [LSM, 'uninstall', '--root', root, '--purge'], { encoding: 'utf8' });
    expect([refused.status, refused.stderr]).toEqual([2, `lsm: --purge deletes ${root}/etc/lsm, ${root}/var/lib/lsm (the history) and ${root}/var/log/lsm: add --yes to confirm\n`]);
    expect(existsSync(`${root}/var/lib/lsm`)).toBe(true);
    lsm('uninstall', '--root', root, '--purge', '--yes');
    expect(existsSync(`${root}/var/lib/lsm`)).toBe(false);
  }, 180_000); // copies the program more than once: slow on a loaded machine

  it('the systemd unit is hardened (systemd-analyze security <= 4.0, with SMTP and with sendmail) and verifies clean', () => {
    for (const conf of ['SMTP_URL="smtp://mail.example.org:587"\n', 'SENDMAIL="/usr/sbin/sendmail"\n']) {
      const root = mkdtempSync(join(tmpdir(), 'lsm-root-'));
      mkdirSync(`${root}/etc/lsm`, { recursive: true });
      writeFileSync(`${root}/etc/lsm/lsm.conf`, conf, { mode: 0o600 });
      lsm('install', '--root', root, '--schedule', 'systemd');
      const unit = `${root}/etc/systemd/system/lsm.service`;
      const text = readFileSync(unit, 'utf8');
      for (const line of [/^ProtectSystem=strict$/m, /^ReadWritePaths=-\/var\/lib\/lsm -\/var\/log\/lsm$/m, /^CapabilityBoundingSet=CAP_SYS_PTRACE CAP_DAC_READ_SEARCH CAP_SYS_ADMIN CAP_NET_ADMIN$/m, /^RestrictNamespaces=net$/m,
        /^NoNewPrivileges=yes$/m, /^RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK$/m, /^SystemCallFilter=@system-service$/m, /^SystemCallFilter=pidfd_getfd$/m, /^UMask=0077$/m, /^TimeoutStartSec=/m]) expect(text).toMatch(line);
      const sec = run('systemd-analyze', ['security', '--offline=true', unit]);
      const level = Number(/Overall exposure level for lsm\.service: ([\d.]+)/.exec(sec.stdout)?.[1]);
      expect(level).toBeLessThanOrEqual(conf.startsWith('SMTP') ? 3.0 : 3.6); // measured with Debian 12's systemd 252 (CAP_NET_ADMIN and pidfd_getfd: +0.4)
      // verify: the command and the man page (section 8) as the installed system has them
      const v = inImage(root, `MANPATH=/usr/local/share/man:/usr/share/man systemd-analyze verify ${unit} ${root}/etc/systemd/system/lsm.timer`);
      expect([v.status, v.stderr]).toEqual([0, '']);
    }
    expect(run('systemd-analyze', ['calendar', '*-*-* *:0/10:00']).status).toBe(0);
  }, 180_000); // copies the program more than once: slow on a loaded machine

  it('refuses to write where another user could swap what root runs, before writing anything', () => {
    const root = mkdtempSync(join(tmpdir(), 'lsm-root-'));
    mkdirSync(`${root}/usr/local/sbin`, { recursive: true });
    chmodSync(`${root}/usr/local/sbin`, 0o777);
    const r = spawnSync(process.execPath, [LSM, 'install', '--root', root, '--schedule', 'none'], { encoding: 'utf8' });
    expect([r.status, r.stderr]).toEqual([77, `lsm: refusing unsafe install directory: ${root}/usr/local/sbin is writable by others (mode 777; chmod go-w ${root}/usr/local/sbin)\n`]);
    expect(readdirSync(root)).toEqual(['usr']);
  });

  it('install.sh wraps it, and a broken config is one line and exit 2', () => {
    const root = mkdtempSync(join(tmpdir(), 'lsm-root-'));
    const out = execFileSync('sh', [join(ROOT, 'install.sh'), '--root', root, '--schedule', 'none'], { encoding: 'utf8' });
    expect(out).toContain('schedule: none (run lsm -c yourself)');
    writeFileSync(`${root}/etc/lsm/lsm.conf`, 'INTERVAL="often"\n');
    let err = '';
    try { lsm('install', '--root', root); } catch (e) { err = (e as { stderr: string; status: number }).stderr + (e as { status: number }).status; }
    expect(err).toBe(`lsm: ${root}/etc/lsm/lsm.conf:1: INTERVAL must be a duration from 1m to 59m or whole hours up to 24h (10m, 30m, 1h, 2h), not 'often'\n2`);
  });

  it('migrates LSM 0.6: nothing written through its symlink, its cron entry moved aside, USER and SUB imported, every key accepted', () => {
    const root = mkdtempSync(join(tmpdir(), 'lsm-root-'));
    const old = `${root}/usr/local/lsm`;
    mkdirSync(`${old}/tmp`, { recursive: true });
    writeFileSync(`${old}/lsm`, '#!/bin/sh\n# LSM 0.6 [lsm@r-fx.org]\n. /usr/local/lsm/conf.lsm\necho lsm 0.6\n', { mode: 0o750 });
    writeFileSync(`${old}/conf.lsm`, [
      '#!/bin/sh', '# LSM 0.6 [lsm@r-fx.org]', 'INSPATH="/usr/local/lsm"', 'TMP="$INSPATH/tmp"',
      'USER="ops@example.org"    # Alert email addresses', 'SUB="Port alert on $HOSTNAME"', 'NSTAT=`which netstat`', 'MAIL="/bin/mail"', 'LSM_SOMETHING_ELSE="x"', '',
    ].join('\n'), { mode: 0o640 });
    writeFileSync(`${old}/tmp/.base.net`, 'tcp 0 0 0.0.0.0:22 0.0.0.0:* LISTEN 1/sshd\n');
    mkdirSync(`${root}/usr/local/sbin`, { recursive: true });
    symlinkSync('/usr/local/lsm/lsm', `${root}/usr/local/sbin/lsm`);
    mkdirSync(`${root}/etc/cron.d`, { recursive: true });
    writeFileSync(`${root}/etc/cron.d/lsm`, '*/10 * * * * root /usr/local/sbin/lsm -c >> /dev/null 2>&1\n', { mode: 0o644 });
    lchownSync(`${root}/etc/cron.d/lsm`, 0, 4); // owners as they were, not as lsm would make them
    lchownSync(`${root}/usr/local/sbin/lsm`, 0, 4);
    writeFileSync(`${old}/ignore.ports`, '# ports LSM 0.6 skipped\n25\nsmtp\n53/udp\n/run/x*y\n', { mode: 0o640 });
    writeFileSync(`${old}/ignore.inodes`, '123456\n', { mode: 0o640 });
    const before = tree(old);
    const lsm06Files = listing(root);

    const r = spawnSync(process.execPath, [LSM, 'install', '--root', root, '--schedule', 'cron'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const out = r.stdout;
    // LSM 0.6 is kept whole; what lsm's files replace is moved aside, each with a line saying so
    expect(tree(old)).toEqual(before);
    expect(out).toContain(`LSM 0.6 found in ${old}: migrating (it stays there as it is; remove it when you no longer need it)`);
    expect(out).toContain(`moved ${root}/usr/local/sbin/lsm (LSM 0.6's symlink to /usr/local/lsm/lsm) to ${root}/var/lib/lsm/replaced/usr/local/sbin/lsm`);
    expect(out).toContain(`moved ${root}/etc/cron.d/lsm (LSM 0.6's cron entry) to ${root}/var/lib/lsm/replaced/etc/cron.d/lsm`);
    expect(readlinkSync(`${root}/var/lib/lsm/replaced/usr/local/sbin/lsm`)).toBe('/usr/local/lsm/lsm');
    expect(readFileSync(`${root}/var/lib/lsm/replaced/etc/cron.d/lsm`, 'utf8')).toBe('*/10 * * * * root /usr/local/sbin/lsm -c >> /dev/null 2>&1\n');
    expect(lstatSync(`${root}/usr/local/sbin/lsm`).isFile()).toBe(true);
    expect(readFileSync(`${root}/etc/cron.d/lsm`, 'utf8')).toContain('/usr/local/sbin/lsm -c');
    // USER and SUB come over ($HOSTNAME still expanded by lsm); LSM 0.6's other keys are named, with why
    expect(out).toContain(`imported USER="ops@example.org" SUB="Port alert on $HOSTNAME" from ${old}/conf.lsm into ${root}/etc/lsm/lsm.conf`);
    expect(out).toContain("conf.lsm's NSTAT is ignored: lsm reads /proc itself and runs no netstat");
    expect(out).toContain("conf.lsm's LSM_SOMETHING_ELSE is ignored: not a key lsm knows");
    const config = lsm('config', '--config', `${root}/etc/lsm/lsm.conf`);
    expect(config).toMatch(new RegExp(`^USER="ops@example.org"  # ${root}/etc/lsm/lsm.conf:\\d+$`, 'm'));
    expect(config).toMatch(/^SUB="Port alert on \\\$HOSTNAME"  #/m); // expanded when read
    // the old conf.lsm itself is read as it is, every key accepted
    expect(lsm('config', '--config', `${old}/conf.lsm`)).toMatch(/^USER="ops@example.org"/m);
    // LSM 0.6's ignore files: ports and unix paths become lsm rules, the rest is named, one line a file
    expect(out).toContain(`imported 4 ignore rule(s) from ${old}/ignore.ports into ${root}/etc/lsm/ignore; lines 3 not imported: not a port (1-65535) or a unix socket path`);
    expect(out).toContain(`not imported ${old}/ignore.inodes (LSM 0.6's ignore file): socket inodes change each time a socket is opened`);
    const ignore = readFileSync(`${root}/etc/lsm/ignore`, 'utf8');
    expect(ignore).toContain(`# from ${old}/ignore.ports (LSM 0.6)\ntcp  *:25\nudp  *:25\nudp  *:53\nunix  /run/x\\*y\n`);
    // the imported rules, read as lsm reads them, drop what LSM 0.6 ignored and nothing else
    const rules = parseIgnoreRules(ignore, 'ignore');
    expect([['host/tcp', '0.0.0.0:25  exim4  Debian-exim  /usr/sbin/exim4'], ['netns/c1/udp', '[::]:53  named  bind  /usr/sbin/named'], ['host/unix', '/run/x*y  d  root  /usr/bin/d'],
      ['host/tcp', '0.0.0.0:125  x  root  /x'], ['host/tcp', '0.0.0.0:53  x  root  /x'], ['host/unix', '/run/xzy  d  root  /usr/bin/d']].map(([path, line]) => isIgnored(rules, path, line)))
      .toEqual([true, true, true, false, false, false]);
    // and uninstall leaves LSM 0.6 alone, and puts back its cron entry and symlink exactly as they were
    const un = lsm('uninstall', '--root', root);
    expect(tree(old)).toEqual(before);
    expect(un).toContain(`restored ${root}/usr/local/sbin/lsm (LSM 0.6's symlink to /usr/local/lsm/lsm)`);
    expect(un).toContain(`restored ${root}/etc/cron.d/lsm (LSM 0.6's cron entry: LSM 0.6 runs again)`);
    const now = listing(root);
    for (const f of ['/usr/local/sbin/lsm', '/etc/cron.d/lsm']) expect(now[f]).toBe(lsm06Files[f]);
    expect(existsSync(`${root}/var/lib/lsm/replaced`)).toBe(false);

    // purge never deletes another program's files: install again, purge, and the root is LSM 0.6's again
    expect(spawnSync(process.execPath, [LSM, 'install', '--root', root, '--schedule', 'cron'], { encoding: 'utf8' }).status).toBe(0);
    lsm('uninstall', '--root', root, '--purge', '--yes');
    const after = listing(root);
    // no file of lsm is left (only the directories install made around its files: /usr/local/lib, /var/log, ...)
    expect(Object.entries(after).filter(([k, v]) => !v.startsWith('dir ') && v !== lsm06Files[k])).toEqual([]);
    for (const [k, v] of Object.entries(lsm06Files)) if (!v.startsWith('dir ')) expect(after[k], k).toBe(v);
    for (const f of ['etc/lsm', 'var/lib/lsm', 'var/log/lsm', 'usr/local/lib/lsm', 'etc/logrotate.d/lsm', 'usr/local/share/man/man8/lsm.8']) expect(existsSync(join(root, f)), f).toBe(false);
  }, 300_000);

  it('purge keeps what cannot go back, and names the command that puts it back', () => {
    const root = mkdtempSync(join(tmpdir(), 'lsm-root-'));
    mkdirSync(`${root}/var/lib/lsm/replaced/etc/cron.d`, { recursive: true, mode: 0o700 });
    writeFileSync(`${root}/var/lib/lsm/replaced/etc/cron.d/lsm`, 'LSM 0.6\n', { mode: 0o644 });
    mkdirSync(`${root}/etc/cron.d`, { recursive: true });
    writeFileSync(`${root}/etc/cron.d/lsm`, 'someone else\n'); // not lsm's: stays, and LSM 0.6's cannot go back
    const r = spawnSync(process.execPath, [LSM, 'uninstall', '--root', root, '--purge', '--yes'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(`lsm: warning: kept ${root}/var/lib/lsm/replaced/etc/cron.d/lsm: ${root}/etc/cron.d/lsm is taken by another file now; to put it back: mv -f -T -- '${root}/var/lib/lsm/replaced/etc/cron.d/lsm' '${root}/etc/cron.d/lsm'\n`);
    expect(readFileSync(`${root}/var/lib/lsm/replaced/etc/cron.d/lsm`, 'utf8')).toBe('LSM 0.6\n');
    expect(readFileSync(`${root}/etc/cron.d/lsm`, 'utf8')).toBe('someone else\n');
    // the first moved aside goes back; a later one from the same place (~1~) is kept and named
    rmSync(`${root}/etc/cron.d/lsm`);
    writeFileSync(`${root}/var/lib/lsm/replaced/etc/cron.d/lsm~1~`, 'later\n');
    const again = spawnSync(process.execPath, [LSM, 'uninstall', '--root', root], { encoding: 'utf8' });
    expect(again.stdout).toContain(`restored ${root}/etc/cron.d/lsm (as it was)`);
    expect(again.stderr).toBe(`lsm: warning: kept ${root}/var/lib/lsm/replaced/etc/cron.d/lsm~1~: ${root}/etc/cron.d/lsm is taken by another file now; to put it back: mv -f -T -- '${root}/var/lib/lsm/replaced/etc/cron.d/lsm~1~' '${root}/etc/cron.d/lsm'\n`);
    expect(readFileSync(`${root}/etc/cron.d/lsm`, 'utf8')).toBe('LSM 0.6\n');
  });

  it('a refused install (--schedule systemd without systemd) leaves the root exactly as it was', () => {
    // the host's /etc, /var and /usr/local are a temporary root's here, and /run has no systemd
    const root = mkdtempSync(join(tmpdir(), 'lsm-root-'));
    for (const d of ['etc/cron.d', 'var/lib', 'usr/local/lsm', 'usr/local/sbin']) mkdirSync(join(root, d), { recursive: true, mode: 0o755 });
    chmodSync(root, 0o755);
    writeFileSync(`${root}/usr/local/lsm/conf.lsm`, 'USER="ops@example.org"\n', { mode: 0o640 });
    writeFileSync(`${root}/usr/local/lsm/ignore.ports`, '25\n', { mode: 0o640 });
    symlinkSync('/usr/local/lsm/lsm', `${root}/usr/local/sbin/lsm`);
    writeFileSync(`${root}/etc/cron.d/lsm`, '*/10 * * * * root /usr/local/sbin/lsm -c\n', { mode: 0o644 });
    const before = listing(root);
    const { NODE_EXTRA_CA_CERTS: _certs, ...env } = process.env; // under /etc, which is the empty root's here
    const r = spawnSync('unshare', ['-m', 'sh', '-c', `mount --make-rprivate / && for d in etc var usr/local; do mount --bind ${root}/$d /$d || exit 9; done && mount -t tmpfs none /run && exec ${process.execPath} ${LSM} install --schedule systemd`], { encoding: 'utf8', env });
    expect([r.status, r.stderr]).toEqual([2, 'lsm: --schedule systemd: systemd is not running on this machine (use --schedule cron)\n']);
    expect(listing(root)).toEqual(before);
  }); // copies the program more than once: slow on a loaded machine
});

describe('lsm install in a world of its own', () => {
  let world: World;
  const pids: number[] = [];
  beforeAll(async () => { world = await World.start(); });
  afterAll(async () => { for (const p of pids) await world.kill(p); await world?.stop(); });

  it('an upgrade keeps config, history, spool and the approved baseline, even with drift', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lsm-root-'));
    const conf = testConfig(`${root}/etc/lsm`, { SPOOL_DIR: `${root}/var/lib/lsm/spool`, EVENT_LOG: `${root}/var/log/lsm/events.jsonl` });
    expect(conf).toBe(`${root}/etc/lsm/lsm.conf`);
    const repo = `${root}/var/lib/lsm/snapshots`;
    const first = await world.lsm(['install', '--root', root, '--schedule', 'none', '--baseline']);
    expect(first.code).toBe(0);
    const baseline = readFileSync(`${repo}/.git/refs/lsm/baseline`, 'utf8');
    pids.push((await world.hold([{ kind: 'tcp4', addr: '127.0.0.1', port: 7411 }], 'drifter')).pid);
    expect((await world.lsm(['-c', '--repo', repo, '--config', conf])).code).toBe(0);
    expect((await world.lsm(['drift', '--exit-code', '--repo', repo, '--config', conf])).code).toBe(3);
    const spool = readdirSync(`${root}/var/lib/lsm/spool`).sort();
    expect(spool.some((f) => f.endsWith('.json'))).toBe(true); // no mail configured: the alert waits
    const confText = readFileSync(conf, 'utf8');
    const head = execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' });

    const again = await world.lsm(['install', '--root', root, '--schedule', 'none', '--baseline']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`  baseline  ${baseline.slice(0, 8)} kept (lsm drift shows what changed since; lsm -g approves)`);
    expect(readFileSync(`${repo}/.git/refs/lsm/baseline`, 'utf8')).toBe(baseline);
    expect(readFileSync(`${repo}/.git/logs/refs/lsm/baseline`, 'utf8').trim().split('\n')).toHaveLength(1);
    expect((await world.lsm(['drift', '--exit-code', '--repo', repo, '--config', conf])).code).toBe(3);
    expect(readdirSync(`${root}/var/lib/lsm/spool`).sort()).toEqual(spool);
    expect(readFileSync(conf, 'utf8')).toBe(confText);
    expect(execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' })).toBe(head);
    expect(execFileSync('git', ['-C', repo, 'fsck', '--strict'], { encoding: 'utf8' })).toBe('');
  }, 180_000); // copies the program more than once: slow on a loaded machine

  it('says so when no cron daemon runs, and not when one does', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lsm-root-'));
    const none = await world.lsm(['install', '--root', root, '--schedule', 'cron']);
    expect(none.code).toBe(0);
    expect(none.stderr).toBe(`lsm: warning: no cron daemon is running here: nothing will run ${root}/etc/cron.d/lsm until one does (apt-get install cron; an image must start one, or lsm install --schedule systemd)\n`);
    expect(none.stdout).toContain('(NO CRON DAEMON RUNNING)');
    const cron = (await world.hold([], 'cron')).pid;
    pids.push(cron);
    const some = await world.lsm(['install', '--root', root, '--schedule', 'cron']);
    expect([some.code, some.stderr]).toEqual([0, '']);
    expect(some.stdout).toContain(`schedule: ${root}/etc/cron.d/lsm: lsm -c every 10m\n`);
  });
});

describe('the package', () => {
  it('npm pack ships built code and no sources; prepare builds dist/ from production dependencies only', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.prepack).toBe('npm run build');
    // npm ci --omit=dev in a clone: prepare builds dist/ with the typescript in dependencies, without
    // the @types of devDependencies (a clone with node_modules holding typescript alone)
    expect(Object.keys(pkg.dependencies)).toContain('typescript');
    const bare = mkdtempSync(join(tmpdir(), 'lsm-prepare-'));
    cpSync(join(ROOT, 'src'), join(bare, 'src'), { recursive: true });
    cpSync(join(ROOT, 'tsconfig.json'), join(bare, 'tsconfig.json'));
    mkdirSync(join(bare, 'node_modules', '.bin'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', 'typescript'), join(bare, 'node_modules', 'typescript'));
    symlinkSync('../typescript/bin/tsc', join(bare, 'node_modules', '.bin', 'tsc'));
    const prepared = spawnSync('sh', ['-c', pkg.scripts.prepare], { cwd: bare, encoding: 'utf8', env: { PATH: `${join(bare, 'node_modules', '.bin')}:${dirname(process.execPath)}:/usr/bin:/bin` } });
    expect(prepared.status, prepared.stdout + prepared.stderr).toBe(0);
    expect(existsSync(join(bare, 'dist', 'cli', 'main.js'))).toBe(true);
    rmSync(bare, { recursive: true, force: true });
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const files: string[] = JSON.parse(r.stdout)[0].files.map((f: { path: string }) => f.path);
    for (const f of ['dist/cli/main.js', 'bin/lsm', 'docs/lsm.8', 'hooks/systemd/lsm.service', 'hooks/logrotate.d/lsm', 'install.sh']) expect(files).toContain(f);
    // sources only where npm install builds from them: the netlink and BPF readers' C for node-gyp
    expect(files).toContain('binding.gyp');
    expect(files.filter((f) => /^(src|test|bench)\//.test(f) || f.endsWith('.ts')).sort()).toEqual(['src/collect/bpf/owners.c', 'src/collect/bpf/owners.h', 'src/collect/netlink/sockdiag.c']);
  }, 300_000); // npm pack runs tsc (prepare): 48 s alone at load ~20, past the 60 s default

  it('the benchmark needs only the repository\'s own files', () => {
    for (const f of readdirSync(join(ROOT, 'bench')).filter((n) => n.endsWith('.mjs'))) {
      const text = readFileSync(join(ROOT, 'bench', f), 'utf8');
      const refs = [...text.matchAll(/new URL\('([^']+)', import\.meta\.url\)|from '(\.{1,2}\/[^']+)'/g)].map((m) => m[1] ?? m[2]);
      for (const ref of refs) {
        const target = join(ROOT, 'bench', ref);
        expect(target.startsWith(ROOT + '/'), `${f}: ${ref}`).toBe(true);
        if (!ref.endsWith('/') && ref !== '.') expect(existsSync(target), `${f}: ${ref}`).toBe(true);
      }
    }
  });
});

describe('lsm watch', () => {
  let world: World;
  let tmp: string;
  const pids: number[] = [];
  beforeAll(async () => { world = await World.start(); tmp = mkdtempSync(join(tmpdir(), 'lsm-watch-')); });
  afterAll(async () => { for (const p of pids) await world.kill(p); await world?.stop(); });

  it('commits each change of a burst, and alerts its head at once and each change once', async () => {
    const etc = join(tmp, 'etc');
    world.defaults = { LSM_CONFIG: testConfig(etc) };
    const repo = join(tmp, 'repo');
    expect((await world.lsm(['scan', '--repo', repo])).code).toBe(0);
    const watch = await world.spawn(['sh', '-c', `echo started; exec ${process.execPath} ${LSM} watch --interval 3s --count 6 --repo ${repo} > ${join(tmp, 'watch.out')} 2>&1`], world.defaults);
    const seen = async (text: string) => {
      for (let i = 0; i < 300; i++) {
        if (existsSync(join(tmp, 'watch.out')) && readFileSync(join(tmp, 'watch.out'), 'utf8').includes(text)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`watch never printed ${text}`);
    };
    const holder = (await world.spawn(['python3', HOLDER, JSON.stringify({ comm: 'burst', sockets: [{ kind: 'tcp4', addr: '127.0.0.1', port: 7001 }], later: [{ kind: 'tcp4', addr: '127.0.0.1', port: 7002 }] })])).pid;
    pids.push(holder);
    // the second socket comes as soon as watch committed the first (SIGUSR1: no process start in
    // between), well within one interval: the same burst
    await seen('127.0.0.1:7001');
    expect((await world.run(['kill', '-USR1', String(holder)])).code).toBe(0);
    // watch exits by itself after 6 scans
    for (let i = 0; i < 600 && (await world.run(['kill', '-0', String(watch.pid)])).code === 0; i++) await new Promise((r) => setTimeout(r, 100));
    const log = execFileSync('git', ['-C', repo, 'log', '--format=%s'], { encoding: 'utf8' }).trim().split('\n');
    // each scan that saw a change committed it (one or two commits, as the scans fell), on top of the first
    const changes = log.slice(0, -1);
    expect(log.at(-1)).toMatch(/^first snapshot /);
    expect(changes.length === 1 || changes.length === 2).toBe(true);
    expect(changes.every((s) => /^\+[12] -0: host\/tcp \+[12]$/.test(s))).toBe(true);
    expect(changes.reduce((n, s) => n + Number(/^\+(\d)/.exec(s)![1]), 0)).toBe(2); // both sockets, each once
    // the head of the burst (7001) is alerted as soon as it is committed; 7002, made after that
    // commit, in the next alert: each socket in exactly one
    const events = readFileSync(join(etc, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const alerted = events.map((e) => e.added.map((a: { line: string }) => a.line.split('  ')[0]));
    expect(alerted[0]).toEqual(['127.0.0.1:7001']);
    expect(alerted.flat().sort()).toEqual(['127.0.0.1:7001', '127.0.0.1:7002']);
  });
});
