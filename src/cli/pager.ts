// The pager on a terminal, as git does: the commands that print history or lists send their
// output through $LSM_PAGER, else $PAGER, else `less` with LESS=FRX when LESS is unset (quit at
// once when it fits one screen, keep colours, leave the screen as it is). Never when stdout is no
// terminal (a pipe, a file, cron), never for --json, --quiet or --no-pager; LSM_PAGER (or PAGER)
// empty or `cat` turns it off. The pager is the invoking user's own program, from their own
// environment (as git's is; lsm runs as root), never one named in a file lsm reads.
//
// lsm's exit code stays its own: a pager that quits early (q after one screen, `true`) takes no
// more output, and the command finishes its job (a check still reports what it could not spool).
// lsm waits for the pager to end, however lsm ends, so the shell's prompt never lands in it.
import type { ChildProcess } from 'node:child_process';
import { fstatSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { sendOutputTo } from './output.js';

/** The commands that print history or lists (never watch, install, config or the prompts). */
const PAGED = new Set(['log', 'show', 'diff', 'blame', 'drift', 'status', 'check', 'scan', 'fleet status', 'fleet where', 'fleet log', 'fleet blame', 'fleet diff']);

// a pager word with these runs through sh -c, as git's run-command does; plain words are run
// directly, so a pager that is not there is seen (and output goes to the terminal as it is)
const SHELL_SYNTAX = /[|&;<>()$`\\"'*?[#~=%\n]/;

// git's handling of the signals that end it while a pager runs: wait for the pager, then die of it
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

export interface PagerArgs { pager?: boolean; json?: boolean; quiet?: boolean }

let pager: ChildProcess | null = null;

/** The pager's command line from the environment, or null: none (unset to cat, or empty). */
function pagerCommand(env: NodeJS.ProcessEnv = process.env): string | null {
  const chosen = (env.LSM_PAGER ?? env.PAGER ?? 'less').trim();
  return chosen === '' || chosen === 'cat' ? null : chosen;
}

/** Whether `command` ('log', 'fleet status') with these options pages its output here. */
function pages(command: string, args: PagerArgs): boolean {
  return PAGED.has(command) && args.pager !== false && !args.json && !args.quiet && onTerminal();
}

/** stdout is a terminal; a pipe or a file (cron's) is told without making process.stdout (a pipe's stream loads node's net). */
function onTerminal(): boolean {
  try {
    if (!fstatSync(1).isCharacterDevice()) return false;
  } catch {
    return false; // no stdout at all
  }
  return Boolean(process.stdout.isTTY);
}

/** Start the pager for `command` when it pages; its output goes there until lsm ends. */
export function startPager(command: string, args: PagerArgs): void {
  const line = pagerCommand();
  if (pager || line === null || !pages(command, args)) return;
  const env = { ...process.env, LESS: process.env.LESS ?? 'FRX', LV: process.env.LV ?? '-c' };
  const [file, ...words] = SHELL_SYNTAX.test(line) ? ['/bin/sh', '-c', line] : line.split(/[ \t]+/);
  // loaded only to page: cron's lsm -c never loads child_process (test/integration/cron-imports.test.ts)
  const { spawn } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  const child = spawn(file, words, { stdio: ['pipe', 'inherit', 'inherit'], env });
  child.on('error', () => {}); // could not start (no such file, not executable): no pid, below
  if (child.pid === undefined || !child.stdin) {
    child.stdin?.destroy();
    return; // plain output, no error: as if there were no pager
  }
  // blocking writes, as to a terminal: nothing is left queued when lsm exits, and a long output
  // waits for the reader instead of filling memory
  (child.stdin as unknown as { _handle?: { setBlocking?(on: boolean): void } })._handle?.setBlocking?.(true);
  child.stdin.on('error', () => {}); // EPIPE: the pager quit; output.ts drops the rest
  pager = child;
  sendOutputTo(child.stdin);
  process.on('exit', waitForPager);
  for (const signal of SIGNALS) {
    process.once(signal, () => {
      waitForPager();
      process.kill(process.pid, signal); // the handler is gone: the signal's own end (exit 128+n)
    });
  }
}

/** End the pager's input and let it end on its own (the event loop waits for it): lsm is done. */
export function endPager(): void {
  pager?.stdin?.end();
}

/**
 * End the pager's input and wait for the pager to end, synchronously: for process.exit and the
 * signals, where no event loop turns any more. A pager not yet reaped is a zombie or running.
 */
export function waitForPager(): void {
  const child = pager;
  if (!child) return;
  pager = null;
  sendOutputTo(null);
  child.stdin?.destroy();
  const nap = new Int32Array(new SharedArrayBuffer(4));
  while (child.exitCode === null && child.signalCode === null) {
    let state: string;
    try {
      state = readFileSync(`/proc/${child.pid}/stat`, 'latin1').replace(/^.*\) /s, '').charAt(0);
    } catch {
      return; // gone
    }
    if (state === 'Z' || state === 'X') return;
    Atomics.wait(nap, 0, 0, 20); // the reader reads at their own pace: this loop lasts while the pager does
  }
}
