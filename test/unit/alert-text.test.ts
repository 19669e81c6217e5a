// The mail body stays readable for a huge change: the first 200 sockets each way and 2000 lines of
// diff, then how many more and where to see them.
import { describe, expect, it } from 'vitest';
import { alertText, buildAlert } from '../../src/alert/message.js';
import type { SnapshotLine } from '../../src/snapshot/index.js';
import type { Change } from '../../src/types.js';

const line = (port: number) => `0.0.0.0:${port}  svc  root  /usr/bin/svc`;

function alertFor(added: number, removed: number, diffLines: number) {
  const change: Change = {
    commit: 'a'.repeat(40), parent: 'b'.repeat(40), time: Date.parse('2026-11-25T10:00:00Z'), summary: `+${added} -${removed}: host/tcp`,
    files: [{ path: 'host/tcp', added: Array.from({ length: added }, (_, i) => line(10_000 + i)), removed: Array.from({ length: removed }, (_, i) => line(20_000 + i)) }],
  };
  const owner = { pid: 4242, comm: 'svc', exe: '/usr/bin/svc', uid: 0, user: 'root', cmdline: ['svc', '--serve'], container: null, startedAt: null };
  const now = new Map<string, SnapshotLine[]>([['host/tcp', change.files[0].added.map((l) => ({ line: l, sockets: [{ owners: [owner] }] as unknown as SnapshotLine['sockets'] }))]]);
  const diff = Array.from({ length: diffLines }, (_, i) => `+${line(i)}`).join('\n') + '\n';
  return alertText(buildAlert(change, now, diff, 'web1', '/var/lib/lsm/snapshots'));
}

describe('the alert mail body', () => {
  it('lists every socket and the whole diff of a small change', () => {
    const text = alertFor(3, 2, 10);
    expect(text.match(/^ {6}pid 4242 {2}user root$/gm)).toHaveLength(3);
    expect(text).toContain('  host/tcp  0.0.0.0:20001  svc  root  /usr/bin/svc\n');
    expect(text).not.toContain('... and');
    expect(text).toContain(`+${line(9)}\n`);
  });

  it('says how many more sockets and diff lines a huge change has, and where they are', () => {
    const text = alertFor(300, 250, 3000);
    expect(text.match(/^ {6}pid 4242 /gm)).toHaveLength(200);
    expect(text).toContain('  ... and 100 more new sockets (lsm show aaaaaaaaaa)\n');
    expect(text).toContain('  ... and 50 more gone sockets (lsm show aaaaaaaaaa)\n');
    expect(text).toContain(`+${line(1999)}\n  ... and 1000 more lines of diff (attached whole as lsm-aaaaaaaaaa.diff)\n`);
    expect(text).not.toContain(line(2000));
    expect(text.split('\n').length).toBeLessThan(200 * 4 + 200 + 2000 + 40); // 4 lines a new socket, 1 a gone one
  });

  it('escapes a cgroup-derived container name (ESC, BEL) like every other system field', () => {
    const change: Change = { commit: 'a'.repeat(40), parent: null, time: 0, summary: '+1: host/tcp', files: [{ path: 'host/tcp', added: [line(1)], removed: [] }] };
    const owner = { pid: 7, comm: 'svc', exe: '/usr/bin/svc', uid: 0, user: 'root', cmdline: ['svc'], container: 'lxc-e\x1b[31mx\x07', startedAt: null };
    const now = new Map<string, SnapshotLine[]>([['host/tcp', [{ line: line(1), sockets: [{ owners: [owner] }] as unknown as SnapshotLine['sockets'] }]]]);
    const text = alertText(buildAlert(change, now, '', 'web1', '/r'));
    expect(text).toContain('container lxc-e\\x1b[31mx\\x07');
    expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  });
});
