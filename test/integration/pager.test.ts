// The pager (issue 20.2): bin/lsm run under a real pseudo-terminal, with PAGER a small script that
// records what it was given (stdin, argv, LESS); on a terminal the history and lists go through
// it, and never with --no-pager, LSM_PAGER=cat or empty, --json, a pipe, or a command that does not
// page. A pager that quits at once or is not there leaves lsm's exit code and output its own.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeSendmail, testConfig } from '../helpers/config.js';

const BIN = join(__dirname, '..', '..', 'bin', 'lsm');
const proc = (name: string) => join(__dirname, '..', 'fixtures', name, 'proc');

// the command on a new pseudo-terminal (stdin, stdout, stderr); everything it showed, and its exit code
const PTY = `
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
shown = b''
while True:
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    shown += data
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(shown)
sys.exit(os.waitstatus_to_exitcode(status))
`;

// (a pyenv shim costs ~2 s a start: the system's python when there is one)
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

let dir: string;
let repo: string;
let config: string;
let pager: string; // records into dir/pager.{args,in}, then says PAGER-END on the terminal

function onTerminal(env: Record<string, string | undefined>, ...args: string[]): { code: number; shown: string } {
  rmSync(join(dir, 'pager.in'), { force: true });
  rmSync(join(dir, 'pager.args'), { force: true });
  const r = spawnSync(PYTHON, ['-c', PTY, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, LSM_CONFIG: config, NO_COLOR: undefined, LESS: undefined, LSM_PAGER: undefined, PAGER: pager, ...env } });
  return { code: r.status ?? -1, shown: r.stdout.replace(/\r\n/g, '\n') };
}
const lsm = (env: Record<string, string | undefined>, ...args: string[]) => onTerminal(env, BIN, ...args, '--repo', repo);
const paged = () => (existsSync(join(dir, 'pager.in')) ? readFileSync(join(dir, 'pager.in'), 'utf8') : null);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lsm-pager-'));
  repo = join(dir, 'repo');
  config = testConfig(join(dir, 'etc'), { SENDMAIL: fakeSendmail(dir).path }); // alerts delivered: nothing on stderr
  pager = join(dir, 'pager');
  writeFileSync(pager, `#!/bin/sh\nprintf '%s\\n' "$0 $*" "LESS=\${LESS-unset}" "LV=\${LV-unset}" > ${dir}/pager.args\ncat > ${dir}/pager.in\necho PAGER-END\n`);
  chmodSync(pager, 0o755);
  const env = { ...process.env, LSM_CONFIG: config };
  for (const [flag, fixture] of [['-g', 'basic'], ['-c', 'hostile']]) {
    expect(spawnSync(BIN, [flag, '--proc', proc(fixture), '--repo', repo], { env }).status).toBe(0);
  }
});

