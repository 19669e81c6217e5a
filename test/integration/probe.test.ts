// The watch probe (collect/probe.ts) in a world of its own, step by step: a difference stays a
// difference until a full collection is learned (a look never becomes the baseline by itself),
// and a change made while a collection is read is never taken for the committed state; a
// namespace only a socket holds (beyond a look) does not make every look ask for a scan.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ROOT, World } from '../helpers/world.js';

describe('watch probe', () => {
  let world: World;
  beforeAll(async () => { world = await World.start(); });
  afterAll(async () => { await world?.stop(); });

  it('says what differs from the last collection, until a collection is learned', async () => {
    const r = await world.run([process.execPath, join(ROOT, 'test', 'helpers', 'probe-check.mjs')]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(JSON.parse(r.stdout)).toEqual({
      first: 'first', quiet: null,
      listening: 'sockets', askedAgain: 'sockets', afterScan: null,
      madeDuringScan: 'unsettled', madeDuringScanAgain: 'unsettled', rescanned: null,
      closed: 'sockets', end: null,
      leftBehind: 0, socketHeldSeen: true, socketHeld: null,
    });
  });
});

describe('watch probe, namespaces no process link names', () => {
  let world: World;
  beforeAll(async () => { world = await World.start(); });
  afterAll(async () => { await world?.stop(); });

  it('sees a listener made between full scans in a namespace only a thread is in, or only an open namespace file holds; a socket no snapshot records (a netlink one, as its own dump socket) coming and going in an empty one is no change', async () => {
    const r = await world.run([process.execPath, join(ROOT, 'test', 'helpers', 'probe-ways.mjs')]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(JSON.parse(r.stdout)).toEqual({
      ready: 'ready', ways: 3, quiet: null,
      threadOrder: 'ok', thread: 'sockets', afterThreadScan: null,
      nsfileOrder: 'ok', nsfile: 'sockets', end: null,
      netlinkOrder: 'ok', netlinkOpen: null, netlinkClosed: null,
    });
  });
});
