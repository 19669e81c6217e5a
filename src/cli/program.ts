// lsm's program: wires the commands (one file each) into yargs, keeps LSM's old flags (-g, -c, -d)
// working, and turns user errors into one line and an exit code. Started by main.ts (the ESM dist)
// or bundle-entry.ts (the one-file bundle and its startup snapshot, docs/cron-startup.md).
import { readFileSync } from 'node:fs';
import { EXIT, LsmError, ioError, systemIoError } from '../errors.js';
import { isRecordingRun, raiseExitCode } from '../run/outcome.js';
import { errorLine, exitFor } from './exit.js';
import { fastPath, rewriteLegacyFlags } from './fast-path.js';
import { GLOBAL_OPTIONS } from './global-options.js';
import { checkCommandLine } from './option-check.js';
import { setColour } from './output.js';
import { endPager, startPager, waitForPager } from './pager.js';

/** package.json's version (lsm --version): read on yargs' path only, not at every start */
const version = (): string => (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function fail(message: string, code: number): never {
  waitForPager(); // the error after what the pager showed, not under it
  process.stderr.write(errorLine(message)); // yargs' messages run over several lines ('Invalid values:\n  Argument: ...')
  process.exit(code);
}

/** Run lsm with its command line `argv`: the process ends with lsm's exit code. */
export function start(argv: string[]): void {
  guardStdio();
  // a system I/O error no write path worded (a full disk) is one line, not a stack
  main(argv).then(endPager, (err: unknown) => {
    const { code, text } = exitFor(systemIoError(err));
    waitForPager();
    process.stderr.write(text);
    process.exit(code);
  });
}

// A closed pipe (lsm log -p | head -1) ends quietly, as git does when SIGPIPE kills it: exit 141
// (128 + SIGPIPE), no stack. Node ignores SIGPIPE, so the write fails with EPIPE instead. Output
// that cannot be written (stdout on a full disk, > /dev/full) is a failure: one line and exit 1.
// A run that records (scan, -c, watch) does not stop there: it finishes its job, the rest of its
// output is dropped (the stream is destroyed), and the exit is 141 or 1 unless a failure outranks it.
function guardStdio(): void {
  for (const name of ['stdout', 'stderr'] as const) {
    onFirstUse(name, (stream) => stream.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code === 'EPIPE' ? EXIT.OUTPUT_CLOSED : EXIT.FAILURE;
      if (code === EXIT.FAILURE && name === 'stdout') process.stderr.write(errorLine(ioError('cannot write output', err).message)); // (stderr failing too: its own error exits)
      if (!isRecordingRun()) process.exit(code);
      raiseExitCode(code);
    }));
  }
}

/**
 * Run `attach` on process[name] when something first uses it (node makes the stream then). A run
 * that writes nothing (cron's lsm -c with nothing new) never makes one: a pipe's stream loads
 * node's net and stream modules, ~10 ms of CPU at every start.
 */
function onFirstUse(name: 'stdout' | 'stderr', attach: (stream: NodeJS.WriteStream) => void): void {
  const own = Object.getOwnPropertyDescriptor(process, name)!;
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: own.enumerable,
    get() {
      Object.defineProperty(process, name, own); // node's own getter again: made once, cached there
      const stream = process[name];
      attach(stream);
      return stream;
    },
  });
}

export async function main(argv: string[]): Promise<void> {
  const args = rewriteLegacyFlags(argv);
  if (await fastPath(args)) return;
  const [{ default: yargs }, { commands }] = await Promise.all([import('yargs'), import('./commands.js')]);
  checkCommandLine(args, commands); // every value, before anything runs (yargs' reading hides some)
  const parser = yargs(args)
    .scriptName('lsm')
    .usage('$0 <command> [options]\n\nLinux Socket Monitor: snapshots every listening port, sniffer and unix socket into git and tells you what changed.\nLSM flags: lsm -g (baseline), lsm -c (check, what cron runs), lsm -d (forget the baseline).')
    .options(GLOBAL_OPTIONS)
    .middleware((a) => {
      setColour(a.color !== false);
      startPager(a._.slice(0, a._[0] === 'fleet' ? 2 : 1).join(' '), a);
    })
    // eslint-disable-next-line @typescript-eslint/no-unsafe-argument -- each command types its own argv (commands.ts)
    .command(commands)
    .demandCommand(1, 'name a command (lsm --help lists them)')
    .strict()
    .recommendCommands()
    .version(version())
    .alias('h', 'help')
    .alias('V', 'version')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .epilogue('Exit codes: 0 ok; 1 failure (blame: nothing matched); 2 bad usage or config; 3 changes found (--exit-code); 65 repository damaged (alerted, repaired); 75 repository busy; 77 unsafe path (owner or mode); 141 output pipe closed.\nDocs: README.md, lsm(8).')
    .fail((msg, err) => {
      if (err instanceof LsmError) fail(err.message, err.exitCode);
      if (err && err.name !== 'YError') throw err; // a YError is yargs' own word on the command line
      fail(`${msg ?? err.message} (lsm --help for usage)`, EXIT.USAGE);
    });
  await parser.parseAsync();
}
