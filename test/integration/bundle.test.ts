// npm run build's bundle (scripts/bundle.mjs -> dist/lsm-start.cjs, lsm.cjs, lsm.cache): bin/lsm runs
// it, it gives what dist/ gives, and whenever it is not this build's (a dist/ module changed, a file
// missing, a file others could write) lsm runs from dist/ instead, never the bundle's older code.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/world.js';
import { fakeSendmail, testConfig } from '../helpers/config.js';

const PROC = (name: string) => join(ROOT, 'test', 'fixtures', name, 'proc');
const RECORD = join(ROOT, 'test', 'helpers', 'record-modules.mjs');

describe('the bundle bin/lsm runs', { timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-bundle-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // a copy of the package (its own dist/ to bundle and to change), node_modules and build/ shared
  const pkg = join(dir, 'pkg');
  for (const part of ['bin', 'dist', 'scripts', 'package.json']) cpSync(join(ROOT, part), join(pkg, part), { recursive: true });
  for (const part of ['node_modules', 'build']) symlinkSync(join(ROOT, part), join(pkg, part));
  for (const f of ['lsm.json', 'lsm.cjs', 'lsm.cache', 'lsm-size.cache', 'lsm-start.cjs']) rmSync(join(pkg, 'dist', f), { force: true });

  let n = 0;
  /** lsm -g then lsm -c on a fixture with standing drift, through `entry`; what each gave and which dist/ modules node loaded */
  const cronRun = (entry: string[]) => {
    const run = join(dir, `run${n++}`);
    mkdirSync(run);
    const config = testConfig(join(run, 'etc'), { SENDMAIL: fakeSendmail(run).path });
    const modules = join(run, 'modules');
    const lsm = (args: string[]) => {
      const r = spawnSync(entry[0], [...entry.slice(1), ...args, '--repo', join(run, 'repo')], { encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1', LSM_CONFIG: config, NODE_OPTIONS: `--import ${RECORD}`, LSM_TEST_MODULES: modules } });
      // commit ids and times differ from run to run
      return { code: r.status, stdout: r.stdout.replace(/\b[0-9a-f]{7,40}\b/g, 'ID'), stderr: r.stderr };
    };
    const results = [lsm(['-g', '-q', '--proc', PROC('basic')]), lsm(['-c', '--proc', PROC('hostile')])];
    const tree = execFileSync('git', ['-C', join(run, 'repo'), 'ls-tree', '-r', 'HEAD'], { encoding: 'utf8' });
    const loaded = readFileSync(modules, 'utf8').split('\n').filter((u) => u.startsWith(`file://${pkg}/dist/`)).map((u) => u.slice(`file://${pkg}/dist/`.length))
      .filter((f) => f !== 'lsm-start.cjs'); // (the entry itself)
    return { results, tree, loaded, mails: existsSync(join(run, 'outbox')) ? execFileSync('ls', [join(run, 'outbox')], { encoding: 'utf8' }).split('\n').filter(Boolean).length : 0 };
  };
  const bin = [join(pkg, 'bin', 'lsm')];
  let reference: ReturnType<typeof cronRun> | undefined; // dist/'s, from the first case

  it('built by scripts/bundle.mjs, run by bin/lsm, the same results as dist/ without loading dist/\'s modules', () => {
    const dist = reference = cronRun([process.execPath, join(pkg, 'dist', 'cli', 'main.js')]);
    expect(dist.loaded).toContain('cli/check.js');
    expect(dist.results[1].code).toBe(0);
    execFileSync(process.execPath, [join(pkg, 'scripts', 'bundle.mjs')], { stdio: 'pipe' });
    const bundled = cronRun(bin);
    expect(bundled.loaded).toEqual([]); // the bundle ran: node's module loader read no dist/ module
    expect({ ...bundled, loaded: [] }).toEqual({ ...dist, loaded: [] });
    expect(bundled.mails).toBeGreaterThan(0); // (the drift was alerted: the run did its work)
  });

  it('a changed dist/ module, a missing or others-writable bundle file: lsm runs dist/ and gives the same', () => {
    const same = (r: ReturnType<typeof cronRun>) => expect({ ...r, loaded: [] }).toEqual({ ...reference!, loaded: [] });
    const dist = (f: string) => join(pkg, 'dist', f);
    // dist/ rebuilt after the bundle (tsc alone, as vitest's setup does): one module differs
    const check = readFileSync(dist('cli/check.js'));
    appendFileSync(dist('cli/check.js'), '\n// changed\n');
    let r = cronRun(bin);
    expect(r.loaded).toContain('cli/check.js');
    same(r);
    writeFileSync(dist('cli/check.js'), check); // (this build's again: each case below is its one cause)
    for (const f of ['lsm.json']) {
      renameSync(dist(f), dist(`${f}.aside`));
      r = cronRun(bin);
      expect(r.loaded, f).toContain('cli/check.js');
      same(r);
      renameSync(dist(`${f}.aside`), dist(f));
    }
    chmodSync(dist('lsm.cjs'), 0o664);
    r = cronRun(bin);
    expect(r.loaded).toContain('cli/check.js');
    same(r);
    chmodSync(dist('lsm.cjs'), 0o644);
    // lsm-start.cjs itself missing: bin/lsm runs dist/cli/main.js
    rmSync(dist('lsm-start.cjs'));
    r = cronRun(bin);
    expect(r.loaded).toContain('cli/check.js');
    same(r);
  });
});
