// No local user can inflate an alert (issue 17, item 5), through the real parts: 30 processes of a
// user (nobody) with 1 MB command lines share one TCP listener and hold two abstract sockets each,
// and root opens a listener in the same change. The real `lsm -c` mails it to a real SMTP server
// that refuses messages over 10 MB (Postfix's default): before the bounds this was a 30 MB mail,
// refused, and the root listener with it. Now the mail is accepted and under its bound, root's
// listener is in it whole, the users' fields are cut with markers and hashes, the event-log line is
// valid JSON under 64 KiB, and the hook's stdin is under 1 MiB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { HOLDER, LSM, ROOT, World } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

const SINK = join(ROOT, 'test', 'helpers', 'smtp-sink.mjs');
const CROWD = join(ROOT, 'test', 'helpers', 'crowd.py');
const SMTP_LIMIT = 10_240_000;
const MARK = /…\[cut \d+ bytes, sha256:[0-9a-f]{16}\]/;
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('an alert a user tries to inflate', { timeout: 400_000 }, () => {
  let world: World;
  let tmp: string;
  const pids: number[] = [];

  beforeAll(async () => { world = await World.start(); tmp = mkdtempSync(join(tmpdir(), 'lsm-bounds-')); });
  afterAll(async () => {
    for (const pid of pids.reverse()) await world.kill(pid);
    await world?.stop();
  });

  it("30 processes with 1 MB command lines on one listener and a root listener: the mail is accepted and bounded, root's listener whole", async () => {
    const inbox = join(tmp, 'inbox');
    mkdirSync(inbox);
    const etc = join(tmp, 'etc');
    const conf = testConfig(etc, { SMTP_URL: 'smtp://127.0.0.1:2700', USER: 'ops@example.org' });
    writeFileSync(join(etc, 'ignore'), 'tcp 127.0.0.1:2700   # the test SMTP server\n');
    mkdirSync(join(etc, 'hooks.d'));
    const hookOut = join(tmp, 'hook.json');
    writeFileSync(join(etc, 'hooks.d', '10-record'), `#!/bin/sh\ncat > ${hookOut}\n`);
    chmodSync(join(etc, 'hooks.d', '10-record'), 0o755);
    pids.push((await world.spawn([process.execPath, SINK, '2700', inbox], { SINK_SIZE: String(SMTP_LIMIT) })).pid);
    const repo = join(tmp, 'repo');
    const env = { LSM_CONFIG: conf };
    expect((await world.lsm(['-g', '--repo', repo], env)).code).toBe(0);

    // ~1 MB of argv in 10 arguments (one may be at most 128 KiB), shared by 30 forks
    const padding = Array.from({ length: 10 }, (_, i) => `${String(i).repeat(99_990)}é\t${i}`);
    pids.push((await world.spawn(['python3', CROWD, JSON.stringify({ uid: 65534, port: 4700, procs: 30, abstract: 2 }), ...padding])).pid);
    const root = await world.hold([{ kind: 'tcp4', addr: '127.0.0.1', port: 4701 }], 'rootd');
    pids.push(root.pid);

    // (before the bounds this run took minutes here: it escaped, spooled and logged every byte)
    const r = await world.run([process.execPath, LSM, '-c', '--repo', repo], { env: { NO_COLOR: '1', ...env }, timeoutMs: 240_000 });
    expect([r.code, r.stderr]).toEqual([0, '']);
    const commit = (await world.run(['git', '-C', repo, 'rev-parse', 'HEAD'])).stdout.trim();

    // the mail: accepted by a server that refuses more than 10 MB, its body under 1 MiB
    const emls = readdirSync(inbox).filter((n) => n.endsWith('.eml'));
    expect(emls).toHaveLength(1);
    const raw = readFileSync(join(inbox, emls[0]));
    expect(raw.length).toBeLessThan(3_000_000);
    const mail = await simpleParser(raw);
    const text = mail.text!;
    expect(bytes(text)).toBeLessThanOrEqual(1 << 20);
    // root's listener first, whole: its line, its owner, its whole command line
    const rootBlock = new RegExp(`^New sockets, and who holds them now:\\n  host/tcp  127\\.0\\.0\\.1:4701  rootd  root  \\S+\\n      pid ${root.pid}  user root  running \\d+s\\n      exe \\S+\\n      cmdline \\S*python3 ${HOLDER.replace(/[./]/g, '\\$&')} '\\{"comm":"rootd","sockets":\\[\\{"kind":"tcp4","addr":"127\\.0\\.0\\.1","port":4701\\}\\]\\}'\\n`, 'm');
    expect(text).toMatch(rootBlock);
    // the users' listener: three of its 30 processes, their command lines cut with a marker and a hash
    expect(text).toMatch(/^ {2}host\/tcp {2}127\.0\.0\.1:4700 {2}python3 {2}nobody {2}\S+$/m);
    expect(text).toMatch(/^ {6}and 27 more processes \(pids (\d+, ){10}\.\.\.\)$/m);
    const cmdlines = text.split('\n').filter((l) => l.startsWith('      cmdline ') && l.includes('crowd.py'));
    expect(cmdlines.length).toBeGreaterThanOrEqual(30); // the listener's 3, and one for each process's own sockets
    for (const l of cmdlines) {
      expect(l).toMatch(MARK);
      expect(bytes(l.slice('      cmdline '.length))).toBeLessThanOrEqual(4096);
    }
    expect(text).toContain(`git -C ${repo} log -p`);
    expect(mail.attachments.map((a) => a.filename)).toEqual([`lsm-${commit.slice(0, 10)}.diff`]);

    // the event log: one line, valid JSON, under 64 KiB; root's listener first and whole; `cut` says how to see it all
    const line = readFileSync(join(etc, 'events.jsonl'), 'utf8').trim().split('\n').pop()!;
    expect(bytes(line) + 1).toBeLessThanOrEqual(64 << 10);
    const event = JSON.parse(line);
    expect(event.commit).toBe(commit);
    expect(event.added[0]).toMatchObject({ path: 'host/tcp', line: expect.stringMatching(/^127\.0\.0\.1:4701  rootd  root  /),
      owners: [{ pid: root.pid, uid: 0, user: 'root', cmdline: expect.stringMatching(/^\S*python3 \S*holder\.py '\{"comm":"rootd","sockets":\[\{"kind":"tcp4","addr":"127\.0\.0\.1","port":4701\}\]\}'$/) }] });
    expect(event.cut).toMatchObject({ see: `lsm show ${commit.slice(0, 10)} --repo=${repo} or git -C ${repo} show ${commit}` });
    expect(event.added.length + event.cut.omitted.added).toBe(62); // 60 abstract sockets, 2 listeners
    expect(JSON.stringify(event.added.slice(1))).toMatch(MARK);

    // the hook's stdin: under 1 MiB, valid JSON, root's listener first
    const hook = readFileSync(hookOut, 'utf8');
    expect(bytes(hook)).toBeLessThanOrEqual(1 << 20);
    expect(JSON.parse(hook).added[0].owners[0]).toMatchObject({ pid: root.pid, uid: 0 });
    expect(readdirSync(join(etc, 'spool')).filter((n) => n.endsWith('.json'))).toEqual([]);
    // the whole change is in git
    const show = await world.run(['git', '-C', repo, 'show', '--stat', commit]);
    expect(show.stdout).toContain('host/unix');
    expect(statSync(join(etc, 'events.jsonl')).size).toBeLessThan(64 << 10);
  });
});
