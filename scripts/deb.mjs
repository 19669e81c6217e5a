#!/usr/bin/env node
// npm run deb: lsm_<version>_<arch>.deb with dpkg-deb. The program directory is made by `lsm install`'s
// own installProgram from a staging copy whose node_modules is `npm ci --omit=dev`, and every file
// under /etc is the text `lsm install` writes (imported from dist/), so the package and `lsm install`
// never drift. Debian keeps /usr/local for the administrator, so the package puts the program in
// /usr/lib/lsm, the command in /usr/sbin/lsm and the man page in /usr/share/man where `lsm install`
// uses /usr/local; config, history, cron and logrotate paths are install's own.
// Usage: node scripts/deb.mjs [--out DIR]   (dist/ and build/Release/sockdiag.node must be built)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, copyFileSync, openSync, readSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TEMPLATES = join(ROOT, 'packaging', 'deb');
const LIB = '/usr/lib/lsm';
const COMMAND = '/usr/sbin/lsm';
const NODE = '/usr/bin/node'; // where Debian's nodejs and NodeSource's both put it
const MAINTAINER = 'lsm maintainers <maintainers@users.noreply.r-seed-25dc8cfb.example>';

const die = (msg) => { process.stderr.write(`deb: ${msg}\n`); process.exit(1); };
const argOut = process.argv.indexOf('--out');
const outDir = resolve(argOut > 0 ? process.argv[argOut + 1] ?? die('--out needs a directory') : ROOT);
if (!existsSync(join(ROOT, 'dist', 'cli', 'install.js'))) die('dist/ is not built: run npm run build first');
const addon = join(ROOT, 'build', 'Release', 'sockdiag.node');
if (!existsSync(addon)) die('build/Release/sockdiag.node is not built (npm ci builds it with node-gyp; g++ and make are needed)');

const { installProgram, productionPackages } = await import(join(ROOT, 'dist', 'cli', 'install-files.js'));
const { commandScript, defaultConfigText, IGNORE_TEXT, installPaths, scheduleSpec, SYSTEM_ENV, template } = await import(join(ROOT, 'dist', 'cli', 'install.js'));
const { KEYS } = await import(join(ROOT, 'dist', 'config.js'));

process.umask(0o022);
const pkgJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const version = `${pkgJson.version}-1`;
const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' }).trim());
const work = mkdtempSync(join(tmpdir(), 'lsm-deb-'));
try {
  // 1. staging: the program as a clone would have it, with production dependencies only
  const stage = join(work, 'stage');
  mkdirSync(stage);
  for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(ROOT, f), join(stage, f));
  // --ignore-scripts: lsm's own install/prepare would rebuild what is copied below; no dependency has a build step
  execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: stage, stdio: ['ignore', 'ignore', 'inherit'] });
  for (const part of ['bin', 'dist', 'hooks', 'docs', 'README.md', 'web']) cpSync(join(ROOT, part), join(stage, part), { recursive: true });
  mkdirSync(join(stage, 'build', 'Release'), { recursive: true });
  copyFileSync(addon, join(stage, 'build', 'Release', 'sockdiag.node'));

  // 2. the package's tree
  const pkg = join(work, 'pkg');
  const at = (p) => join(pkg, p);
  const put = (path, text, mode) => { mkdirSync(dirname(at(path)), { recursive: true }); writeFileSync(at(path), text); chmodSync(at(path), mode); };
  mkdirSync(at('usr/lib'), { recursive: true });
  installProgram(at(LIB), stage);
  execFileSync('strip', ['--strip-unneeded', '--remove-section=.comment', '--remove-section=.note', at(`${LIB}/build/Release/sockdiag.node`)]);
  chmodSync(at(`${LIB}/build/Release/sockdiag.node`), 0o644); // a shared object is not a program
  tidyProgram(at(LIB));
  put(COMMAND, commandScript(LIB, NODE), 0o755);

  const p = installPaths('');
  // the default config names this machine's host name and sendmail: on the installing host they are its own
  const hostDependent = new Map([['HOST_ID', "<this host's name>"], ['SENDMAIL', '<the first of /usr/sbin/sendmail, /usr/lib/sendmail that exists>']]);
  const config = defaultConfigText().split('\n').map((line) => {
    const key = /^#([A-Z_]+)="/.exec(line)?.[1];
    return key && hostDependent.has(key) && line === `#${key}="${KEYS[key].default(SYSTEM_ENV)}"` ? `#${key}="${hostDependent.get(key)}"` : line;
  }).join('\n');
  put(p.config, config, 0o600);
  put(p.ignore, IGNORE_TEXT, 0o644);
  mkdirSync(at(p.hooksDir), { recursive: true });
  const interval = KEYS.INTERVAL.default(SYSTEM_ENV);
  // after `apt remove` the cron entry stays (a conffile) and the command is gone: the entry then does nothing, quietly
  put(p.cron, template('cron.d/lsm', { LSM: `[ ! -x ${COMMAND} ] || ${COMMAND}`, INTERVAL: interval, CRON_SPEC: scheduleSpec(interval).cron }), 0o644);
  put(p.logrotate, template('logrotate.d/lsm', { EVENT_LOG: KEYS.EVENT_LOG.default(SYSTEM_ENV) }), 0o644);
  const conffiles = [p.config, p.ignore, p.cron, p.logrotate];

  const gz = (buf) => gzipSync(buf, { level: 9 }); // no name, no time in the header: gzip -9n
  put('/usr/share/man/man8/lsm.8.gz', gz(readFileSync(join(ROOT, 'docs', 'lsm.8'))), 0o644);
  const date = new Date(epoch * 1000).toUTCString().replace(/GMT$/, '+0000');
  put('/usr/share/doc/lsm/changelog.Debian.gz', gz(Buffer.from(`lsm (${version}) unstable; urgency=medium\n\n  * Package built by npm run deb (scripts/deb.mjs) from lsm ${pkgJson.version}.\n\n -- ${MAINTAINER}  ${date}\n`)), 0o644);
  put('/usr/share/doc/lsm/copyright', copyright(stage), 0o644);
  put('/usr/share/lintian/overrides/lsm', readFileSync(join(TEMPLATES, 'lintian-overrides'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).join('\n') + '\n', 0o644);

  // 3. control files
  const files = walk(pkg);
  const installedKiB = files.reduce((n, f) => n + (f.isFile ? Math.ceil(f.size / 1024) : 1), 0);
  put('/DEBIAN/control', fill(readFileSync(join(TEMPLATES, 'control.in'), 'utf8'), { VERSION: version, ARCH: arch, MAINTAINER, INSTALLED_SIZE: String(installedKiB), SHLIBS: shlibs(at(`${LIB}/build/Release/sockdiag.node`)) }), 0o644);
  put('/DEBIAN/conffiles', conffiles.map((f) => `${f}\n`).join(''), 0o644);
  const conf = new Set(conffiles.map((f) => f.slice(1)));
  put('/DEBIAN/md5sums', files.filter((f) => f.isFile && !conf.has(f.rel)).map((f) => `${createHash('md5').update(readFileSync(join(pkg, f.rel))).digest('hex')}  ${f.rel}\n`).join(''), 0o644);
  for (const s of ['postinst', 'postrm']) put(`/DEBIAN/${s}`, readFileSync(join(TEMPLATES, s)), 0o755);

  // 4. the archive: root-owned, every time the last commit's (reproducible)
  chmodSync(pkg, 0o755);
  for (const f of walk(pkg)) if (!f.isLink) utimesSync(join(pkg, f.rel), epoch, epoch);
  mkdirSync(outDir, { recursive: true });
  const deb = join(outDir, `lsm_${version}_${arch}.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', pkg, deb], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) } });
  process.stdout.write(`${deb}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

/**
 * Production files only: npm packages ship their own dev metadata (.eslintrc, .npmignore, .github)
 * and dist/ a build stamp: no dotfile in the program is read at run time. A file is executable
 * exactly when it is a script (#!) or an ELF program: npm's tarballs carry stray modes.
 */
function tidyProgram(lib) {
  const visit = (d) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      const st = lstatSync(full);
      if (name.startsWith('.')) { rmSync(full, { recursive: true, force: true }); continue; }
      if (st.isDirectory()) { visit(full); continue; }
      if (!st.isFile() || name.endsWith('.node')) continue;
      const head = Buffer.alloc(4);
      const fd = openSync(full, 'r');
      try { readSync(fd, head, 0, 4, 0); } finally { closeSync(fd); }
      const runnable = head.subarray(0, 2).toString() === '#!' || head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
      chmodSync(full, runnable ? 0o755 : 0o644);
    }
  };
  visit(lib);
}

