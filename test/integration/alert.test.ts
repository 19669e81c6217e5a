// Alerts that are never lost: a real SMTP server (smtp-server) inside the test's world, mails
// parsed back with mailparser, real hooks, the event log, and a server that is down for a while.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, renameSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { ROOT, World } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

const SINK = join(ROOT, 'test', 'helpers', 'smtp-sink.mjs');
const git = (repo: string, ...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' });

describe('alerts', { timeout: 180_000 }, () => {
  let world: World;
  let tmp: string, repo: string, inbox: string, etc: string;
  let sink: number | null = null;
  const held: number[] = [];
  const received = async (): Promise<ParsedMail[]> =>
    Promise.all(readdirSync(inbox).filter((n) => n.endsWith('.eml')).sort().map((n) => simpleParser(readFileSync(join(inbox, n)))));
  const startSink = async (reject?: string) => { sink = (await world.spawn([process.execPath, SINK, '2525', inbox, ...(reject ? [reject] : [])])).pid; };
  const stopSink = async () => { if (sink) await world.kill(sink); sink = null; };
  const hold = async (port: number, comm: string) => { const h = await world.hold([{ kind: 'tcp4', addr: '127.0.0.1', port }], comm); held.push(h.pid); return h.pid; };

  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-alert-'));
    repo = join(tmp, 'repo');
    inbox = join(tmp, 'inbox');
    etc = join(tmp, 'etc');
    mkdirSync(inbox);
    world.defaults = { LSM_CONFIG: testConfig(etc, { SMTP_URL: 'smtp://127.0.0.1:2525', USER: 'ops@example.org, sec@example.org', SUB: 'LSM change on ${HOSTNAME}', FROM: 'lsm@example.org' }) };
    writeFileSync(join(etc, 'ignore'), 'tcp 127.0.0.1:2525   # the test SMTP server itself\n');
    mkdirSync(join(etc, 'hooks.d'));
    await startSink();
    expect((await world.lsm(['-g', '--repo', repo])).code).toBe(0);
  });
  afterAll(async () => {
    for (const pid of held) await world.kill(pid);
    await stopSink();
    await world?.stop();
  });

  it('mails a change with the new socket, its owner now, and the diff', async () => {
    const pid = await hold(4001, 'svc-a');
    const started = Date.now();
    const r = await world.lsm(['-c', '--repo', repo]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const mails = await received();
    expect(mails).toHaveLength(1);
    const m = mails[0];
    // the subject says what changed after SUB; a machine's mail, not for auto-responders (RFC 3834)
    expect(m.subject).toBe(`LSM change on ${hostname()}: +1 tcp 127.0.0.1:4001 (svc-a)`);
    expect(m.headers.get('auto-submitted')).toBe('auto-generated');
    expect((Array.isArray(m.to) ? m.to : [m.to]).flatMap((t) => t!.value.map((v) => v.address))).toEqual(['ops@example.org', 'sec@example.org']);
    expect(m.from?.value[0].address).toBe('lsm@example.org');
    const commit = git(repo, 'rev-parse', 'HEAD').trim();
    expect(m.text).toContain(`commit ${commit.slice(0, 10)}`);
    expect(m.text).toMatch(new RegExp(`^  host/tcp  127\\.0\\.0\\.1:4001  svc-a  root  \\S+\\n      pid ${pid}  user root  running \\d+s\\n      exe \\S+\\n      cmdline \\S*python3 \\S*holder\\.py `, 'm'));
    // the diff, in the body and attached, is exactly what git show prints
    const patch = git(repo, 'show', '--format=', 'HEAD');
    expect(m.text).toContain(patch);
    expect(m.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([[`lsm-${commit.slice(0, 10)}.diff`, patch]]);
    // not the default repository: every follow-up command names it
    expect(m.text).toContain(`  lsm blame 4001/tcp --repo=${repo}\n`);
    expect(m.text).toContain(`  lsm show ${commit.slice(0, 10)} --repo=${repo}\n`);
    const event = JSON.parse(readFileSync(join(etc, 'events.jsonl'), 'utf8').trim().split('\n').pop()!);
    expect(event).toMatchObject({ commit, summary: '+1 -0: host/tcp +1', added: [{ path: 'host/tcp', line: expect.stringMatching(/^127\.0\.0\.1:4001  svc-a/) }] });
    // a figure for the notes: from starting `lsm -c` (scan + commit + spool + SMTP) to the server's acceptance
    const accepted = Number(readdirSync(inbox).sort()[0].split('-')[0]);
    console.log(`lsm -c start to mail accepted: ${accepted - started} ms`);
  });

  it('keeps every alert while the server is down, then delivers them in order, none twice', async () => {
    await stopSink();
    for (const [port, comm] of [[4002, 'svc-b'], [4003, 'svc-c'], [4004, 'svc-d']] as const) {
      await hold(port, comm);
      const r = await world.lsm(['-c', '--repo', repo]);
      expect(r.code).toBe(0); // delivery trouble never fails the scan
      // the first run tries and fails; the next ones back off, and say so
      if (port === 4002) expect(r.stderr).toMatch(/^lsm: alert [0-9a-f]{10}: mail: E[A-Z]+: .*ECONNREFUSED/m);
      else expect(r.stderr).toMatch(new RegExp(`^lsm: ${port - 4001} alerts waiting for mail, next try after .*ECONNREFUSED.*lsm flush tries now\\)$`, 'm'));
    }
    expect(readdirSync(join(etc, 'spool')).filter((n) => n.endsWith('.json'))).toHaveLength(3);
    const st = await world.lsm(['status', '--repo', repo]);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/^3 alerts undelivered in .*spool \(0 failed permanently\)/m);
    await startSink();
    const f = await world.lsm(['flush', '--repo', repo]);
    expect([f.code, f.stdout]).toEqual([0, '3 delivered, 0 waiting, 0 failed permanently\n']);
    expect((await world.lsm(['flush', '--repo', repo])).code).toBe(0);
    expect((await world.lsm(['-c', '--repo', repo])).code).toBe(0);
    const mails = await received();
    expect(mails.map((m) => /127\.0\.0\.1:(\d+)  svc-/.exec(m.text!)![1])).toEqual(['4001', '4002', '4003', '4004']);
    expect(readdirSync(join(etc, 'spool')).filter((n) => n.endsWith('.json'))).toEqual([]);
  });

  it('delivers the alert of a scan killed right after its commit', async () => {
    await hold(4005, 'svc-e');
    const commit = (await world.run([process.execPath, join(ROOT, 'test', 'helpers', 'commit-only.mjs'), repo, world.defaults.LSM_CONFIG])).stdout;
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    const r = await world.lsm(['-c', '--repo', repo]);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, '', '']); // nothing new to commit, but the alert goes out
    const last = (await received()).pop()!;
    expect(last.text).toContain(`commit ${commit.slice(0, 10)}`);
    expect(last.text).toContain('127.0.0.1:4005  svc-e');
  });

  it('runs safe hooks with the change as JSON, refuses unsafe ones', async () => {
    const hooks = join(etc, 'hooks.d');
    writeFileSync(join(hooks, '10-record'), `#!/bin/sh\ncat > ${join(tmp, 'hook.json')}\necho "$LSM_COMMIT $LSM_SUMMARY" > ${join(tmp, 'hook.env')}\n`);
    chmodSync(join(hooks, '10-record'), 0o755);
    writeFileSync(join(hooks, '20-unsafe'), `#!/bin/sh\ntouch ${join(tmp, 'unsafe-ran')}\n`);
    chmodSync(join(hooks, '20-unsafe'), 0o777);
    writeFileSync(join(hooks, 'skip.me'), '#!/bin/sh\nexit 1\n'); // not a run-parts name
    chmodSync(join(hooks, 'skip.me'), 0o755);
    await hold(4006, 'svc-f');
    const r = await world.lsm(['-c', '--repo', repo]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^lsm: hook ${join(hooks, '20-unsafe')} refused: writable by others \\(mode 777\\)\nlsm: alert [0-9a-f]{10}: hooks: hook 20-unsafe refused \\(retried once made safe\\)\n$`));
    const commit = git(repo, 'rev-parse', 'HEAD').trim();
    expect(JSON.parse(readFileSync(join(tmp, 'hook.json'), 'utf8'))).toMatchObject({ commit, summary: '+1 -0: host/tcp +1', added: [{ line: expect.stringMatching(/^127\.0\.0\.1:4006/) }] });
    expect(readFileSync(join(tmp, 'hook.env'), 'utf8')).toBe(`${commit} +1 -0: host/tcp +1\n`);
    expect(() => readFileSync(join(tmp, 'unsafe-ran'))).toThrow();
    // made safe, the refused hook gets the alert it missed, alone: the other hook does not run again
    chmodSync(join(hooks, '20-unsafe'), 0o700);
    writeFileSync(join(tmp, 'hook.env'), '');
    const again = await world.lsm(['flush', '--repo', repo]);
    expect([again.code, again.stdout]).toEqual([0, '1 delivered, 0 waiting, 0 failed permanently\n']);
    readFileSync(join(tmp, 'unsafe-ran'));
    expect(readFileSync(join(tmp, 'hook.env'), 'utf8')).toBe('');
  });

  it('keeps an alert whose recipient is rejected, reports it, and does not retry it by itself', async () => {
    await stopSink();
    await startSink('sec@example.org');
    const before = (await received()).length;
    await hold(4007, 'svc-g');
    const r = await world.lsm(['-c', '--repo', repo]);
    expect(r.code).toBe(0); // a rejected recipient never fails the scan
    expect(r.stderr).toMatch(/^lsm: alert [0-9a-f]{10}: mail: .*sec@example\.org.*\(permanent: kept in the spool/m);
    const st = await world.lsm(['status', '--repo', repo]);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/^1 alert undelivered in .* \(1 failed permanently\)/m);
    const partly = await received(); // the other recipient got it
    expect(partly.length).toBe(before + 1);
    expect(partly.pop()!.text).toContain('127.0.0.1:4007  svc-g');
    expect((await world.lsm(['-c', '--repo', repo])).code).toBe(0);
    const f = await world.lsm(['flush', '--repo', repo]);
    expect(f.code).toBe(1); // README's exit codes: flush exits 1 when it left alerts undelivered
    expect((await received()).length).toBe(before + 1); // not retried by itself
    expect(readdirSync(join(etc, 'spool')).filter((n) => n.endsWith('.json'))).toHaveLength(1);
    // the cause fixed, --retry-dead mails the rejected recipient alone, with the same Message-ID
    await stopSink();
    await startSink();
    const retried = await world.lsm(['flush', '--retry-dead', '--repo', repo]);
    expect([retried.code, retried.stdout]).toEqual([0, '1 delivered, 0 waiting, 0 failed permanently\n']);
    const all = await received();
    expect(all.slice(before).map((m) => m.headers.get('x-envelope-to'))).toEqual(['ops@example.org', 'sec@example.org']);
    expect(all[before].messageId).toBe(all[before + 1].messageId);
    expect(all[before].messageId).toMatch(/^<lsm-[0-9a-f]{40}@/);
    expect((await world.lsm(['flush', '--retry-dead', '--repo', repo])).code).toBe(0);
    expect((await received()).length).toBe(before + 2);
    expect(readdirSync(join(etc, 'spool')).filter((n) => n.endsWith('.json'))).toEqual([]);
  });

  it('refuses a config that holds a password and others can read; a broken config is one line', async () => {
    const conf = join(tmp, 'secret.conf');
    writeFileSync(conf, 'SMTP_URL="smtp://lsm:hunter2@127.0.0.1:2525"\n');
    chmodSync(conf, 0o644);
    const r = await world.lsm(['config', '--config', conf]);
    expect([r.code, r.stderr]).toEqual([2, `lsm: ${conf} holds a password (SMTP_URL) but is readable by others (mode 644): run chmod 600 ${conf}\n`]);
    chmodSync(conf, 0o600);
    const ok = await world.lsm(['config', '--config', conf]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('SMTP_URL="smtp://lsm:****@127.0.0.1:2525"');
    expect(ok.stdout).not.toContain('hunter2');
    writeFileSync(conf, 'USER="root"\nSUB=unterminated "quote\nBOGUS="1"\n');
    const bad = await world.lsm(['-c', '--config', conf, '--repo', repo]);
    expect([bad.code, bad.stderr]).toEqual([2, `lsm: ${conf}:2: not a KEY="value" line: "SUB=unterminated \\"quote"\n`]);
    writeFileSync(conf, 'USER="root"\nBOGUS="1"\n');
    const unknown = await world.lsm(['-c', '--config', conf, '--repo', repo]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(new RegExp(`^lsm: ${conf}:2: unknown key BOGUS \\(known: USER, SUB,`));
    writeFileSync(conf, 'ESTABLISHED="maybe"\n');
    const est = await world.lsm(['scan', '--config', conf, '--repo', repo]);
    expect([est.code, est.stderr]).toEqual([2, `lsm: ${conf}:1: ESTABLISHED must be yes or no, not 'maybe'\n`]);
  });

  it('shell-quotes the commands in the mail: a hostile repository path runs nothing', async () => {
    const hostile = join(tmp, "it's $(touch PWNED); `touch PWNED2`\n#");
    // a repository of its own has a spool of its own
    const env = { LSM_CONFIG: testConfig(join(tmp, 'etc-hostile'), { SMTP_URL: 'smtp://127.0.0.1:2525', USER: 'ops@example.org', FROM: 'lsm@example.org' }) };
    writeFileSync(join(tmp, 'etc-hostile', 'ignore'), 'tcp 127.0.0.1:2525\n');
    const g = await world.lsm(['-g', '--repo', hostile], env);
    expect([g.code, g.stderr]).toEqual([0, '']);
    await hold(4020, 'svc-q');
    expect((await world.lsm(['-c', '--repo', hostile], env)).code).toBe(0);
    const m = (await received()).pop()!;
    const commands = m.text!.split('\n').filter((l) => /^ {4}(lsm|git) /.test(l));
    expect(commands.length).toBeGreaterThanOrEqual(4); // accept, show, blame, git log
    // each command, run by bash with lsm and git as functions that print their arguments
    for (const c of commands) {
      const r = execFileSync('bash', ['-c', `lsm() { printf '%s\\0' "$@"; }; git() { printf '%s\\0' "$@"; }; cd ${JSON.stringify(tmp)}; ${c}`], { encoding: 'latin1' });
      const words = r.split('\0').slice(0, -1);
      expect(words.some((w) => w === `--repo=${hostile}` || w === hostile), c).toBe(true);
    }
    expect(readdirSync(tmp).filter((n) => n.startsWith('PWNED'))).toEqual([]);
  });

  it('leads the mail with what to do: drift from the baseline and since when, the approve and investigate commands; argv as a shell reads it', async () => {
    const own = join(tmp, 'repo-todo');
    const env = { LSM_CONFIG: testConfig(join(tmp, 'etc-todo'), { SMTP_URL: 'smtp://127.0.0.1:2525', USER: 'ops@example.org', FROM: 'lsm@example.org' }) };
    writeFileSync(join(tmp, 'etc-todo', 'ignore'), 'tcp 127.0.0.1:2525\n');
    expect((await world.lsm(['-g', '--repo', own], env)).code).toBe(0);
    const approved = git(own, 'rev-parse', 'refs/lsm/baseline').trim().slice(0, 10);
    const args = [join(ROOT, 'test', 'helpers', 'holder.py'), JSON.stringify({ comm: 'svc-todo', sockets: [{ kind: 'tcp4', addr: '127.0.0.1', port: 4040 }] }), 'listen here now', "it's", ''];
    const start = async () => { const h = await world.spawn(['python3', ...args]); held.push(h.pid); return h.pid; };
    const check = async () => {
      expect((await world.lsm(['-c', '--repo', own], env)).code).toBe(0);
      const m = (await received()).pop()!;
      return { m, short: git(own, 'rev-parse', 'HEAD').trim().slice(0, 10), todo: m.text!.split('\n\n')[1] };
    };
    const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const STAMP = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC';
    const pid = await start();
    const one = await check();
    expect(one.m.subject).toMatch(/: \+1 tcp 127\.0\.0\.1:4040 \(svc-todo\)$/);
    expect(one.todo).toMatch(new RegExp(`^${[
      'What to do:',
      `  Drift: yes, since this change \\(${STAMP}\\), from the approved baseline \\(${approved}, approved ${STAMP} by \\S+\\): 1 new socket not in it\\.`,
      re(`  Approve this state (or lsm -g --repo=${own}: scan again and approve what listens then):`),
      re(`    lsm accept ${one.short} --repo=${own}`),
      '  Investigate:',
      re(`    lsm show ${one.short} --repo=${own}`),
      re(`    lsm blame 4040/tcp --repo=${own}`),
      re(`    git -C ${own} log -p`),
    ].join('\n')}$`));
    // the command line: each argument quoted only when needed, no \x20; bash reads it back as the argv
    const cmdline = one.m.text!.split('\n').find((l) => l.startsWith('      cmdline ') && l.includes('holder.py'))!.slice('      cmdline '.length);
    expect(cmdline).toMatch(/^\S*python3 \S+holder\.py '\{"comm":"svc-todo",.*\}' 'listen here now' 'it'\\''s' ''$/);
    expect(cmdline).not.toContain('\\x20');
    expect(execFileSync('bash', ['-c', `printf '%s\\0' ${cmdline}`], { encoding: 'utf8' }).split('\0').slice(1, -1)).toEqual(args);
    // the approve command, as the mail gives it, approves that state
    const accept = one.todo.split('\n').find((l) => l.startsWith('    lsm accept '))!;
    const words = execFileSync('bash', ['-c', `lsm() { printf '%s\\0' "$@"; }; ${accept}`], { encoding: 'utf8' }).split('\0').slice(0, -1);
    expect((await world.lsm(words, { ...env, SUDO_USER: 'ops\x1b[2J admin' })).code).toBe(0); // the approver's name reaches the mail escaped
    expect(git(own, 'rev-parse', 'refs/lsm/baseline').trim().slice(0, 10)).toBe(one.short);
    // gone from the approved state: drift again; back as approved: none, nothing to approve
    await world.kill(pid);
    held.splice(held.indexOf(pid), 1);
    const two = await check();
    expect(two.todo).toMatch(new RegExp(`\\n  Drift: yes, since this change \\(${STAMP}\\), from the approved baseline \\(${one.short}, approved ${STAMP} by ${re('ops\\x1b[2J\\x20admin')}\\): 1 socket of it gone\\.\\n`));
    expect(two.m.text).not.toMatch(/\x1b/);
    await start();
    const three = await check();
    expect(three.todo).toMatch(new RegExp(`\\n  Drift: none, this change brings the host back to the approved baseline \\(${one.short}, approved ${STAMP} by \\S+\\)\\.\\n  Approve: nothing to approve, the host is as approved\\.\\n  Investigate:\\n`));
    // drift on top of drift: the mail says the earlier differences remain
    await hold(4041, 'svc-todo2');
    expect((await check()).todo).toMatch(/: 1 new socket not in it\.\n/);
    await hold(4042, 'svc-todo3');
    expect((await check()).todo).toMatch(/: 1 new socket not in it\. Earlier differences remain too \(lsm drift\)\.\n/);
  });

  it('keeps the line of a binary replaced on disk, and says a restart is pending', async () => {
    const bin = join(tmp, 'bin');
    mkdirSync(bin, { recursive: true });
    const exe = join(bin, 'mydaemon');
    const python = execFileSync('readlink', ['-f', '/usr/bin/python3'], { encoding: 'utf8' }).trim();
    copyFileSync(python, exe);
    chmodSync(exe, 0o755);
    const spawnDaemon = async (port: number) => {
      const h = await world.spawn([exe, join(ROOT, 'test', 'helpers', 'holder.py'), JSON.stringify({ comm: 'mydaemon', sockets: [{ kind: 'tcp4', addr: '127.0.0.1', port }] })]);
      held.push(h.pid);
    };
    await spawnDaemon(4030);
    await world.lsm(['-c', '--repo', repo]);
    const before = git(repo, 'rev-parse', 'HEAD').trim();
    expect(git(repo, 'show', 'HEAD:host/tcp')).toContain(`127.0.0.1:4030  mydaemon  root  ${exe}\n`);
    await spawnDaemon(4031);
    // the upgrade: a new file renamed over the old one (as dpkg does); the running image is '(deleted)'
    copyFileSync(python, `${exe}.new`);
    renameSync(`${exe}.new`, exe);
    const r = await world.lsm(['-c', '--repo', repo]);
    expect(r.code).toBe(0);
    expect(git(repo, 'rev-list', `${before}..HEAD`).trim().split('\n')).toHaveLength(1);
    expect(git(repo, 'show', '--format=', 'HEAD')).not.toMatch(/^[-+]127\.0\.0\.1:4030/m); // its line did not change
    expect(git(repo, 'show', 'HEAD:host/tcp')).toContain(`127.0.0.1:4031  mydaemon  root  ${exe}\n`);
    const m = (await received()).pop()!;
    expect(m.subject).toMatch(/: \+1 tcp 127\.0\.0\.1:4031 \(mydaemon\)$/);
    expect(m.text).toContain(`      exe ${exe}  (binary replaced, restart pending)\n`);
    const st = await world.lsm(['status', '--json', '--repo', repo]);
    const sock = (JSON.parse(st.stdout) as { sockets: { endpoint: string; owners: { exe: string; exeReplaced?: boolean }[] }[] }).sockets.find((s) => s.endpoint === '127.0.0.1:4031')!;
    expect(sock.owners[0]).toMatchObject({ exe, exeReplaced: true });
  });
});
