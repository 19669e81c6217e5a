import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World } from '../helpers/world.js';

describe('test world', () => {
  let world: World;
  beforeAll(async () => { world = await World.start(); });
  afterAll(async () => { await world?.stop(); });

  it('sees only its own processes and sockets', async () => {
    const h = await world.hold([{ kind: 'tcp4', port: 2222 }], 'sshd-test');
    const repo = join(mkdtempSync(join(tmpdir(), 'lsm-')), 'repo');
    const r = await world.lsm(['status', '--repo', repo]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(new RegExp(`127\\.0\\.0\\.1:2222\\s+sshd-test\\[${h.pid}\\] root`));
    await world.kill(h.pid);
  });
});
