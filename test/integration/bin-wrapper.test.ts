// bin/lsm, the command users and cron run: it finds dist/ from wherever it is started (its own
// path, a link to it, a linked directory holding it, `sh lsm` in its directory), and on a plain
// start it spends no process on finding itself (readlink runs only where a link is in the way).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/world.js';

const BIN = join(ROOT, 'bin', 'lsm');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('bin/lsm', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-bin-'));
  // a readlink first on PATH that notes each call, then does the real one's work
  const shims = join(dir, 'shims');
  const calls = join(dir, 'readlink-calls');
  mkdirSync(shims);
  writeFileSync(join(shims, 'readlink'), `#!/bin/sh\necho "$@" >> ${calls}\nexec /usr/bin/env -u PATH PATH=/usr/bin:/bin readlink "$@"\n`);
  chmodSync(join(shims, 'readlink'), 0o755);
  const run = (argv: string[], cwd = dir) => {
    rmSync(calls, { force: true });
    const r = spawnSync(argv[0], [...argv.slice(1), '--version'], { cwd, encoding: 'utf8', env: { ...process.env, PATH: `${shims}:${process.env.PATH}`, LSM_NODE: process.execPath } });
    return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr, readlinks: existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n').length : 0 };
  };

  it('starts from its own path with no readlink, and through links with one', () => {
    try {
      expect(run([BIN])).toEqual({ code: 0, stdout: VERSION, stderr: '', readlinks: 0 });
      expect(run(['sh', 'lsm'], join(ROOT, 'bin'))).toEqual({ code: 0, stdout: VERSION, stderr: '', readlinks: 0 });
      expect(run(['./lsm'], join(ROOT, 'bin'))).toEqual({ code: 0, stdout: VERSION, stderr: '', readlinks: 0 });
      // npm's bin link, a link to that link, and a linked directory (/bin -> usr/bin): '..' of the link is not the package's
      symlinkSync(BIN, join(dir, 'lsm'));
      symlinkSync(join(dir, 'lsm'), join(dir, 'lsm2'));
      symlinkSync(join(ROOT, 'bin'), join(dir, 'bin'));
      for (const via of [join(dir, 'lsm'), join(dir, 'lsm2'), join(dir, 'bin', 'lsm')]) {
        expect(run([via])).toEqual({ code: 0, stdout: VERSION, stderr: '', readlinks: 1 });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
