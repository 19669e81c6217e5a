// SENDMAIL is a program root runs (issue 17, item 6): checked like a hook, before anything is
// written, with every directory above it and every link on the way. Real files owned by a real
// unprivileged user (nobody), the real CLI on fixture /proc trees.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lchownSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LSM, ROOT } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

const NOBODY = 65534;
const FIX = join(ROOT, 'test', 'fixtures');
const PROCS = [join(FIX, 'basic', 'proc'), join(FIX, 'hostile', 'proc')];

function lsm(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [LSM, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('SENDMAIL', () => {
  it('a sendmail another user owns or could replace is refused (exit 77) before anything is committed, and never run; a safe one runs', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'lsm-sendmail-'));
    chmodSync(tmp, 0o755);
    const bin = join(tmp, 'bin');
    mkdirSync(bin, { mode: 0o755 });
    const ran = join(tmp, 'ran');
    const sendmail = join(bin, 'sendmail');
    writeFileSync(sendmail, `#!/bin/sh\ncat > /dev/null\necho "$*" >> ${ran}\n`, { mode: 0o755 });
    const repo = join(tmp, 'repo');
    const head = () => spawnSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
    const check = (program: string, proc: string) => lsm(['-c', '--repo', repo, '--proc', proc], { LSM_CONFIG: testConfig(join(tmp, 'etc'), { SENDMAIL: program }) });
    expect(check(sendmail, PROCS[0]).code).toBe(0); // the first snapshot: no alert, no mail
    const before = head();
    const refused = (program: string, message: string) => {
      const r = check(program, PROCS[1]); // a change: a mail would go
      expect([r.code, r.stderr]).toEqual([77, `lsm: refusing unsafe sendmail (SENDMAIL): ${message}\n`]);
      expect(head()).toBe(before); // nothing committed
      expect(existsSync(join(tmp, 'etc', 'spool')) && readdirSync(join(tmp, 'etc', 'spool')).some((f) => f.endsWith('.json'))).toBe(false);
      expect(existsSync(ran)).toBe(false); // never run
    };

    chownSync(sendmail, NOBODY, NOBODY);
    refused(sendmail, `${sendmail} is owned by uid ${NOBODY}, not root (chown root ${sendmail}, or use another path)`);
    chownSync(sendmail, 0, 0);
    chmodSync(sendmail, 0o775);
    refused(sendmail, `${sendmail} is writable by group (mode 775; chmod go-w ${sendmail})`);
    chmodSync(sendmail, 0o755);
    chmodSync(bin, 0o777); // a directory others may write: they could put their own sendmail there
    refused(sendmail, `${bin} is writable by others (mode 777; chmod go-w ${bin})`);
    chmodSync(bin, 0o755);
    chownSync(bin, NOBODY, NOBODY);
    refused(sendmail, `${bin} is owned by uid ${NOBODY}, not root (chown root ${bin}, or use another path)`);
    chownSync(bin, 0, 0);
    const link = join(tmp, 'sendmail-link'); // a link another user owns: it could be pointed anywhere
    symlinkSync(sendmail, link);
    lchownSync(link, NOBODY, NOBODY);
    refused(link, `the symbolic link ${link} is owned by uid ${NOBODY} (replace it, or use the real path)`);
    refused('sendmail', 'sendmail is not an absolute path (a bare name is looked up in PATH, a relative one where lsm runs)');

    // safe again (through a root-owned link too): the change is committed and mailed
    lchownSync(link, 0, 0);
    const ok = check(link, PROCS[1]);
    expect([ok.code, ok.stderr]).toEqual([0, '']);
    expect(head()).not.toBe(before);
    expect(existsSync(ran)).toBe(true);
  });
});
