// The watch probe's native digest of a namespace's sockets (collect/netlink/digest.ts): the same
// sockets as the bytes it replaces (netlinkFingerprint), equal while nothing changes, different
// when a listener comes (TCP or a named unix one), keyed per process; and the kernel's count of a
// namespace's sockets, by which a look skips the dumps of one that holds none.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ROOT, World } from '../helpers/world.js';

describe('watch probe digest', () => {
  let world: World;
  beforeAll(async () => { world = await World.start(); });
  afterAll(async () => { await world?.stop(); });

  it('hashes what the fingerprint keeps, and only that', async () => {
    const r = await world.run([process.execPath, join(ROOT, 'test', 'helpers', 'probe-digest.mjs')]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(JSON.parse(r.stdout)).toEqual({
      available: true, sameInodes: true, recorded: true, noInodesUnasked: null, fallbackAlike: true,
      quiet: true, newListener: true, closedAgain: true, newListener6: true, newUnixName: true, unixClosed: true, keyed: true,
      countEmpty: 0, countOne: 1, countWrongNamespace: -1,
    });
  });
});
