'use strict';
// bin/lsm's entry (copied to dist/ by scripts/bundle.mjs): runs dist/lsm.cjs, the whole of dist/ as
// one file, compiled from the V8 code cache the build made (dist/lsm.cache): ~50 ms less CPU at every
// start than node's ESM loader reading and compiling dist/'s modules one by one (docs/cron-startup.md).
// It runs the bundle only when it is this build's: every dist/ module it holds unchanged (size and
// CRC-32, dist/lsm.json: copies and packages keep them, not mtimes), the bundle and cache of the same build id, and all of it root's and not
// writable by anyone else (the cache is code: V8 checks only its length and flags). Otherwise, or
// when a file is missing, lsm runs from dist/ as without a bundle.
const { closeSync, fstatSync, openSync, readFileSync, constants } = require('node:fs');
const { join } = require('node:path');

/** The file's bytes if root owns it (or this user, for a build not run as root) and only its owner can write it. */
function trusted(name) {
  const fd = openSync(join(__dirname, name), constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || (st.uid !== 0 && st.uid !== process.geteuid()) || (st.mode & 0o022) !== 0) return null;
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

function bundled() {
  try {
    const manifest = JSON.parse(String(trusted('lsm.json')));
    const { crc32 } = require('node:zlib');
    for (const [file, [size, crc]] of Object.entries(manifest.files)) {
      const text = readFileSync(join(__dirname, file));
      if (text.length !== size || crc32(text) !== crc) return null;
    }
    const source = String(trusted('lsm.cjs'));
    if (!source.startsWith(`// lsm build ${manifest.build}\n`)) return null;
    const cache = trusted(process.execArgv.includes('--optimize-for-size') ? 'lsm-size.cache' : 'lsm.cache');
    const id = Buffer.from(manifest.build);
    return { source, cachedData: cache && cache.subarray(0, id.length).equals(id) ? cache.subarray(id.length) : undefined };
  } catch {
    return null;
  }
}

if (require.main === module) {
  const bundle = bundled();
  if (bundle === null) import('./cli/main.js');
  else load(bundle.source, bundle.cachedData).start(process.argv.slice(2));
}

/** The bundle's exports; scripts/bundle.mjs compiles the same text the same way for the cache. */
function load(source, cachedData) {
  const { Script } = require('node:vm');
  const script = new Script(wrap(source), { filename: join(__dirname, 'lsm.cjs'), cachedData });
  // (the bundle's import() of a package is this file's: a vm script has no module loader of its own)
  return { script, ...script.runInThisContext()(require, join(__dirname, 'lsm.cjs'), (s) => import(s)) };
}

function wrap(source) {
  return `(function (require, __filename, __lsmImport) { const module = { exports: {} }; const exports = module.exports;\n${source}\nreturn module.exports; })`;
}
module.exports = { load };
