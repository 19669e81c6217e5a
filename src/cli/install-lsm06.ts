// LSM 0.6 (R-fx Networks) as lsm install finds it: the program and its conf.lsm in /usr/local/lsm,
// the symlink /usr/local/sbin/lsm -> /usr/local/lsm/lsm, and /etc/cron.d/lsm. Migrating keeps all
// of it: /usr/local/lsm is left as it is, what lsm's files replace is moved aside (install.ts),
// and USER and SUB come over into the new config.
import { existsSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
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
