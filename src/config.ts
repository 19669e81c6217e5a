// conf.lsm: shell-variable style KEY="value" lines with '#' comments, so an LSM 0.6 conf.lsm
// (USER, SUB) is read as it is. Every key is declared once in KEYS with its default and parser;
// unknown keys and bad values are one clear error naming the file, line and key.
import { existsSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { durationIn } from './duration.js';
import { EXIT, LsmError } from './errors.js';
import { checkPath, readChecked } from './safe-path.js';

export interface Config {
  /** alert addresses (LSM's USER) */
  user: string[];
  /** mail subject (LSM's SUB), $HOSTNAME expanded */
  subject: string;
  /** ignore-rules file; missing file = no rules */
  ignoreFile: string;
  /** also record established connections (aggregated) */
  established: boolean;
  /** sendmail binary; '' = none */
  sendmail: string;
  /** SMTP URL (smtp:// with STARTTLS when offered, smtps:// for TLS); '' = use sendmail */
  smtpUrl: string;
  /** AUTH allowed without TLS (default: credentials only after STARTTLS or with smtps://) */
  smtpInsecure: boolean;
  /** From: address */
  from: string;
  /** directory of change hooks (run-parts style) */
  hooksDir: string;
  /** JSON-lines event log; '' = off */
  eventLog: string;
  /** where alerts wait until every channel accepted them */
  spoolDir: string;
  /** how the install schedules scans: cron, systemd or none */
  schedule: string;
  /** how often the scheduled scan runs, e.g. 10m */
  interval: string;
  /** re-alert on unapproved drift older than this many hours; 0 = never */
  driftReminderHours: number;
  /** Prometheus text file rewritten by each lsm -c; '' = off */
  metricsFile: string;
  /** fleet: git URL (http/https) each commit is pushed to, branch hosts/<HOST_ID>; '' = off */
  remote: string;
  /** fleet: file holding the push credentials (user:password, or a token sent as HOST_ID) */
  remoteTokenFile: string;
  /** fleet: this host's name in the fleet */
  hostId: string;
  /** fleet server: per-host limits (src/fleet/limits.ts) and the central mail's digest interval in ms (0: every change at once) */
  fleetMaxPushBytes: number;
  fleetMaxFileBytes: number;
  fleetMaxLines: number;
  fleetMaxPushesPerMinute: number;
  fleetMailInterval: number;
}

type Parser = (value: string, key: string) => unknown;

interface KeyDef {
  field: keyof Config;
  default: (env: ConfigEnv) => string;
  parse: Parser;
  doc: string; // one line, for `lsm config` and the config file `lsm install` writes
  secret?: boolean; // may hold a password: masked in output, file must not be readable by others
}

export interface ConfigEnv {
  root: boolean;
  configDir: string; // /etc/lsm for root, else $XDG_CONFIG_HOME/lsm
  stateDir: string; // /var/lib/lsm for root, else $XDG_STATE_HOME/lsm
}

export function configEnv(): ConfigEnv {
  const root = process.getuid?.() === 0;
  const home = process.env.HOME ?? '/';
  return {
    root,
    configDir: root ? '/etc/lsm' : `${process.env.XDG_CONFIG_HOME || `${home}/.config`}/lsm`,
    stateDir: root ? '/var/lib/lsm' : `${process.env.XDG_STATE_HOME || `${home}/.local/state`}/lsm`,
  };
}

const text: Parser = (v) => v;
const bool: Parser = (v, key) => {
  if (/^(1|yes|true|on)$/i.test(v)) return true;
  if (/^(0|no|false|off|)$/i.test(v)) return false;
  throw new Error(`${key} must be yes or no, not '${v}'`);
};
const oneOf = (...values: string[]): Parser => (v, key) => {
  if (!values.includes(v)) throw new Error(`${key} must be one of ${values.join(', ')}, not '${v}'`);
  return v;
};
// what a cron line or a systemd timer can say (lsm install): whole minutes up to 59m, whole hours up to 24h
const interval: Parser = (v, key) => {
  const ms = durationIn(v, 6e4, 864e5);
  if (ms === null || (ms % 6e4 !== 0) || (ms > 59 * 6e4 && ms % 36e5 !== 0)) throw new Error(`${key} must be a duration from 1m to 59m or whole hours up to 24h (10m, 30m, 1h, 2h), not '${v}'`);
  return v;
};
const size: Parser = (v, key) => {
  const m = /^(\d{1,13})([KMG]?)$/i.exec(v);
  if (!m || Number(m[1]) === 0) throw new Error(`${key} must be a size in bytes above 0, with K, M or G (64M), not '${v}'`);
  return Number(m[1]) * 1024 ** ' KMG'.indexOf((m[2] || ' ').toUpperCase());
};
const count = (max: number): Parser => (v, key) => {
  if (!/^\d{1,9}$/.test(v) || Number(v) < 1 || Number(v) > max) throw new Error(`${key} must be a whole number from 1 to ${max}, not '${v}'`);
  return Number(v);
};
const mailInterval: Parser = (v, key) => {
  const ms = v === '0' ? 0 : durationIn(v, 1000, 864e5);
  if (ms === null) throw new Error(`${key} must be 0 or a duration from 1s to 24h (10m, 1h), not '${v}'`);
  return ms;
};
const hours: Parser = (v, key) => {
  if (!/^\d+(\.\d+)?$/.test(v) || Number(v) > 8760) throw new Error(`${key} must be a number of hours from 0 to 8760 (a year), not '${v}'`);
  return Number(v);
};
const smtpUrl: Parser = (v, key) => {
  if (v === '') return v;
  let u: URL;
  try { u = new URL(v); } catch { throw new Error(`${key} is not a URL: expected smtp://[user:password@]host[:port] or smtps://...`); }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') throw new Error(`${key} must start with smtp:// or smtps://, not ${u.protocol}//`);
  if (u.hostname === '') throw new Error(`${key} names no host: expected smtp://[user:password@]host[:port]`);
  return v;
};
// local@domain or a bare local name (a mailbox on this host); never starting with '-', which a
// sendmail would read as an option
const MAILBOX = /^(?!-)[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+(@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?|@\[[0-9A-Fa-f:.]+\])?$/;
const remoteUrl: Parser = (v, key) => {
  if (v === '') return v;
  let u: URL;
  try { u = new URL(v); } catch { throw new Error(`${key} is not a URL: expected https://[user:password@]host/path`); }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error(`${key} must start with https:// or http://, not ${u.protocol}//`);
  return v;
};
const address: Parser = (v, key) => {
  const m = /^[^<>]*<([^<>]*)>$/.exec(v); // Name <mailbox>
  if (v !== '' && !MAILBOX.test(m ? m[1] : v)) throw new Error(`${key} is not a mail address: '${v}'`);
  return v;
};
const addressList: Parser = (v, key) => {
  const list = v.split(/[,\s]+/).filter(Boolean);
  for (const a of list) address(a, key);
  return list;
};
const findSendmail = () => ['/usr/sbin/sendmail', '/usr/lib/sendmail'].find((p) => existsSync(p)) ?? '';
const expandHost = (v: string) => v.replace(/\$\{HOSTNAME\}|\$HOSTNAME\b/g, hostname());

export const KEYS: Record<string, KeyDef> = {
  USER: { field: 'user', default: () => 'root', parse: addressList, doc: 'who gets the alert mail: addresses, comma separated (LSM 0.6)' },
  SUB: { field: 'subject', default: () => 'LSM Port Monitor Alert on $HOSTNAME', parse: (v) => expandHost(v), doc: 'alert subject; $HOSTNAME is expanded (LSM 0.6)' },
  FROM: { field: 'from', default: () => 'lsm@$HOSTNAME', parse: (v, k) => address(expandHost(v), k), doc: 'From: address of the alert mail' },
  SENDMAIL: { field: 'sendmail', default: () => findSendmail(), parse: text, doc: 'sendmail binary used when SMTP_URL is empty; empty = none found' },
  SMTP_URL: { field: 'smtpUrl', default: () => '', parse: smtpUrl, secret: true, doc: 'send through SMTP instead: smtp://user:password@host:587 (STARTTLS) or smtps://host:465' },
  SMTP_INSECURE: { field: 'smtpInsecure', default: () => 'no', parse: bool, doc: 'yes: send the SMTP password even when the server offers no STARTTLS (clear text)' },
  HOOKS_DIR: { field: 'hooksDir', default: (e) => `${e.configDir}/hooks.d`, parse: text, doc: 'executables run after each change, with the change as JSON on stdin' },
  EVENT_LOG: { field: 'eventLog', default: (e) => (e.root ? '/var/log/lsm/events.jsonl' : `${e.stateDir}/events.jsonl`), parse: text, doc: 'JSON-lines event log, one object per change; empty = off' },
  SPOOL_DIR: { field: 'spoolDir', default: (e) => `${e.stateDir}/spool`, parse: text, doc: 'alerts wait here until every channel accepted them' },
  IGNORE_FILE: { field: 'ignoreFile', default: (e) => `${e.configDir}/ignore`, parse: text, doc: 'ignore rules: lines matching them are never recorded' },
  ESTABLISHED: { field: 'established', default: () => 'no', parse: bool, doc: 'also record established connections (yes/no), aggregated without ephemeral ports' },
  SCHEDULE: { field: 'schedule', default: () => 'cron', parse: oneOf('cron', 'systemd', 'none'), doc: 'how lsm install schedules the scan: cron, systemd or none' },
  DRIFT_REMINDER_HOURS: { field: 'driftReminderHours', default: () => '0', parse: hours, doc: 'remind again about drift from the baseline older than this many hours (LSM nagged until re-baselined); 0 = never' },
  METRICS_FILE: { field: 'metricsFile', default: () => '', parse: (v, k) => { if (v && !/^\/.*\.prom$/.test(v)) throw new Error(`${k} must be an absolute path ending in .prom (node_exporter's textfile collector reads *.prom), not '${v}'`); return v; }, doc: 'Prometheus text file each lsm -c rewrites (heartbeat, sockets, drift, spool), e.g. /var/lib/prometheus/node-exporter/lsm.prom; empty = off' },
  REMOTE: { field: 'remote', default: () => '', parse: remoteUrl, secret: true, doc: 'fleet: push every commit to this git server (https://host/fleet.git), branch hosts/<HOST_ID>; empty = off' },
  REMOTE_TOKEN_FILE: { field: 'remoteTokenFile', default: () => '', parse: text, doc: 'fleet: file (mode 600) with the push password, as user:password or a token sent with HOST_ID as the user' },
  HOST_ID: { field: 'hostId', default: () => hostname(), parse: text, doc: "fleet: this host's name in the fleet (its branch is hosts/<HOST_ID>)" },
  FLEET_MAX_PUSH_BYTES: { field: 'fleetMaxPushBytes', default: () => '64M', parse: size, doc: 'fleet server: bytes one push may bring (K, M, G); a bigger push is refused' },
  FLEET_MAX_FILE_BYTES: { field: 'fleetMaxFileBytes', default: () => '32M', parse: size, doc: 'fleet server: bytes of one snapshot file a host may push' },
  FLEET_MAX_LINES: { field: 'fleetMaxLines', default: () => '500000', parse: count(1e8), doc: 'fleet server: lines of one snapshot file a host may push' },
  FLEET_MAX_PUSHES_PER_MINUTE: { field: 'fleetMaxPushesPerMinute', default: () => '12', parse: count(1e6), doc: 'fleet server: pushes a host may make in any minute (heartbeats are not counted)' },
  FLEET_MAIL_INTERVAL: { field: 'fleetMailInterval', default: () => '10m', parse: mailInterval, doc: "fleet server: at most one central mail per host per interval; changes in between wait for one digest; 0 = every change at once" },
  INTERVAL: { field: 'interval', default: () => '10m', parse: interval, doc: 'how often the scheduled scan runs (LSM: every 10 minutes)' },
};

/**
 * LSM 0.6's conf.lsm keys that have no meaning here, with why: a conf.lsm is read as it is, and
 * `lsm install` / `lsm config` say once what is ignored. In a file named conf.lsm (a shell script
 * LSM sourced) any other key is ignored the same way rather than stopping every cron run.
 */
export const LSM06_IGNORED: Record<string, string> = {
  INSPATH: "LSM 0.6's install path; lsm's program is in /usr/local/lib/lsm and its state in /var/lib/lsm",
  BINPATH: "LSM 0.6's command path; lsm install writes /usr/local/sbin/lsm",
  TMP: "LSM 0.6's temporary files; lsm keeps no temporary comparison files (history is in git)",
  NSTAT: 'lsm reads /proc itself and runs no netstat',
  MAIL: 'lsm mails through sendmail (SENDMAIL) or SMTP (SMTP_URL), not mail(1)',
  BASE: "LSM 0.6's base comparison files; lsm's baseline is the ref refs/lsm/baseline (lsm -g)",
};

/** KEY=value, KEY="value" or KEY='value', with an optional leading 'export'. */
const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|`([^`]*)`|([^\s#"'`]*))\s*(?:#.*)?$/;

export interface LoadedConfig {
  config: Config;
  path: string | null; // the file read, null when none
  sources: Record<string, string>; // key -> 'file:line' or 'default'
  values: Record<string, string>; // key -> raw value, before parsing
  ignored: { key: string; where: string; why: string }[]; // LSM 0.6 keys read and ignored
}

/**
 * Load the config. An explicitly named file must exist; the default one may be missing (then every
 * key has its default, so a first scan needs no config at all).
 */
export function loadConfig(path: string | undefined, env: ConfigEnv = configEnv()): LoadedConfig {
  const file = path ?? `${env.configDir}/lsm.conf`;
  let content: string | null = null;
  checkPath(file, 'config file', 'file');
  try {
    content = readChecked(file);
  } catch (err) {
    if (err instanceof LsmError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (path !== undefined || code !== 'ENOENT') {
      throw new LsmError(`cannot read config ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`, EXIT.USAGE);
    }
  }
  const values: Record<string, string> = {};
  const sources: Record<string, string> = {};
  const ignored: LoadedConfig['ignored'] = [];
  if (content !== null) {
    content.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const m = LINE.exec(raw);
      if (!m) throw new LsmError(`${file}:${i + 1}: not a KEY="value" line: ${JSON.stringify(line.slice(0, 60))}`, EXIT.USAGE);
      const key = m[1];
      const why = KEYS[key] ? undefined : LSM06_IGNORED[key] ?? (/(^|\/)conf\.lsm$/.test(file) ? "not a key lsm knows (conf.lsm is LSM 0.6's shell script)" : undefined);
      if (why) { ignored.push({ key, where: `${file}:${i + 1}`, why }); return; }
      if (!KEYS[key]) throw new LsmError(`${file}:${i + 1}: unknown key ${key} (known: ${Object.keys(KEYS).join(', ')})`, EXIT.USAGE);
      values[key] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3] ?? m[4] ?? m[5] ?? '';
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
  const secrets = Object.entries(KEYS).filter(([key, def]) => def.secret && sources[key] !== 'default' && /:[^/@]*@|pass/i.test(values[key]));
  if (content !== null && secrets.length) {
    const mode = statSync(file).mode;
    if (mode & 0o077) {
      throw new LsmError(`${file} holds a password (${secrets[0][0]}) but is readable by others (mode ${(mode & 0o777).toString(8)}): run chmod 600 ${file}`, EXIT.USAGE);
    }
  }
  return { config: config as unknown as Config, path: content === null ? null : file, sources, values, ignored };
}

/** A value as `lsm config` shows it: passwords masked. */
export function displayValue(key: string, value: string): string {
  if (!KEYS[key]?.secret) return value;
  // the password is everything between the user's ':' and the last '@' before the host
  const m = /^([a-z]+:\/\/[^:/@]*:)(.*)@([^@]*)$/i.exec(value);
  return m ? `${m[1]}****@${m[3]}` : value;
}
