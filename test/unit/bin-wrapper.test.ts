// bin/lsm, the command users and cron run: the environment it gives node.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/world.js';

describe('bin/lsm', () => {
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
});
