// npm run bench [-- NAME...] [-- --quick]: runs bench/*.bench.mjs (or the named ones) and writes
// bench/RESULTS.md with the machine, the date, how to reproduce, and each benchmark's section.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { machine } from './lib.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const names = args.filter((a) => !a.startsWith('--'));
const here = new URL('.', import.meta.url).pathname;
const files = readdirSync(here).filter((f) => f.endsWith('.bench.mjs')).sort().filter((f) => names.length === 0 || names.some((n) => f.startsWith(n)));
if (process.getuid?.() !== 0) { console.error('bench: run as root (the socket farm makes network namespaces)'); process.exit(2); }

const before = machine();
// each benchmark's section is kept in bench/results/, so running one part keeps the others' figures
const resultsDir = new URL('results/', import.meta.url);
mkdirSync(resultsDir, { recursive: true });
for (const f of files) {
  const t0 = Date.now();
  console.error(`bench: ${f} ...`);
  const { default: run } = await import(`./${f}`);
  const section = await run({ quick });
  const info = machine();
  writeFileSync(new URL(f.replace('.bench.mjs', '.md'), resultsDir), `${section}\n\n_Measured ${new Date().toISOString()}, load average after: ${info.load}._\n`);
  console.error(`bench: ${f} done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
const sections = readdirSync(resultsDir).filter((f) => f.endsWith('.md')).sort().map((f) => readFileSync(new URL(f, resultsDir), 'utf8').trim());
const after = machine();
const text = [
  '# lsm benchmarks',
  '',
  `Run ${new Date().toISOString()} on ${before.cpus}, ${before.memory}, Linux ${before.kernel}, Node ${before.node}, ${before.ss}, ${before.git}.`,
  `Load average before: ${before.load}; after: ${after.load} (other work on the machine shows here).`,
  '',
  'Reproduce: `npm ci && npm run bench` as root (`npm run bench -- scan` or `-- history` for one part, `-- --quick` for a smoke run).',
  'The socket farm is `bench/sockfarm.py` (a copy of the shared one, so a clone benches on its own); histories come from `bench/gen-history.mjs`.',
  '',
  ...sections.flatMap((s) => [s, '']),
].join('\n');
writeFileSync(new URL('RESULTS.md', import.meta.url), text);
console.log(text);
