// Hooks run as the very file checked, in their own process group, bounded in time and output.
// Real processes: sh scripts in a temporary directory.
import { describe, expect, it } from 'vitest';
import { chmodSync, chownSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listHooks, runHook } from '../../src/alert/hooks.js';

const NOBODY = 65534;
// a killed process whose parent (the hook) is gone may stay a zombie until init reaps it
const alive = (pid: number) => { try { return !/^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; } };
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20)); // bounded: 2 s
  return !alive(pid);
}
function hook(dir: string, name: string, body: string, mode = 0o755): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, mode);
  return p;
}

describe('hooks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-hooks-'));

  it('a hook done while its child holds the pipes does not wait for that child, which is killed', { timeout: 20_000 }, async () => {
    const p = hook(dir, '10-bg', `sleep 300 &\necho $! > ${dir}/bg.pid\ncat >/dev/null\nexit 0`);
    expect(await runHook(p, '{}\n', {})).toBeNull();
    const pid = Number(readFileSync(join(dir, 'bg.pid'), 'utf8'));
    expect(await gone(pid)).toBe(true);
  });

  it('the time limit kills the whole process group, not just the hook', { timeout: 20_000 }, async () => {
    const p = hook(dir, '20-slow', `(sleep 300; echo late) &\necho $! > ${dir}/slow.pid\nsleep 300`);
    expect(await runHook(p, '', {}, 500)).toBe('killed after 0.5 s');
    const pid = Number(readFileSync(join(dir, 'slow.pid'), 'utf8'));
    expect(await gone(pid)).toBe(true);
  });

  it('keeps a capped part of what a hook writes', { timeout: 20_000 }, async () => {
    const p = hook(dir, '30-loud', `head -c 1000000 /dev/zero | tr '\\0' x >&2\nexit 3`);
    const r = await runHook(p, '', {});
    expect(r).toMatch(/^exit 3: x+$/);
    expect(r!.length).toBeLessThan(2100);
  });

  it('refuses a symlinked hook, one another user owns, one others may write: none of them runs', async () => {
    const real = hook(dir, 'real', `touch ${dir}/ran-real`);
    const hooks = mkdtempSync(join(tmpdir(), 'lsm-hooks.d-'));
    symlinkSync('/bin/sh', join(hooks, '00-sh'));
    symlinkSync(real, join(hooks, '05-link'));
    const theirs = hook(hooks, '10-theirs', `touch ${dir}/ran-theirs`);
    chownSync(theirs, NOBODY, NOBODY);
    hook(hooks, '20-open', `touch ${dir}/ran-open`, 0o757);
    hook(hooks, '30-ok', `touch ${dir}/ran-ok`);
    const listed = listHooks(hooks);
    expect(listed.map((h) => [h.name, h.problem])).toEqual([
      ['00-sh', 'a symbolic link (a hook must be the file itself)'],
      ['05-link', 'a symbolic link (a hook must be the file itself)'],
      ['10-theirs', `owned by uid ${NOBODY}, not root`],
      ['20-open', 'writable by others (mode 757)'],
      ['30-ok', null],
    ]);
    // runHook checks the opened file again, whatever listHooks said: the file checked is the file run
    expect(await runHook(join(hooks, '05-link'), '', {})).toBe('refused: it is a symbolic link');
    expect(await runHook(join(hooks, '10-theirs'), '', {})).toMatch(new RegExp(`^refused: .*10-theirs is owned by uid ${NOBODY}, not root`));
    expect(await runHook(join(hooks, '20-open'), '', {})).toMatch(/^refused: .*20-open is writable by others \(mode 757;/);
    expect(await runHook(join(hooks, '30-ok'), '', {})).toBeNull();
    expect(['real', 'theirs', 'open', 'ok'].map((n) => { try { readFileSync(join(dir, `ran-${n}`)); return n; } catch { return null; } })).toEqual([null, null, null, 'ok']);
  });
});
