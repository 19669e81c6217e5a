// The git binary in the central repository: the guard, the drain and the fleet index run it there
// (the pushed objects may be in git's quarantine, which only git sees; and git maps the central
// pack where isomorphic-git would read it whole).
import { spawnSync } from 'node:child_process';
import { LsmError } from '../errors.js';

export interface GitResult { code: number; out: Buffer; err: string; tooBig: boolean }

/** Run git in GITDIR; tooBig: its output passed maxBuffer and it was stopped. */
export function runGit(gitdir: string, args: string[], input?: string | Buffer, maxBuffer = 1 << 30): GitResult {
  const r = spawnSync('git', args, { cwd: gitdir, input, maxBuffer, env: { ...process.env, GIT_DIR: gitdir } });
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- tsc needs it: spawnSync's error is an Error, code is ErrnoException's
  const tooBig = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOBUFS';
  // output cut at maxBuffer is never a success, even when git had already exited 0 (a race: it did
  // at times, and gitOut handed back the cut output as the answer)
  return { code: tooBig ? -1 : r.status ?? -1, out: r.stdout ?? Buffer.alloc(0), err: (r.stderr ?? '').toString(), tooBig };
}

/** git's output, or an error naming the command and git's first line of complaint. */
export function gitOut(gitdir: string, args: string[], input?: string): Buffer {
  const r = runGit(gitdir, args, input);
  if (r.code !== 0) throw new LsmError(`git ${args[0]} failed in ${gitdir}: ${r.err.trim().split('\n')[0] || (r.tooBig ? 'too much output' : `exit ${r.code}`)}`);
  return r.out;
}

export interface BatchObject { oid: string; type: string; size: number; body: Buffer }

/** The objects of `git cat-file --batch` output, in order; a missing one has type 'missing' and no body. */
export function batchObjects(out: Buffer): BatchObject[] {
  const objects: BatchObject[] = [];
  for (let pos = 0; pos < out.length;) {
    const nl = out.indexOf(10, pos);
    if (nl < 0) break;
    const [oid, type, size] = out.subarray(pos, nl).toString().split(' ');
    if (type === 'missing' || !Number.isFinite(Number(size))) { objects.push({ oid, type: 'missing', size: 0, body: Buffer.alloc(0) }); pos = nl + 1; continue; }
    const n = Number(size);
    objects.push({ oid, type, size: n, body: out.subarray(nl + 1, nl + 1 + n) });
    pos = nl + 1 + n + 1;
  }
  return objects;
}
