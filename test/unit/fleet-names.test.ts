import { describe, expect, it } from 'vitest';
import { hostIdProblem, hostOfRef, snapshotPathProblem, snapshotTextProblem } from '../../src/fleet/names.js';
import { mayPush } from '../../src/fleet/guard.js';
import { remoteCredentials } from '../../src/fleet/push.js';

describe('fleet names', () => {
  it('host ids are ref components and file names, nothing else', () => {
    for (const ok of ['web-1', 'db.example.org', 'A_b']) expect(hostIdProblem(ok)).toBeNull();
    for (const bad of ['', '.hidden', '-x', 'a/b', 'a..b', 'x.lock', 'a b', 'a\nb', 'x'.repeat(64)]) expect(hostIdProblem(bad)).not.toBeNull();
    expect(hostOfRef('refs/heads/hosts/web-1')).toBe('web-1');
    expect(hostOfRef('refs/heads/hosts/a/b')).toBeNull();
    expect(hostOfRef('refs/heads/main')).toBeNull();
  });
  it('snapshot paths and text as snapshot/ writes them', () => {
    for (const ok of ['host/tcp', 'host/unix', 'netns/web/udp', 'netns/c0ffee-4026532/tcp', 'netns/x@y+z/packet']) expect(snapshotPathProblem(ok)).toBeNull();
    for (const bad of ['evil.sh', 'host/tcp/x', 'host/icmp', 'netns/../tcp', 'netns/.x/tcp', 'netns/a b/tcp', 'host']) expect(snapshotPathProblem(bad)).not.toBeNull();
    expect(snapshotTextProblem('host/tcp', '')).toBeNull();
    expect(snapshotTextProblem('host/tcp', '0.0.0.0:22  sshd  root  /usr/sbin/sshd\n')).toBeNull();
    expect(snapshotTextProblem('host/tcp', 'a\n\nb\n')).toMatch(/empty line/);
    expect(snapshotTextProblem('host/tcp', 'a\na\n')).toMatch(/duplicate/);
    expect(snapshotTextProblem('host/tcp', 'a\x1b[2J\n')).toMatch(/control character/);
    expect(snapshotTextProblem('host/tcp', 'a')).toMatch(/newline/);
  });
  it('a user pushes its own host unless lsm/users says otherwise', () => {
    const users = new Map([['ops', new Set(['*'])], ['ci', new Set(['build-1', 'build-2'])]]);
    expect(mayPush(users, 'web-1', 'web-1')).toBe(true);
    expect(mayPush(users, 'web-1', 'web-2')).toBe(false);
    expect(mayPush(users, 'ops', 'web-2')).toBe(true);
    expect(mayPush(users, 'ci', 'build-2')).toBe(true);
    expect(mayPush(users, 'ci', 'ci')).toBe(false); // named in the file: only what it lists
  });
  it('credentials leave the URL, so no message can show them', () => {
    expect(remoteCredentials({ remote: 'https://web-1:p%40ss@fleet.example.org/git/fleet.git', tokenFile: '', hostId: 'web-1' }))
      .toEqual({ url: 'https://fleet.example.org/git/fleet.git', auth: { username: 'web-1', password: 'p@ss' } });
    expect(() => remoteCredentials({ remote: 'ftp://x/y', tokenFile: '', hostId: 'h' })).toThrow(/https:\/\/ or http:\/\//);
  });
});
