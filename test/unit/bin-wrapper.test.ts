// bin/lsm, the command users and cron run: the environment it gives node.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/world.js';

describe('bin/lsm', { timeout: 60_000 }, () => {
  it("fixes glibc's mmap threshold (large freed buffers go back to the system), unless the user set one", () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-bin-'));
    try {
      const node = join(dir, 'node'); // stands in for node: prints what it was given
      writeFileSync(node, '#!/bin/sh\necho "threshold=$MALLOC_MMAP_THRESHOLD_"\necho "args=$*"\n');
      chmodSync(node, 0o755);
      const env = { ...process.env, LSM_NODE: node };
      delete env.MALLOC_MMAP_THRESHOLD_;
      const r = spawnSync(join(ROOT, 'bin', 'lsm'), ['--version'], { env, encoding: 'utf8' });
      expect(r.stdout).toMatch(/^threshold=131072\nargs=.*dist\/cli\/main\.js --version\n$/);
      const own = spawnSync(join(ROOT, 'bin', 'lsm'), ['--version'], { env: { ...env, MALLOC_MMAP_THRESHOLD_: '65536' }, encoding: 'utf8' });
      expect(own.stdout).toMatch(/^threshold=65536\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // it finds dist/ from wherever it is started (its own path, a link to it, a linked directory
  // holding it, `sh lsm` in its directory), and on a plain start it spends no process on finding
  // itself: readlink runs only where a link is in the way
  it('starts from its own path with no readlink, and through links with one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-bin-'));
    const bin = join(ROOT, 'bin', 'lsm');
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    // a readlink first on PATH that notes each call, then does the real one's work
    const shims = join(dir, 'shims');
    const calls = join(dir, 'readlink-calls');
    mkdirSync(shims);
    writeFileSync(join(shims, 'readlink'), `#!/bin/sh\necho "$@" >> ${calls}\nexec /usr/bin/env PATH=/usr/bin:/bin readlink "$@"\n`);
    chmodSync(join(shims, 'readlink'), 0o755);
    const run = (argv: string[], cwd = dir) => {
      rmSync(calls, { force: true });
      const r = spawnSync(argv[0], [...argv.slice(1), '--version'], { cwd, encoding: 'utf8', env: { ...process.env, PATH: `${shims}:${process.env.PATH}`, LSM_NODE: process.execPath } });
      return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr, readlinks: existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n').length : 0 };
    };
    try {
      expect(run([bin])).toEqual({ code: 0, stdout: version, stderr: '', readlinks: 0 });
      expect(run(['sh', 'lsm'], join(ROOT, 'bin'))).toEqual({ code: 0, stdout: version, stderr: '', readlinks: 0 });
      expect(run(['./lsm'], join(ROOT, 'bin'))).toEqual({ code: 0, stdout: version, stderr: '', readlinks: 0 });
      // npm's bin link, a link to that link, and a linked directory (/bin -> usr/bin): node reads '..' by the letters
      symlinkSync(bin, join(dir, 'lsm'));
      symlinkSync(join(dir, 'lsm'), join(dir, 'lsm2'));
      symlinkSync(join(ROOT, 'bin'), join(dir, 'bin'));
      for (const via of [join(dir, 'lsm'), join(dir, 'lsm2'), join(dir, 'bin', 'lsm')]) {
        expect(run([via])).toEqual({ code: 0, stdout: version, stderr: '', readlinks: 1 });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
