// The central repository's guard as git runs it: the installed program, also reached through a
// symbolic link (an install directory behind one): it must run and refuse, never do nothing.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DIST = join(__dirname, '..', '..', 'dist');

describe('fleet hook entry', () => {
  it('refuses through a symbolic link to the install directory as it does directly', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'lsm-fleet-hook-'));
    const gitdir = join(tmp, 'fleet.git');
    execFileSync('git', ['init', '--quiet', '--bare', gitdir]);
    symlinkSync(DIST, join(tmp, 'lib'));
    for (const entry of [join(DIST, 'cli', 'fleet-hook.js'), join(tmp, 'lib', 'cli', 'fleet-hook.js')]) {
      const r = spawnSync(process.execPath, [entry, 'guard'], { cwd: gitdir, input: `${'0'.repeat(40)} ${'1'.repeat(40)} refs/heads/master\n`, encoding: 'utf8', env: { ...process.env, GIT_DIR: gitdir, REMOTE_USER: 'web-1' } });
      expect([r.status, r.stderr], entry).toEqual([1, 'lsm fleet guard: refused refs/heads/master: only hosts/<host id> and baselines/<host id> branches are accepted here\n']);
    }
  });
});
