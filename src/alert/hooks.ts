// Change hooks, the way etckeeper and run-parts run them: every executable in the hooks directory
// with a run-parts name, in sorted order, gets the alert as JSON on stdin and LSM_* variables.
// A hook that root does not own (or the running user, when not root), or that others may write,
// is refused: it would run with lsm's privileges.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const HOOK_TIMEOUT_MS = 30_000;
const RUN_PARTS_NAME = /^[A-Za-z0-9_-]+$/;

export interface HookResult { name: string; ok: boolean; refused?: boolean; error?: string }

export function listHooks(dir: string): { name: string; path: string; problem: string | null }[] {
  let names: string[];
  try { names = readdirSync(dir); } catch { return []; }
  const me = process.getuid?.() ?? 0;
  return names.filter((n) => RUN_PARTS_NAME.test(n)).sort().flatMap((name) => {
    const path = join(dir, name);
    let st;
    try { st = statSync(path); } catch { return []; }
    if (!st.isFile() || !(st.mode & 0o111)) return []; // not executable: skipped, as run-parts does
    let problem: string | null = null;
    if (st.uid !== 0 && st.uid !== me) problem = `owned by uid ${st.uid}, not root`;
    else if (st.mode & 0o022) problem = `writable by ${st.mode & 0o002 ? 'others' : 'group'} (mode ${(st.mode & 0o777).toString(8)})`;
    return [{ name, path, problem }];
  });
}

/** Run one hook with a time limit; it is killed by its pid when the time is up. */
export function runHook(path: string, input: string, env: Record<string, string>, timeoutMs = HOOK_TIMEOUT_MS): Promise<string | null> {
  return new Promise((resolve) => {
    const p = spawn(path, [], { env: { ...process.env, ...env }, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    const timer = setTimeout(() => { p.kill('SIGKILL'); }, timeoutMs);
    p.stderr.on('data', (d) => { if (stderr.length < 2000) stderr += d; });
    p.stdin.on('error', () => {}); // a hook may exit without reading its input
    p.on('error', (err) => { clearTimeout(timer); resolve(`cannot run: ${err.message}`); });
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(null);
      else resolve(signal === 'SIGKILL' ? `killed after ${timeoutMs / 1000} s` : `exit ${code ?? signal}${stderr ? `: ${stderr.trim().split('\n')[0]}` : ''}`);
    });
    p.stdin.end(input);
  });
}
