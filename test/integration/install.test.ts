// lsm install / uninstall into a root the test owns, and lsm watch coalescing a burst.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LSM, ROOT, World } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

const lsm = (...args: string[]) => execFileSync(process.execPath, [LSM, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

describe('lsm install', () => {
  it('writes the files a system install needs, with safe modes, and uninstall reverses it', () => {
    const root = mkdtempSync(join(tmpdir(), 'lsm-root-'));
    const summary = lsm('install', '--root', root, '--schedule', 'cron');
    expect(summary).toContain(`schedule  ${root}/etc/cron.d/lsm: lsm -c every 10m`);
    expect([mode(`${root}/etc/lsm`), mode(`${root}/etc/lsm/lsm.conf`), mode(`${root}/var/lib/lsm`), mode(`${root}/var/lib/lsm/spool`),
      mode(`${root}/var/log/lsm`), mode(`${root}/usr/local/sbin/lsm`), mode(`${root}/etc/cron.d/lsm`), mode(`${root}/var/lib`)])
      .toEqual(['755', '600', '700', '700', '750', '755', '644', '755']);
    expect(readFileSync(`${root}/etc/cron.d/lsm`, 'utf8')).toMatch(/^\*\/10 \* \* \* \* root \/usr\/local\/sbin\/lsm -c >\/dev\/null$/m);
    // the installed command runs this lsm
    const cmd = readFileSync(`${root}/usr/local/sbin/lsm`, 'utf8');
    expect(cmd).toContain(`LSM_NODE='${process.execPath}' exec '${join(ROOT, 'bin', 'lsm')}' "$@"`);
    expect(execFileSync(`${root}/usr/local/sbin/lsm`, ['--version'], { encoding: 'utf8' })).toMatch(/^\d+\.\d+\.\d+\n$/);
    // the default config is every key commented out, and lsm reads it
    const conf = readFileSync(`${root}/etc/lsm/lsm.conf`, 'utf8');
    expect(conf).toMatch(/^#USER="root"$/m);
    expect(conf).toMatch(/^#SUB="LSM Port Monitor Alert on \$HOSTNAME"$/m);
    expect(lsm('config', '--config', `${root}/etc/lsm/lsm.conf`)).toMatch(/^USER="root"  # default$/m);

    // an admin's config is never overwritten; a second install changes nothing else
    writeFileSync(`${root}/etc/lsm/lsm.conf`, 'USER="admin@example.org"\nINTERVAL="5m"\n');
    lsm('install', '--root', root, '--schedule', 'systemd');
    expect(readFileSync(`${root}/etc/lsm/lsm.conf`, 'utf8')).toBe('USER="admin@example.org"\nINTERVAL="5m"\n');
    expect(readFileSync(`${root}/etc/systemd/system/lsm.timer`, 'utf8')).toMatch(/^OnUnitActiveSec=5min$/m);
    expect(readFileSync(`${root}/etc/systemd/system/lsm.service`, 'utf8')).toMatch(/^ExecStart=\/usr\/local\/sbin\/lsm -c --quiet$/m);

    const un = lsm('uninstall', '--root', root);
    expect(un).toContain(`removed ${root}/etc/cron.d/lsm`);
    for (const f of ['etc/cron.d/lsm', 'etc/systemd/system/lsm.timer', 'etc/systemd/system/lsm.service', 'usr/local/sbin/lsm']) expect(existsSync(join(root, f))).toBe(false);
    expect(existsSync(`${root}/etc/lsm/lsm.conf`)).toBe(true);
    // the history is the audit trail: --purge alone is refused, and nothing is deleted
    const refused = spawnSync(process.execPath, [LSM, 'uninstall', '--root', root, '--purge'], { encoding: 'utf8' });
    expect([refused.status, refused.stderr]).toEqual([2, `lsm: --purge deletes ${root}/etc/lsm, ${root}/var/lib/lsm (the history) and ${root}/var/log/lsm: add --yes to confirm\n`]);
    expect(existsSync(`${root}/var/lib/lsm`)).toBe(true);
    lsm('uninstall', '--root', root, '--purge', '--yes');
    expect(existsSync(`${root}/var/lib/lsm`)).toBe(false);
  });

  it('install.sh wraps it, and a broken config is one line and exit 2', () => {
    const root = mkdtempSync(join(tmpdir(), 'lsm-root-'));
    const out = execFileSync('sh', [join(ROOT, 'install.sh'), '--root', root, '--schedule', 'none'], { encoding: 'utf8' });
    expect(out).toContain('schedule  none (run lsm -c yourself)');
    writeFileSync(`${root}/etc/lsm/lsm.conf`, 'INTERVAL="often"\n');
    let err = '';
    try { lsm('install', '--root', root); } catch (e) { err = (e as { stderr: string; status: number }).stderr + (e as { status: number }).status; }
    expect(err).toBe(`lsm: ${root}/etc/lsm/lsm.conf:1: INTERVAL must be a duration like 10m, 30s or 1h, not 'often'\n2`);
  });
});

describe('lsm watch', () => {
  let world: World;
  let tmp: string;
  const pids: number[] = [];
  beforeAll(async () => { world = await World.start(); tmp = mkdtempSync(join(tmpdir(), 'lsm-watch-')); });
  afterAll(async () => { for (const p of pids) await world.kill(p); await world?.stop(); });

  it('commits each change of a burst and raises one alert for it', async () => {
    const etc = join(tmp, 'etc');
    world.defaults = { LSM_CONFIG: testConfig(etc) };
    const repo = join(tmp, 'repo');
    expect((await world.lsm(['scan', '--repo', repo])).code).toBe(0);
    const watch = await world.spawn(['sh', '-c', `echo started; exec ${process.execPath} ${LSM} watch --interval 2s --count 6 --repo ${repo} > ${join(tmp, 'watch.out')} 2>&1`], world.defaults);
    await new Promise((r) => setTimeout(r, 1200));
    pids.push((await world.hold([{ kind: 'tcp4', addr: '127.0.0.1', port: 7001 }], 'burst-a')).pid);
    // the second socket comes sooner than one interval after the first: the same burst
    await new Promise((r) => setTimeout(r, 1000));
    pids.push((await world.hold([{ kind: 'tcp4', addr: '127.0.0.1', port: 7002 }], 'burst-b')).pid);
    // watch exits by itself after 6 scans
    for (let i = 0; i < 200 && (await world.run(['kill', '-0', String(watch.pid)])).code === 0; i++) await new Promise((r) => setTimeout(r, 100));
    const log = execFileSync('git', ['-C', repo, 'log', '--format=%s'], { encoding: 'utf8' }).trim().split('\n');
    // each scan that saw a change committed it (one or two commits, as the scans fell), on top of the first
    const changes = log.slice(0, -1);
    expect(log.at(-1)).toMatch(/^first snapshot /);
    expect(changes.length === 1 || changes.length === 2).toBe(true);
    expect(changes.every((s) => /^\+[12] -0: host\/tcp \+[12]$/.test(s))).toBe(true);
    expect(changes.reduce((n, s) => n + Number(/^\+(\d)/.exec(s)![1]), 0)).toBe(2); // both sockets, each once
    const events = readFileSync(join(etc, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(events).toHaveLength(1); // one alert for the burst
    expect(events[0].summary).toBe('+2 -0: host/tcp +2');
    expect(events[0].added.map((a: { line: string }) => a.line.split('  ')[0])).toEqual(['127.0.0.1:7001', '127.0.0.1:7002']);
  });
});
