// Real full disks for tests: small tmpfs file systems of their own under one temporary directory,
// filled for real, unmounted and removed after the file's tests (fulldisk, outstanding).
import { afterAll, beforeAll, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function sh(cmd: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Call inside a describe(): its tmp directory (mode 755: lsm refuses to create under a world-writable one) and its mounts. */
export function fullDisks(prefix: string) {
  const disks = { tmp: '', mounts: [] as string[] };
  beforeAll(() => {
    disks.tmp = mkdtempSync(join(tmpdir(), prefix));
    chmodSync(disks.tmp, 0o755);
  });
  afterAll(() => {
    for (const m of disks.mounts.reverse()) sh(['umount', m]);
    rmSync(disks.tmp, { recursive: true, force: true });
  });
  return {
    get tmp() { return disks.tmp; },
    mounts: disks.mounts,
    /** A tmpfs of its own, mode 755. */
    mount(name: string, options: string): string {
      const dir = join(disks.tmp, name);
      mkdirSync(dir);
      expect(sh(['mount', '-t', 'tmpfs', '-o', `${options},mode=755`, 'tmpfs', dir]).code).toBe(0);
      disks.mounts.push(dir);
      return dir;
    },
    /** Fill what is left with one file; dd stops at ENOSPC. */
    fill(dir: string): void {
      expect(sh(['dd', 'if=/dev/zero', `of=${join(dir, 'filler')}`, 'bs=4k', 'count=100000']).stderr).toContain('No space left on device');
    },
  };
}
