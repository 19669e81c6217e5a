// Central mail's digest (digest.ts) at its edges: the head of a digest line by line, exactly
// DIGEST_LISTED changes (all named, no "more" line), the hosts that wait listed in order whatever
// order the directory gives, a host never mailed shown as due one interval after the epoch, and a
// FIFO or link where held changes are kept said as damage, never waited on nor followed.
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIGEST_LISTED, digestHead, digestHosts, pendingMail, readDigest, writeDigest } from '../../src/fleet/digest.js';

const tmps: string[] = [];
afterEach(() => { for (const d of tmps.splice(0)) rmSync(d, { recursive: true, force: true }); });
const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'lsm-mdigest-')); tmps.push(d); return d; };
const stamp = (ms: number) => `T${ms}`;
const oid = (i: number) => i.toString(16).padStart(4, '0').repeat(10);

describe('the head of a digest', () => {
  it('two changes: when, each one with its short id and summary, then the range they changed together', () => {
    const held = [{ oid: oid(1), t: 1000, summary: '+1 -0: host/tcp 0.0.0.0:80' }, { oid: oid(2), t: 2000, summary: '+0 -1: host/udp' }];
    expect(digestHead('web-1', held, '10m', stamp)).toEqual([
      'lsm on web-1 pushed 2 changes from T1000 to T2000, held for one mail (at most one a host every FLEET_MAIL_INTERVAL=10m):',
      `  T1000  ${oid(1).slice(0, 10)}  +1 -0: host/tcp 0.0.0.0:80`,
      `  T2000  ${oid(2).slice(0, 10)}  +0 -1: host/udp`,
      '',
      `Together they changed (${oid(1).slice(0, 10)}^..${oid(2).slice(0, 10)}):`,
      '',
    ]);
  });

  it(`exactly ${DIGEST_LISTED} changes are all named, with no line for more`, () => {
    const held = Array.from({ length: DIGEST_LISTED }, (_, i) => ({ oid: oid(i), t: i, summary: `#${i}` }));
    const head = digestHead('web-1', held, '1h', stamp);
    expect(head).toHaveLength(1 + DIGEST_LISTED + 3);
    expect(head[DIGEST_LISTED]).toBe(`  T${DIGEST_LISTED - 1}  ${oid(DIGEST_LISTED - 1).slice(0, 10)}  #${DIGEST_LISTED - 1}`);
    expect(head.some((l) => l.includes('more changes'))).toBe(false);
  });
});

describe('what waits for a digest', () => {
  it('hosts in order of their names, whatever order the directory lists them in', () => {
    const g = tmp();
    const names = ['web-9', 'db-2', 'app-5', 'web-10', 'cache-1', 'zz', 'a', 'mail-3', 'b_1', 'log.7'];
    for (const h of names) writeDigest(g, h, { lastMail: 1, held: [] });
    expect(digestHosts(g)).toEqual([...names].sort());
  });

  it('a host never mailed is due one interval after the epoch; its oldest change is the earliest, wherever it is held', () => {
    const g = tmp();
    writeDigest(g, 'web-1', { lastMail: null, held: [{ oid: oid(1), t: 3000 }, { oid: oid(2), t: 2000 }, { oid: oid(3), t: 4000 }] });
    expect(readDigest(g, 'web-1').lastMail).toBeNull();
    expect(pendingMail(g, 60_000)).toEqual([{ host: 'web-1', changes: 3, oldest: new Date(2000).toISOString(), sendAfter: new Date(60_000).toISOString() }]);
  });

  it('a FIFO or a link put where held changes are kept is damage, said at once: never waited on, never followed', () => {
    const g = tmp();
    writeDigest(g, 'web-1', { lastMail: 1, held: [] });
    const file = join(g, 'lsm', 'digest', 'web-1.json');
    rmSync(file);
    execFileSync('mkfifo', [file]);
    // in a process of its own, bounded: a read that waits for a writer would hold this one for ever
    const read = spawnSync(process.execPath, ['--input-type=module', '-e', `import { readDigest } from ${JSON.stringify(join(__dirname, '..', '..', 'dist', 'fleet', 'digest.js'))};
      try { readDigest(${JSON.stringify(g)}, 'web-1'); console.log('read'); } catch (e) { console.log(e.code, e.message); }`], { encoding: 'utf8', timeout: 10_000 });
    expect([read.signal, read.stdout]).toEqual([null, `Damaged ${file} is damaged (not the held changes lsm writes): move it aside (mv ${file} ${file}.bad); the changes it held are not mailed, lsm fleet log --host web-1 lists them\n`]);
    rmSync(file);
    writeDigest(g, 'web-2', { lastMail: 1, held: [] });
    symlinkSync(join(g, 'lsm', 'digest', 'web-2.json'), file);
    expect(() => readDigest(g, 'web-1')).toThrow(`${file} is damaged`);
  });
});
