// LSM 0.6 (R-fx Networks) as lsm install finds it: the program and its conf.lsm in /usr/local/lsm,
// the symlink /usr/local/sbin/lsm -> /usr/local/lsm/lsm, and /etc/cron.d/lsm. Migrating keeps all
// of it: /usr/local/lsm is left as it is, what lsm's files replace is moved aside (install.ts),
// USER and SUB come over into the new config, and its ignore files into lsm's ignore rules where
// they translate (named where they do not).
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { readChecked } from '../safe-path.js';
import { loadConfig, type LoadedConfig } from '../config.js';

export interface Lsm06 {
  dir: string; // /usr/local/lsm under the root
  conf: string | null; // its conf.lsm, when there
  link: string | null; // where /usr/local/sbin/lsm points, when it is a symlink into LSM 0.6
  loaded: LoadedConfig | null;
  problem: string | null; // conf.lsm unreadable as KEY="value" lines: nothing imported, and why
}

export function detectLsm06(root: string): Lsm06 | null {
  const at = (p: string) => join(root || '/', p);
  const dir = at('/usr/local/lsm');
  const conf = existsSync(join(dir, 'conf.lsm')) ? join(dir, 'conf.lsm') : null;
  let link: string | null = null;
  try { if (lstatSync(at('/usr/local/sbin/lsm')).isSymbolicLink()) link = readlinkSync(at('/usr/local/sbin/lsm')); } catch { /* absent */ }
  if (link !== null && !/^(\/usr\/local\/lsm\/|\.\.\/lsm\/)/.test(link)) link = null;
  if (!conf && link === null && !existsSync(join(dir, 'lsm'))) return null;
  let loaded: LoadedConfig | null = null;
  let problem: string | null = null;
  if (conf) {
    try { loaded = loadConfig(conf); } catch (err) { problem = (err as Error).message; }
  }
  return { dir, conf, link, loaded, problem };
}

/** USER and SUB as conf.lsm sets them (unexpanded: $HOSTNAME stays for lsm to expand), as config lines. */
export function importedLines(l: Lsm06): string[] {
  if (!l.loaded) return [];
  const lines: string[] = [];
  for (const key of ['USER', 'SUB']) {
    if (l.loaded.sources[key] === 'default') continue;
    lines.push(`${key}="${l.loaded.values[key].replace(/(["\\`])/g, '\\$1')}"`);
  }
  return lines;
}

export function isLsm06Cron(path: string): boolean {
  try { return /\/usr\/local\/(sbin\/lsm|lsm\/lsm)\b/.test(readFileSync(path, 'utf8')) && !readFileSync(path, 'utf8').includes('lsm install'); } catch { return false; }
}

/** One of LSM 0.6's ignore files and what became of each of its lines. */
export interface Lsm06Ignore {
  file: string;
  rules: string[]; // lsm ignore rules (src/snapshot/ignore.ts syntax)
  skipped: { line: number; text: string }[]; // lines that do not translate
  why: string | null; // why its lines (or the whole file) do not translate
}

const MAX_IGNORE_BYTES = 1 << 20;
/** A glob that matches this text literally ('\\' quotes; '#' would start a comment). */
const literal = (s: string) => s.replace(/[\\*?#]/g, '\\$&');

/**
 * LSM 0.6's ignore files (ignore, ignore.ports, ignore.inodes, ...: every ignore* file in its
 * directory). Ports (a number in a file named for ports, or tcp:N, udp/N, N/tcp) become
 * `tcp *:N` / `udp *:N`; unix socket paths (/path, @abstract) become `unix PATH`. Inodes never
 * translate: a socket's inode is new each time it is opened.
 */
export function lsm06IgnoreFiles(l: Lsm06): Lsm06Ignore[] {
  let names: string[];
  try { names = readdirSync(l.dir).filter((n) => /^ignore/i.test(n)).sort(); } catch { return []; }
  return names.map((name) => {
    const file = join(l.dir, name);
    if (/inode/i.test(name)) return { file, rules: [], skipped: [], why: "socket inodes change each time a socket is opened: nothing stable to match; write rules by address or path instead" };
    let text: string;
    try {
      if (lstatSync(file).size > MAX_IGNORE_BYTES) return { file, rules: [], skipped: [], why: 'larger than 1 MiB' };
      text = readChecked(file);
    } catch (err) { return { file, rules: [], skipped: [], why: `unreadable (${(err as Error).message.replace(/^lsm: /, '')})` }; }
    const portsFile = /port/i.test(name);
    const rules: string[] = [];
    const skipped: Lsm06Ignore['skipped'] = [];
    text.split('\n').forEach((raw, i) => {
      const entry = raw.replace(/#.*$/, '').trim();
      if (!entry) return;
      const port = /^(?:(tcp|udp)[:/\s]+)?(\d{1,5})(?:\/(tcp|udp))?$/i.exec(entry);
      const n = port ? Number(port[2]) : 0;
      const kind = port ? (port[1] ?? port[3])?.toLowerCase() : undefined;
      if (port && n >= 1 && n <= 65535 && (kind || portsFile)) for (const k of kind ? [kind] : ['tcp', 'udp']) rules.push(`${k}  *:${n}`);
      else if (/^[/@][\x21-\x7e]*$/.test(entry)) rules.push(`unix  ${literal(entry)}`);
      else skipped.push({ line: i + 1, text: entry });
    });
    return { file, rules, skipped, why: skipped.length ? 'not a port (1-65535) or a unix socket path' : null };
  });
}