function fill(text, values) {
  return text.replace(/@([A-Z_]+)@/g, (_, k) => values[k] ?? die(`no value for @${k}@`));
}

/** Every entry under dir (relative paths, sorted), for Installed-Size, md5sums and times. */
function walk(dir) {
  const out = [];
  const visit = (d) => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      const rel = relative(dir, full);
      if (rel === 'DEBIAN') continue;
      const st = lstatSync(full);
      out.push({ rel, isFile: st.isFile(), isLink: st.isSymbolicLink(), size: st.size });
      if (st.isDirectory()) visit(full);
    }
  };
  visit(dir);
  return out;
}

/** The shared libraries the addon links, as Depends (dpkg-shlibdeps, from dpkg-dev). */
function shlibs(object) {
  const d = join(work, 'shlibs');
  mkdirSync(join(d, 'debian'), { recursive: true });
  writeFileSync(join(d, 'debian', 'control'), 'Source: lsm\n\nPackage: lsm\nArchitecture: any\n');
  const out = execFileSync('dpkg-shlibdeps', ['-O', '--warnings=0', '-e', object], { cwd: d, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }); // its one warning (not in a build tree) is noise here
  const m = /^shlibs:Depends=(.*)$/m.exec(out);
  return m ? m[1] : die(`dpkg-shlibdeps gave no Depends for ${object}`);
}

/** DEP-5 copyright: lsm's own, then each bundled npm package's declared license. */
function copyright(stage) {
  const paras = [`Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: lsm\nComment: The JavaScript packages under ${LIB}/node_modules are installed by npm from\n package-lock.json; each directory holds its own license file.\n`,
    `Files: *\nCopyright: ${new Date(epoch * 1000).getUTCFullYear()} lsm authors\nLicense: GPL-2+\n`];
  const licenses = new Set();
  for (const rel of productionPackages(stage)) {
    const dep = JSON.parse(readFileSync(join(stage, rel, 'package.json'), 'utf8'));
    const license = typeof dep.license === 'string' ? dep.license : 'unknown';
    licenses.add(license);
    paras.push(`Files: ${LIB.slice(1)}/${rel}/*\nCopyright: ${dep.name} ${dep.version} authors (see its license file)\nLicense: ${license}\n`);
  }
  paras.push(`License: GPL-2+\n lsm is ${pkgJson.license}. On Debian systems, the full text of the GNU General Public License version 2\n is in /usr/share/common-licenses/GPL-2.\n`);
  for (const l of [...licenses].sort()) paras.push(`License: ${l}\n The full text is in the license file of each package under ${LIB}/node_modules.\n`);
  return paras.join('\n');
}
