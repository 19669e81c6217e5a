// Change hooks, the way etckeeper and run-parts run them: every executable in the hooks directory
// with a run-parts name, in sorted order, gets the alert as JSON on stdin and LSM_* variables.
// A hook runs with lsm's privileges, so (safe-path.ts) its directory and every parent must be safe,
// a symlink is refused, and the file run is the very file checked: it is opened (O_NOFOLLOW), its
// owner and mode are checked on that descriptor, and the child executes /proc/self/fd/3, the
// descriptor it inherits. It runs in its own process group: the time limit kills the whole group,
// and whatever the hook leaves running in it is killed when the hook exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, fstatSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkPath, openChecked } from '../safe-path.js';
import { boundField, bytes, HOOK_INPUT_MAX } from './bounds.js';
import { seeWhole, type Alert } from './message.js';
import { alertRecord } from './record.js';

export const HOOK_TIMEOUT_MS = 30_000;
const OUTPUT_CAP = 2000; // characters of a hook's stderr kept for the report
const RUN_PARTS_NAME = /^[A-Za-z0-9_-]+$/;

/** A hook's environment: LSM_* variables, each bounded (one over 128 KiB makes exec fail: E2BIG). */
export function hookEnv(a: Alert): Record<string, string> {
  return {
    LSM_ID: a.id, LSM_COMMIT: a.commit, LSM_PARENT: a.parent ?? '', LSM_SUMMARY: boundField(a.summary), LSM_HOST: a.host, LSM_REPO: a.repo,
    LSM_ADDED: String(a.added.length), LSM_REMOVED: String(a.removed.length),
  };
}

/**
 * A hook's stdin: the event log's record and the diff, one JSON line of at most HOOK_INPUT_MAX
 * bytes. The sockets come first (record.ts); the diff gets what they leave, whole lines from its
 * start, and `diffCut` then says how many lines are missing and how to see them.
 */
export function hookInput(a: Alert, max = HOOK_INPUT_MAX): string {
  const cutNote = (lines: number) => ({ lines, see: seeWhole(a) });
  const tail = bytes(JSON.stringify({ diff: '', diffCut: cutNote(a.diff.length) })); // what follows the record, at most
  const record = alertRecord(a, max - 1 - tail);
  let left = max - 1 - tail - bytes(JSON.stringify(record));
  if (bytes(JSON.stringify(a.diff)) - 2 <= left) return JSON.stringify({ ...record, diff: a.diff }) + '\n';
  const lines = a.diff.split(/(?<=\n)/);
  let kept = 0;
  for (; kept < lines.length; kept++) {
    const n = bytes(JSON.stringify(lines[kept])) - 2; // as it is written inside the diff's string
    if (n > left) break;
    left -= n;
  }
  return JSON.stringify({ ...record, diff: lines.slice(0, kept).join(''), diffCut: cutNote(lines.length - kept) }) + '\n';
}

export interface HookResult { name: string; ok: boolean; refused?: boolean; error?: string }

export interface Hook { name: string; path: string; problem: string | null }

export function listHooks(dir: string): Hook[] {
  let names: string[];
  try { names = readdirSync(dir); } catch { return []; }
  checkPath(dir, 'hooks directory', 'dir'); // again: lsm watch runs for days
  const me = process.geteuid?.() ?? 0;
  return names.filter((n) => RUN_PARTS_NAME.test(n)).sort().flatMap((name): Hook[] => {
    const path = join(dir, name);
    let st;
    try { st = lstatSync(path); } catch { return []; }
    if (st.isSymbolicLink()) return [{ name, path, problem: 'a symbolic link (a hook must be the file itself)' }];
    if (!st.isFile() || !(st.mode & 0o111)) return []; // not executable: skipped, as run-parts does
    // what is run is checked again on the opened file (runHook): this is for the report
    let problem: string | null = null;
    if (st.uid !== 0 && st.uid !== me) problem = `owned by uid ${st.uid}, not root`;
    else if (st.mode & 0o022) problem = `writable by ${st.mode & 0o002 ? 'others' : 'group'} (mode ${(st.mode & 0o777).toString(8)})`;
    return [{ name, path, problem }];
  });
}

/** Open a hook for running; the descriptor, or why it is refused. */
function openHook(path: string): { fd: number } | { problem: string } {
  let fd: number;
  try {
    fd = openChecked(path, constants.O_RDONLY);
  } catch (err) {
    return { problem: (err as Error).message.replace(/^refusing [^:]*: /, '') };
  }
  if (!(fstatSync(fd).mode & 0o111)) { closeSync(fd); return { problem: 'not executable' }; }
  return { fd };
}

function killGroup(pid: number | undefined): void {
  if (pid) try { process.kill(-pid, 'SIGKILL'); } catch { /* the group is gone */ }
}

/**
 * Run one hook with a time limit over its whole process group. Resolves with null when it exits
 * 0, else one line saying why (refused, killed, exit code and the first line of its stderr).
 */
export function runHook(path: string, input: string, env: Record<string, string>, timeoutMs = HOOK_TIMEOUT_MS): Promise<string | null> {
  const opened = openHook(path);
  if ('problem' in opened) return Promise.resolve(`refused: ${opened.problem}`);
  return new Promise((resolve) => {
    let p: ChildProcess;
    try {
      p = spawn('/proc/self/fd/3', [], { env: { ...process.env, ...env, LSM_HOOK: path }, stdio: ['pipe', 'ignore', 'pipe', opened.fd], detached: true, argv0: path });
    } catch (err) { // some exec failures are thrown, not emitted (ETXTBSY: the hook is being written)
      resolve(`cannot run: ${(err as Error).message}`);
      return;
    } finally {
      closeSync(opened.fd); // the child has its own copy
    }
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; killGroup(p.pid); }, timeoutMs);
    p.stderr!.on('data', (d: Buffer) => { if (stderr.length < OUTPUT_CAP) stderr = (stderr + d.toString()).slice(0, OUTPUT_CAP); });
    p.stdin!.on('error', () => {}); // a hook may exit without reading its input
    p.on('error', (err) => { clearTimeout(timer); resolve(`cannot run: ${err.message}`); });
    // 'exit', not 'close': a child left holding the pipes must not hold lsm
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      killGroup(p.pid);
      p.stderr!.destroy();
      if (code === 0) resolve(null);
      else resolve(timedOut ? `killed after ${timeoutMs / 1000} s` : `exit ${code ?? signal}${stderr ? `: ${stderr.trim().split('\n')[0]}` : ''}`);
    });
    p.stdin!.end(input);
  });
}
