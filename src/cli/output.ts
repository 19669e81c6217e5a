// Terminal output: colour only on a TTY, never with NO_COLOR or --no-color.
import type { Change } from '../types.js';

// decided at the first colour painted: looking at process.stdout makes the stream (main.ts onFirstUse)
let wanted = true;
let enabled: boolean | undefined;

export function setColour(on: boolean): void {
  wanted = on;
  enabled = undefined;
}

const colour = () => (enabled ??= wanted && Boolean(process.stdout.isTTY) && !('NO_COLOR' in process.env));
const paint = (code: string) => (s: string) => (colour() ? `\x1b[${code}m${s}\x1b[0m` : s);
export const green = paint('32');
export const red = paint('31');
export const yellow = paint('33');
export const bold = paint('1');
export const dim = paint('2');

// where output goes: stdout, or the pager's input (pager.ts); null while lsm waits for its pager to end
let stdout: NodeJS.WritableStream | null | undefined; // undefined: process.stdout, made when first written

export function sendOutputTo(stream: NodeJS.WritableStream | null): void {
  stdout = stream;
}

/** Write text; false when it waits in memory: then `await drained()`. A closed pager takes nothing. */
function write(text: string): boolean {
  const stream = stdout === undefined ? process.stdout : stdout;
  if (stream === null || (stream as { destroyed?: boolean }).destroyed) return true;
  return stream.write(text);
}

/** Until what waits is written, or the stream closed (a pager that quit never drains). */
function drained(): Promise<void> {
  const stream = stdout === undefined ? process.stdout : stdout;
  if (stream === null) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { stream.off('drain', done); stream.off('close', done); resolve(); };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

export function out(line = ''): void {
  write(line + '\n');
}

/**
 * Many lines to stdout in 64 KiB writes, not a write (a syscall) each, waiting for a pipe to
 * drain: Node queues what a full pipe does not take, and 100k sockets of JSON queued were +100 MiB.
 */
export class ChunkedWriter {
  private parts: string[] = [];
  private size = 0;
  /** Buffer a piece; true when 64 KiB wait: then `await flush()` (no promise per line). */
  write(text: string): boolean {
    this.parts.push(text);
    this.size += text.length;
    return this.size >= 1 << 16;
  }
  async flush(): Promise<void> {
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    if (text && !write(text)) await drained();
  }
}

export function shortId(oid: string): string {
  return oid.slice(0, 10);
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A change as `lsm scan` prints it: the summary, then each line with + or -. */
export function printChange(change: Change): void {
  const lines = [`${bold(shortId(change.commit))} ${change.summary}`];
  for (const f of change.files) {
    for (const l of f.added) lines.push(green(`+ ${f.path}  ${l}`));
    for (const l of f.removed) lines.push(red(`- ${f.path}  ${l}`));
  }
  out(lines.join('\n')); // one write, not one a line (a change can be tens of thousands of lines)
}

/** A unified diff with git's colours. */
export function printPatch(patch: string): void {
  out(patch.replace(/\n$/, '').split('\n').map((line) =>
    line.startsWith('+++') || line.startsWith('---') || line.startsWith('diff ') ? bold(line)
      : line.startsWith('+') ? green(line) : line.startsWith('-') ? red(line) : line.startsWith('@@') ? paint('36')(line) : line).join('\n'));
}
