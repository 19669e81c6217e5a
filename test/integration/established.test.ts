// --established on real connections in the test's own network namespace: connections are recorded,
// aggregated so that ephemeral ports never appear, so a new connection from another ephemeral port
// changes nothing; without the flag they are not recorded at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

describe('lsm scan --established', () => {
  let world: World;
  let tmp: string;
  const pids: number[] = [];
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-estab-'));
    world.defaults = { LSM_CONFIG: testConfig(join(tmp, 'etc')) };
  });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    await world?.stop();
  });

  it('records connections by listener and peer, never an ephemeral port; a reconnection changes nothing', async () => {
    // a server on 7200 with one client connected to it, both in one process
    pids.push((await world.hold([{ kind: 'tcp4', addr: '127.0.0.1', port: 7200 }, { kind: 'tcp4-conn', port: 7200 }], 'pair-a')).pid);
    const ss = (await world.run(['ss', '-Htn', 'state', 'established'])).stdout;
    const ephemeral = [...ss.matchAll(/127\.0\.0\.1:(\d+)\s+127\.0\.0\.1:7200/g)].map((m) => m[1]);
    expect(ephemeral).toHaveLength(1); // the connection is real

    const plain = join(tmp, 'plain');
    const plainRun = await world.lsm(['scan', '--repo', plain], { LSM_CONFIG: testConfig(join(tmp, 'etc-plain')) }); // a spool per repository
    expect([plainRun.code, plainRun.stderr]).toEqual([0, '']);
    expect(execFileSync('git', ['-C', plain, 'show', 'HEAD:host/tcp'], { encoding: 'utf8' }).trim().split('\n').map((l) => l.split('  ')[0])).toEqual(['127.0.0.1:7200']);

    const repo = join(tmp, 'estab');
    const first = await world.lsm(['scan', '--established', '--repo', repo]);
    expect([first.code, first.stderr]).toEqual([0, '']);
    const tcp = execFileSync('git', ['-C', repo, 'show', 'HEAD:host/tcp'], { encoding: 'utf8' });
    // the outbound side keeps only its peer, the inbound side the listener and the peer's address
    expect(tcp.trim().split('\n').map((l) => l.split('  ').slice(0, 2).join('  '))).toEqual([
      '* -> 127.0.0.1:7200  pair-a', '127.0.0.1:7200  pair-a', '127.0.0.1:7200 <- 127.0.0.1  pair-a']);
    expect(tcp).not.toContain(`:${ephemeral[0]}`);

    // the same connection again from another ephemeral port, in another process of the same name
    pids.push((await world.hold([{ kind: 'tcp4-conn', port: 7200 }], 'pair-a')).pid);
    const again = await world.lsm(['scan', '--established', '--exit-code', '--repo', repo]);
    expect([again.code, again.stdout]).toEqual([0, '']);
  });
});
