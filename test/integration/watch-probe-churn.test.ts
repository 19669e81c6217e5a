// The watch probe beside a churn of processes and namespaces with nothing to record (what other
// programs on a busy host do): the churn alone is no reason for a full scan (each was one, every
// interval), and a new listener is still seen at the next look, whoever makes it and wherever:
// a pid the probe knows in a namespace it knows, the same pid in a namespace of its own, and a
// process at a pid handed out again (a fork of a server landing on a pid the probe had seen).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ROOT, World } from '../helpers/world.js';

describe('watch probe under churn', () => {
  let world: World;
  beforeAll(async () => { world = await World.start(); });
  afterAll(async () => { await world?.stop(); });

  it('follows what changed, not the processes and namespaces that come and go', { timeout: 120_000 }, async () => {
    const r = await world.run([process.execPath, join(ROOT, 'test', 'helpers', 'probe-churn.mjs')], { timeoutMs: 110_000 });
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(JSON.parse(r.stdout)).toEqual({
      quiet: null,
      duringChurn: [null, null, null, null, null, null],
      knownPidKnownNamespace: 'sockets', afterScan: null,
      knownPidNewNamespace: 'namespaces', afterSecondScan: null,
      beforeReuse: null, landed: true, reusedPid: 'owners',
    });
  });
});