describe('the pager on a terminal', () => {
  it('pages log (fast path), show and diff (yargs), status, -c and blame, with LESS=FRX and colours', () => {
    const log = lsm({}, 'log');
    expect(log.code).toBe(0);
    expect(paged()).toMatch(/^\S*[0-9a-f]{10}\S* \S+ \+6 -15: /m); // newest first
    expect(paged()).toContain('\x1b['); // colours kept (less -R shows them)
    expect(log.shown).toBe('PAGER-END\n'); // everything went through the pager
    expect(readFileSync(join(dir, 'pager.args'), 'utf8')).toBe(`${pager} \nLESS=FRX\nLV=-c\n`);
    for (const args of [['show'], ['diff', 'HEAD~1', 'HEAD'], ['status', '--proc', proc('hostile')], ['-c', '--proc', proc('basic')], ['--no-color', 'blame', '--all', '4444']]) {
      const r = lsm({}, ...args);
      expect([r.code, r.shown], args.join(' ')).toEqual([0, 'PAGER-END\n']);
      expect(paged(), args.join(' ')).toMatch(/\S/);
    }
    expect(paged()).not.toContain('\x1b['); // --no-color
    // the admin's own LESS is theirs; LSM_PAGER before PAGER
    lsm({ LESS: '-S', LSM_PAGER: `${pager} --from-lsm-pager`, PAGER: '/nonexistent' }, 'log');
    expect(readFileSync(join(dir, 'pager.args'), 'utf8')).toBe(`${pager} --from-lsm-pager\nLESS=-S\nLV=-c\n`);
  });

  it('never pages with --no-pager, LSM_PAGER=cat or empty, --json, --quiet, a pipe, or a command that is no list', () => {
    const plain = lsm({ LSM_PAGER: undefined }, '--no-pager', 'log');
    expect(plain.code).toBe(0);
    expect(plain.shown).toMatch(/\+6 -15: /);
    expect(paged()).toBeNull();
    for (const [env, args] of [
      [{}, ['show', '--no-pager']], [{ LSM_PAGER: 'cat' }, ['log']], [{ LSM_PAGER: '' }, ['show']], [{ PAGER: 'cat' }, ['log']],
      [{}, ['log', '--json']], [{}, ['-c', '--json', '--proc', proc('basic')]], [{}, ['-c', '-q', '--proc', proc('basic')]], [{}, ['config']],
    ] as const) {
      const r = lsm(env, ...args);
      expect([r.code, paged()], `${JSON.stringify(env)} ${args.join(' ')}`).toEqual([0, null]);
      expect(r.shown).not.toContain('PAGER-END');
    }
    // stdout a pipe (stderr and stdin still the terminal): no pager
    const piped = onTerminal({}, 'sh', '-c', `${BIN} log --repo ${repo} | cat`);
    expect(piped.shown).toMatch(/\+6 -15: /);
    expect(paged()).toBeNull();
  });

  it('lsm waits for its pager, keeps its own exit code, and says its error after the pager ended', () => {
    writeFileSync(join(dir, 'slow'), `#!/bin/sh\ntouch ${dir}/slow.started\ncat > /dev/null\nsleep 1\necho done > ${dir}/slow.done\n`);
    chmodSync(join(dir, 'slow'), 0o755);
    rmSync(join(dir, 'slow.done'), { force: true });
    const waited = onTerminal({ PAGER: join(dir, 'slow') }, 'sh', '-c', `${BIN} log --repo ${repo}; test -e ${dir}/slow.done && echo WAITED`);
    expect(waited.shown).toBe('WAITED\n');
    rmSync(join(dir, 'slow.done'), { force: true });
    const failed = onTerminal({ PAGER: join(dir, 'slow') }, 'sh', '-c', `${BIN} show nosuch --repo ${repo}; echo $?; test -e ${dir}/slow.done && echo WAITED`);
    expect(failed.shown).toBe("lsm: unknown revision 'nosuch'\n2\nWAITED\n"); // an error ends lsm by process.exit: it waits too
    // ended by a signal (as Ctrl-C or kill would), lsm still waits for its pager, then dies of it
    rmSync(join(dir, 'slow.done'), { force: true });
    rmSync(join(dir, 'slow.started'), { force: true });
    // killed once its pager runs (a fixed sleep lost that race on a loaded machine), at most 20 s on
    const killed = onTerminal({ PAGER: join(dir, 'slow') }, 'sh', '-c', `${BIN} log --repo ${repo} & i=0; while [ ! -e ${dir}/slow.started ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; kill -TERM $!; wait $!; echo "$? $(cat ${dir}/slow.done)"`);
    expect(killed.shown).toMatch(/^(Terminated\n)?143 done\n$/); // (sh may say Terminated)
    expect(lsm({}, 'blame', 'nothing-has-this').code).toBe(1); // nothing matched: blame's own 1
    expect(paged()).toBe('');
    const changed = lsm({}, 'diff', '--exit-code', 'HEAD~1', 'HEAD');
    expect(changed.code).toBe(3);
    expect(paged()).toMatch(/\+\+\+ b\//);
    const wrong = lsm({}, 'show', 'nosuch');
    expect(wrong.code).toBe(2);
    expect(wrong.shown).toBe("PAGER-END\nlsm: unknown revision 'nosuch'\n");
  });

  it('a pager that quits at once or cannot start: lsm ends quietly with its own code and output', () => {
    for (const args of [['log', '-p'], ['show'], ['-c', '--proc', proc('hostile')]]) {
      const quit = lsm({ PAGER: 'true' }, ...args);
      expect([quit.code, quit.shown], args.join(' ')).toEqual([0, '']);
    }
    for (const missing of [join(dir, 'no-such-pager'), 'no-such-pager -R', dir]) {
      const r = lsm({ PAGER: missing }, 'log');
      expect([r.code, r.shown], missing).toEqual([0, lsm({}, '--no-pager', 'log').shown]);
      expect(r.shown).toMatch(/first snapshot/);
    }
  });
});
