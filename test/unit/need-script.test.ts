// test/setup/need.sh, npm test's pretest (issue 20.6): on a machine without the tools the tests
// use, it names each Debian package and what it is for; it installs them only as root with
// apt-get (not tried here: a PATH without apt-get stands for "cannot install"); as another user
// it says the tests run as root; with everything present it says nothing.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const NEED = join(ROOT, 'test', 'setup', 'need.sh');
const run = (argv: string[], env: Record<string, string | undefined> = process.env) => spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env, cwd: tmpdir() });

describe('test/setup/need.sh', () => {
  it('npm test runs it first; .ci/run runs npm test after npm ci', () => {
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.pretest).toBe('sh test/setup/need.sh && npm run --silent lint');
    expect(readFileSync(join(ROOT, '.ci', 'run'), 'utf8')).toMatch(/\nnpm ci\nnpm test\n$/);
  });

  it('with every tool here: nothing to say, exit 0', () => {
    const r = run(['sh', NEED]);
    expect([r.status, r.stderr]).toEqual([0, '']);
  });

  it('without them and without apt-get: each package named with what it is for, exit 1', () => {
    const bin = mkdtempSync(join(tmpdir(), 'lsm-need-'));
    for (const tool of ['sh', 'dirname', 'id']) symlinkSync(run(['sh', '-c', `command -v ${tool}`]).stdout.trim(), join(bin, tool));
    const r = run([join(bin, 'sh'), NEED], { PATH: bin });
    expect(r.status).toBe(1);
    for (const [pkg, tool] of [['systemd', 'systemd-analyze'], ['man-db', 'man'], ['g++', 'g++'], ['make', 'make'], ['python3', 'python3'], ['lighttpd', 'lighttpd'],
      ['apache2-utils', 'htpasswd'], ['git', 'git'], ['iproute2', 'ip'], ['openssl', 'openssl']]) {
      expect(r.stderr).toContain(`\n  ${pkg} (${tool}): `);
    }
    expect(r.stderr).toMatch(/^test\/setup\/need\.sh: missing: systemd man-db g\+\+ make python3 lighttpd apache2-utils git iproute2 openssl dpkg-dev lintian chromium fish\n/);
    expect(r.stderr).toContain("no apt-get here: install them with this system's package manager, then run npm test again");
  });

  it('not as root: says the tests run as root, exit 1', () => {
    const r = run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'sh', NEED]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("test/setup/need.sh: the tests run as root (they make network namespaces, users' processes, tmpfs disks): run npm test as root\n");
  });
});
