// The central drain reads a pushed commit with the git binary; the host reads its own with
// isomorphic-git. Both must tell the same change and the same diff, whatever the commit did.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pushedChange } from '../../src/fleet/commit-read.js';
import { commitChange, commitDiff, unifiedDiff } from '../../src/store/history.js';
import { atomicFs } from '../../src/store/atomic-fs.js';

const EMPTY = ['host/udp', 'host/raw', 'host/packet'];

/** A commit of exactly these files (path -> text) on refs/heads/x, child of parent. */
function commit(gitdir: string, files: Record<string, string>, t: number, message: string, parent: string | null): string {
  let s = `commit refs/heads/x\ncommitter lsm <lsm@h> ${1_790_000_000 + t} +0000\ndata ${Buffer.byteLength(message)}\n${message}\n${parent ? `from ${parent}\n` : ''}deleteall\n`;
  for (const [p, body] of Object.entries(files)) s += `M 100644 inline ${JSON.stringify(p)}\ndata ${Buffer.byteLength(body)}\n${body}\n`;
  execFileSync('git', ['--git-dir', gitdir, 'fast-import', '--quiet', '--force'], { input: s });
  return execFileSync('git', ['--git-dir', gitdir, 'rev-parse', 'refs/heads/x'], { encoding: 'utf8' }).trim();
}

describe('a pushed commit read with git', () => {
  it('gives the change and the diff that the host\'s own reading (isomorphic-git) gives', async () => {
    const gitdir = join(mkdtempSync(join(tmpdir(), 'lsm-commit-read-')), 'fleet.git');
    execFileSync('git', ['init', '--quiet', '--bare', gitdir]);
    const base: Record<string, string> = { 'host/tcp': '0.0.0.0:22  sshd  root  /usr/sbin/sshd\n', 'host/unix': '/run/a.sock  stream  a  root  /a\n', ...Object.fromEntries(EMPTY.map((p) => [p, ''])) };
    const steps: Record<string, string>[] = [
      base,
      { ...base, 'host/tcp': base['host/tcp'] + '0.0.0.0:4444  nc  root  /usr/bin/nc\n' }, // a line added
      { ...base, 'netns/café-☕/tcp': '10.0.0.1:80  nginx  www-data  /usr/sbin/nginx\n', 'netns/café-☕/udp': '' }, // a namespace appears (non-ASCII label), a line goes
      { ...base, 'host/unix': '/run/b.sock  stream  b  root  /b\n/run/a.sock  stream  a  root  /a\n', 'host/unattributed': '' }, // the namespace goes; an empty file comes
      { ...base, 'host/tcp': '' }, // every line of a file gone
    ];
    const repo = { dir: gitdir, gitdir, fs: atomicFs(gitdir), cache: {} };
    let parent: string | null = null;
    for (const [i, files] of steps.entries()) {
      const oid = commit(gitdir, files, i * 10, `+${i} -0: step ${i}\n\nbody`, parent);
      const got = pushedChange(gitdir, oid);
      const want = await commitChange(repo, oid);
      expect(got.change, `step ${i}`).toEqual(want);
      expect(got.change.parent).toBe(parent);
      expect(got.change.summary).toBe(`+${i} -0: step ${i}`);
      if (parent) expect(unifiedDiff(got.before, got.after), `step ${i}`).toBe(await commitDiff(repo, parent, oid));
      else expect([got.before.size, got.after.size]).toEqual([0, Object.keys(files).length]); // a root: its whole tree added
      parent = oid;
    }
  });

  it('says what is wrong with an object that is not a commit or not there', () => {
    const gitdir = join(mkdtempSync(join(tmpdir(), 'lsm-commit-read-')), 'fleet.git');
    execFileSync('git', ['init', '--quiet', '--bare', gitdir]);
    const blob = execFileSync('git', ['--git-dir', gitdir, 'hash-object', '-w', '--stdin'], { input: 'x\n', encoding: 'utf8' }).trim();
    expect(() => pushedChange(gitdir, blob)).toThrow(`${blob} is a blob, not a commit`);
    expect(() => pushedChange(gitdir, '1'.repeat(40))).toThrow(`object ${'1'.repeat(40)} is missing`);
  });
});
