// conf.lsm: shell-variable style KEY="value" lines with '#' comments, so an LSM 0.6 conf.lsm
// (USER, SUB) is read as it is. Every key is declared once in KEYS with its default and parser;
// unknown keys and bad values are one clear error naming the file, line and key.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { EXIT, LsmError } from './errors.js';

export interface Config {
  /** alert addresses (LSM's USER) */
  user: string[];
  /** mail subject (LSM's SUB), $HOSTNAME expanded */
  subject: string;
  /** ignore-rules file; missing file = no rules */
  ignoreFile: string;
  /** also record established connections (aggregated) */
  established: boolean;
}

type Parser = (value: string, key: string) => unknown;

interface KeyDef {
  field: keyof Config;
  default: (env: ConfigEnv) => string;
  parse: Parser;
  secret?: boolean;
}

export interface ConfigEnv {
  root: boolean;
  configDir: string; // /etc/lsm for root, else $XDG_CONFIG_HOME/lsm
}

export function configEnv(): ConfigEnv {
  const root = process.getuid?.() === 0;
  const home = process.env.HOME ?? '/';
  return { root, configDir: root ? '/etc/lsm' : `${process.env.XDG_CONFIG_HOME || `${home}/.config`}/lsm` };
}

const list: Parser = (v) => v.split(/[,\s]+/).filter(Boolean);
const text: Parser = (v) => v;
const bool: Parser = (v, key) => {
  if (/^(1|yes|true|on)$/i.test(v)) return true;
  if (/^(0|no|false|off|)$/i.test(v)) return false;
  throw new Error(`${key} must be yes or no, not '${v}'`);
};
const expandHost = (v: string) => v.replace(/\$\{HOSTNAME\}|\$HOSTNAME\b/g, hostname());

export const KEYS: Record<string, KeyDef> = {
  USER: { field: 'user', default: () => 'root', parse: list },
  SUB: { field: 'subject', default: () => 'LSM Port Monitor Alert on $HOSTNAME', parse: (v) => expandHost(v) },
  IGNORE_FILE: { field: 'ignoreFile', default: (e) => `${e.configDir}/ignore`, parse: text },
  ESTABLISHED: { field: 'established', default: () => 'no', parse: bool },
};

/** KEY=value, KEY="value" or KEY='value', with an optional leading 'export'. */
const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s#"']*))\s*(?:#.*)?$/;

export interface LoadedConfig {
  config: Config;
  path: string | null; // the file read, null when none
  sources: Record<string, string>; // key -> 'file:line' or 'default'
  values: Record<string, string>; // key -> raw value, before parsing
}

/**
 * Load the config. An explicitly named file must exist; the default one may be missing (then every
 * key has its default, so a first scan needs no config at all).
 */
export function loadConfig(path: string | undefined, env: ConfigEnv = configEnv()): LoadedConfig {
  const file = path ?? `${env.configDir}/lsm.conf`;
  let content: string | null = null;
  try {
    content = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (path !== undefined || code !== 'ENOENT') {
      throw new LsmError(`cannot read config ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`, EXIT.USAGE);
    }
  }
  const values: Record<string, string> = {};
  const sources: Record<string, string> = {};
  if (content !== null) {
    content.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const m = LINE.exec(raw);
      if (!m) throw new LsmError(`${file}:${i + 1}: not a KEY="value" line: ${JSON.stringify(line.slice(0, 60))}`, EXIT.USAGE);
      const key = m[1];
      if (!KEYS[key]) throw new LsmError(`${file}:${i + 1}: unknown key ${key} (known: ${Object.keys(KEYS).join(', ')})`, EXIT.USAGE);
      values[key] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3] ?? m[4] ?? '';
      sources[key] = `${file}:${i + 1}`;
    });
  }
  const config = {} as Record<keyof Config, unknown>;
  for (const [key, def] of Object.entries(KEYS)) {
    const value = values[key] ?? def.default(env);
    if (!(key in values)) { values[key] = value; sources[key] = 'default'; }
    try {
      config[def.field] = def.parse(value, key);
    } catch (err) {
      throw new LsmError(`${sources[key]}: ${(err as Error).message}`, EXIT.USAGE);
    }
  }
  return { config: config as unknown as Config, path: content === null ? null : file, sources, values };
}
