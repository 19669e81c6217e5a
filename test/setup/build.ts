// Vitest globalSetup: the integration tests run the compiled dist/ (as users run bin/lsm), so any
// way of starting the tests (npm test, npx vitest run, one file) first makes dist/ match src/.
// A hash of src/ and tsconfig.json decides: unchanged source costs ~10 ms, a change one
// incremental tsc (~3-6 s). A type error stops the run before any test.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STAMP = join(ROOT, 'dist', '.src-hash');

export function sourceHash(): string {
  const h = createHash('sha256');
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else { h.update(p.slice(ROOT.length) + '\0'); h.update(readFileSync(p)); h.update('\0'); }
    }
  };
  walk(join(ROOT, 'src'));
  h.update(readFileSync(join(ROOT, 'tsconfig.json')));
  return h.digest('hex');
}

export default function setup(): void {
  const hash = sourceHash();
  if (existsSync(STAMP) && readFileSync(STAMP, 'utf8') === hash) return;
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json'),
      '--incremental', '--tsBuildInfoFile', join(ROOT, 'dist', '.tsbuildinfo')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`tsc failed, no test run on a stale dist/:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
  writeFileSync(STAMP, hash);
}
