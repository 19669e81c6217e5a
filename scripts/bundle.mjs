// npm run build's second step (after tsc): dist/ as one CommonJS file, dist/lsm.cjs, with a V8 code
// cache of it, dist/lsm.cache, and dist/lsm-start.cjs, which bin/lsm runs: it runs the bundle when it
// is this build's, dist/ otherwise (docs/cron-startup.md). Only lsm's own modules are in the bundle:
// the packages (yargs, isomorphic-git, nodemailer, diff) are imported from node_modules where they
// are used, as from dist/, and the native reader is loaded by its path at run time.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { rolldown } from 'rolldown';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const out = (name) => join(dist, name);
// node [--optimize-for-size] bundle.mjs --cache NAME BUILD: a code cache, in a process of its own run
// with bin/lsm's flags (V8 takes a cache only under the flags it was made with)
if (process.argv[2] === '--cache') await makeCache(process.argv[3], process.argv[4]);
else await bundleAll();

async function bundleAll() {
  // the manifest first: without it lsm-start.cjs runs dist/, never a bundle of an older build
  const OUTPUTS = ['lsm.json', 'lsm.cjs', 'lsm.cache', 'lsm-size.cache', 'lsm-start.cjs'];
  for (const name of OUTPUTS) rmSync(out(name), { force: true });
  const build = randomBytes(8).toString('hex');
  const files = {};
  const bundle = await rolldown({
    input: join(dist, 'cli', 'bundle-entry.js'),
    platform: 'node',
    logLevel: 'silent',
    plugins: [{
      // node's builtins required where a module is first run, not all at the bundle's top (where a
      // bundler puts external imports): a run loads only the builtins its commands use
      name: 'lsm-lazy-builtins',
      resolveId(id, importer) {
        if (!isBuiltin(id)) return null;
        return importer?.startsWith('\0builtin:') ? { id, external: true } : { id: `\0builtin:${id}`, moduleSideEffects: false };
      },
      load(id) { return id.startsWith('\0builtin:') ? `module.exports = require(${JSON.stringify(id.slice(9))});` : null; },
    }, {
      // packages stay in node_modules (lsm imports each only where it is used)
      name: 'lsm-packages',
      resolveId(id) { return /^[@a-z]/.test(id) && !isBuiltin(id) ? { id, external: true } : null; },
    }, {
      // import.meta.url of each module: its place in dist/ (the bundle is in dist/ beside them), and
      // the list of modules the bundle holds, for lsm-start.cjs's check that dist/ is this build
      name: 'lsm-modules',
      transform(code, id) {
        if (!id.startsWith(dist)) return null;
        const text = readFileSync(id);
        files[relative(dist, id)] = [text.length, crc32(text)];
        const url = `require("node:url").pathToFileURL(require("node:path").resolve(__filename, "..", ${JSON.stringify(relative(dist, id))})).href`;
        return code.includes('import.meta.url') ? code.replaceAll('import.meta.url', url) : null;
      },
    }, {
      // a package's import(): lsm-start.cjs's, which has node's module loader (a vm script has none)
      name: 'lsm-package-import',
      renderChunk(code) { return code.replace(/\bimport\((?=["'][@a-z])/g, '__lsmImport('); },
    }],
  });
  await bundle.write({ file: out('lsm.cjs'), format: 'cjs', codeSplitting: false, banner: `// lsm build ${build}` });
  await bundle.close();
  if (/\bimport\(/.test(readFileSync(out('lsm.cjs'), 'utf8'))) throw new Error('lsm.cjs: an import() left (a vm script cannot run it)');
  copyFileSync(join(root, 'scripts', 'lsm-start.cjs'), out('lsm-start.cjs'));

  execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--cache', 'lsm.cache', build], { stdio: 'inherit' });
  // bin/lsm's node flag on a host with many open files
  execFileSync(process.execPath, ['--optimize-for-size', fileURLToPath(import.meta.url), '--cache', 'lsm-size.cache', build], { stdio: 'inherit' });
  writeFileSync(out('lsm.json'), JSON.stringify({ build, files }));
  for (const name of OUTPUTS) chmodSync(out(name), 0o644);
}

/**
 * The code cache: the bundle compiled as lsm-start.cjs compiles it, after a cron run with nothing new
 * (lsm -g then lsm -c of test/fixtures/basic's /proc, in a temporary repository; V8 keeps every
 * function compiled so far), or, without the fixture (a copy without tests), after check's modules
 * are loaded. The cron run ends the process: the cache is written at its exit.
 */
async function makeCache(name, id) {
  const { load } = createRequire(import.meta.url)(out('lsm-start.cjs'));
  const loaded = load(readFileSync(out('lsm.cjs'), 'utf8'));
  const save = () => writeFileSync(out(name), Buffer.concat([Buffer.from(id), loaded.script.createCachedData()]));
  const proc = join(root, 'test', 'fixtures', 'basic', 'proc');
  if (!existsSync(proc)) {
    await loaded.warm();
    return save();
  }
  const tmp = mkdtempSync(join(tmpdir(), 'lsm-cache-'));
  const conf = join(tmp, 'lsm.conf');
  writeFileSync(join(tmp, 'none'), '');
  writeFileSync(conf, `SPOOL_DIR="${join(tmp, 'spool')}"\nEVENT_LOG=""\nSENDMAIL=""\nHOOKS_DIR="${join(tmp, 'hooks')}"\nIGNORE_FILE="${join(tmp, 'none')}"\n`, { mode: 0o600 });
  const args = ['--config', conf, '--repo', join(tmp, 'repo'), '--proc', proc];
  execFileSync(process.execPath, [out('cli/main.js'), '-g', '-q', ...args], { stdio: 'inherit' });
  process.on('exit', (code) => {
    rmSync(tmp, { recursive: true, force: true });
    if (code === 0) save();
  });
  loaded.start(['-c', ...args]); // (its run ends the process)
}
