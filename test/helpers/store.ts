// Shared by the store's mutation tests: a path for a new repository, snapshot lines, the real git.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const T = Date.UTC(2026, 0, 1);
/** tcp lines of a listener per port, as a snapshot holds them */
export const tcp = (...ports: number[]) => ports.map((p) => `0.0.0.0:${p}  svc  root  /usr/sbin/svc`);
/** where a new repository goes (its parent made, it not) */
export const newRepoDir = (prefix: string) => join(mkdtempSync(join(tmpdir(), `lsm-${prefix}-`)), 'repo');
/** the real git in a repository; extra options (`-c ...`) before the command */
export const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' });
