// The config's contract key by key: each default (for root and for a user), each parser's
// accepted forms and its one-line refusal naming file, line and key, the shell forms of a line,
// the docs `lsm config` prints, and when a password makes the file's mode matter.
import { describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEYS, LSM06_IGNORED, configEnv, displayValue, loadConfig } from '../../src/config.js';
import { EXIT, LsmError } from '../../src/errors.js';

const root = { root: true, configDir: '/etc/lsm', stateDir: '/var/lib/lsm' };
const user = { root: false, configDir: '/home/u/.config/lsm', stateDir: '/home/u/.local/state/lsm' };
function file(text: string, mode = 0o600, name = 'lsm.conf'): string {
  const p = join(mkdtempSync(join(tmpdir(), 'lsm-conf-')), name);
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
}
const load = (text: string, env = root) => loadConfig(file(text), env);
/** the error a config line gives: message and exit code */
function refusal(text: string, name = 'lsm.conf'): { message: string; code: number } {
  const p = file(text, 0o600, name);
  try { loadConfig(p, root); } catch (err) { expect(err).toBeInstanceOf(LsmError); return { message: (err as Error).message.replace(p, 'F'), code: (err as LsmError).exitCode }; }
  throw new Error(`accepted: ${text}`);
}

describe('config keys', () => {
  it('has these defaults with no file: for root under /etc/lsm and /var/lib/lsm, for a user under their own directories', () => {
    const sendmail = ['/usr/sbin/sendmail', '/usr/lib/sendmail'].find((p) => existsSync(p)) ?? '';
    const expected = {
      user: ['root'], subject: `LSM Port Monitor Alert on ${hostname()}`, from: `lsm@${hostname()}`, sendmail, smtpUrl: '', smtpInsecure: false,
      hooksDir: '/etc/lsm/hooks.d', eventLog: '/var/log/lsm/events.jsonl', spoolDir: '/var/lib/lsm/spool', ignoreFile: '/etc/lsm/ignore',
      established: false, schedule: 'cron', driftReminderHours: 0, metricsFile: '', remote: '', remoteTokenFile: '', hostId: hostname(), interval: '10m',
      fleetMaxPushBytes: 64 << 20, fleetMaxFileBytes: 32 << 20, fleetMaxLines: 500_000, fleetMaxPushesPerMinute: 12, fleetMailInterval: 600_000,
    };
    const none = loadConfig(undefined, { ...root, configDir: '/nonexistent' });
    expect(none.config).toEqual({ ...expected, hooksDir: '/nonexistent/hooks.d', ignoreFile: '/nonexistent/ignore' });
    expect(none.path).toBeNull();
    expect(Object.values(none.sources).every((s) => s === 'default')).toBe(true);
    expect(load('\n').config).toEqual(expected);
    expect(load('\n', user).config).toMatchObject({ hooksDir: '/home/u/.config/lsm/hooks.d', eventLog: '/home/u/.local/state/lsm/events.jsonl', spoolDir: '/home/u/.local/state/lsm/spool', ignoreFile: '/home/u/.config/lsm/ignore' });
    // this process runs as root: the system directories
    expect(configEnv()).toEqual(process.getuid() === 0 ? root : expect.objectContaining({ root: false }));
  });

  it('reads KEY=value in the shell forms: double, single, backtick quotes, bare, export, comments, blank lines', () => {
    const c = load([
      '# comment', '', '   ', 'export USER=ops@example.org # trailing', "SUB='a $HOSTNAME b'", 'FROM="x \\"y\\" <lsm@example.org>"',
      'SCHEDULE=`systemd`', '  INTERVAL="30m"  ', 'HOOKS_DIR=', 'DRIFT_REMINDER_HOURS=1.5',
    ].join('\n'));
    expect(c.config.user).toEqual(['ops@example.org']);
    expect(c.config.subject).toBe(`a ${hostname()} b`);
    expect(c.config.from).toBe('x "y" <lsm@example.org>');
    expect(c.config.schedule).toBe('systemd');
    expect(c.config.interval).toBe('30m');
    expect(c.config.hooksDir).toBe('');
    expect(c.config.driftReminderHours).toBe(1.5);
    expect(c.sources.USER).toMatch(/lsm\.conf:4$/);
    expect(c.values.SUB).toBe('a $HOSTNAME b');
    expect(c.values.INTERVAL).toBe('30m');
  });

  it('refuses each bad value with one line naming file, line and key, exit code 2', () => {
    const cases: [string, string][] = [
      ['USER = "x"', 'F:1: not a KEY="value" line: "USER = \\"x\\""'],
      ['# ok\nESTABLISHED="maybe"', "F:2: ESTABLISHED must be yes or no, not 'maybe'"],
      ['SCHEDULE="anacron"', "F:1: SCHEDULE must be one of cron, systemd, none, not 'anacron'"],
      ['INTERVAL="soon"', "F:1: INTERVAL must be a duration from 1m to 59m or whole hours up to 24h (10m, 30m, 1h, 2h), not 'soon'"],
      ['DRIFT_REMINDER_HOURS="-1"', "F:1: DRIFT_REMINDER_HOURS must be a number of hours from 0 to 8760 (a year), not '-1'"],
      ['DRIFT_REMINDER_HOURS="1h"', "F:1: DRIFT_REMINDER_HOURS must be a number of hours from 0 to 8760 (a year), not '1h'"],
      ['METRICS_FILE="lsm.prom"', "F:1: METRICS_FILE must be an absolute path ending in .prom (node_exporter's textfile collector reads *.prom), not 'lsm.prom'"],
      ['METRICS_FILE="/var/lib/lsm.txt"', "F:1: METRICS_FILE must be an absolute path ending in .prom (node_exporter's textfile collector reads *.prom), not '/var/lib/lsm.txt'"],
      ['SMTP_URL="mail.example.org"', 'F:1: SMTP_URL is not a URL: expected smtp://[user:password@]host[:port] or smtps://...'],
      ['SMTP_URL="http://mail.example.org"', 'F:1: SMTP_URL must start with smtp:// or smtps://, not http://'],
      ['REMOTE="git.example.org/fleet.git"', 'F:1: REMOTE is not a URL: expected https://[user:password@]host/path'],
      ['REMOTE="ssh://git.example.org/fleet.git"', 'F:1: REMOTE must start with https:// or http://, not ssh://'],
      ['FROM="lsm@@x"', "F:1: FROM is not a mail address: 'lsm@@x'"],
      ['USER="ok@example.org"\nTYPO="1"', `F:2: unknown key TYPO (known: ${Object.keys(KEYS).join(', ')})`],
    ];
    for (const [text, message] of cases) expect(refusal(text), text).toEqual({ message, code: EXIT.USAGE });
    // in LSM 0.6's conf.lsm (a shell script) a key lsm does not know is ignored, and said why
    const p = file('TYPO="1"\nINSPATH=/usr/local/lsm\n', 0o600, 'conf.lsm');
    expect(loadConfig(p, root).ignored).toEqual([
      { key: 'TYPO', where: `${p}:1`, why: "not a key lsm knows (conf.lsm is LSM 0.6's shell script)" },
      { key: 'INSPATH', where: `${p}:2`, why: LSM06_IGNORED.INSPATH },
    ]);
  });

  it('reads yes/no in every spelling LSM users write, any case; empty is no', () => {
    for (const v of ['1', 'yes', 'YES', 'true', 'True', 'on', 'ON']) expect(load(`ESTABLISHED="${v}"`).config.established, v).toBe(true);
    for (const v of ['0', 'no', 'No', 'false', 'FALSE', 'off', '']) expect(load(`ESTABLISHED="${v}"`).config.established, v).toBe(false);
    for (const v of ['yess', 'ye', 'y', '2', ' yes']) expect(() => load(`ESTABLISHED="${v}"`), v).toThrow(/ESTABLISHED must be yes or no/);
  });

  it('accepts the values each key documents', () => {
    expect(load('SCHEDULE="none"').config.schedule).toBe('none');
    expect(load('SCHEDULE="cron"').config.schedule).toBe('cron');
    expect(load('METRICS_FILE="/var/lib/node-exporter/lsm.prom"').config.metricsFile).toBe('/var/lib/node-exporter/lsm.prom');
    expect(load('DRIFT_REMINDER_HOURS="24"').config.driftReminderHours).toBe(24);
    expect(load('REMOTE="http://git.example.org/fleet.git"').config.remote).toBe('http://git.example.org/fleet.git');
    expect(load('REMOTE="https://git.example.org/fleet.git"\nREMOTE_TOKEN_FILE="/etc/lsm/token"\nHOST_ID="web-1"').config).toMatchObject({ remote: 'https://git.example.org/fleet.git', remoteTokenFile: '/etc/lsm/token', hostId: 'web-1' });
    expect(load('SMTP_URL="smtp://mail.example.org:587"').config.smtpUrl).toBe('smtp://mail.example.org:587');
    expect(load('SMTP_URL="smtps://mail.example.org"').config.smtpUrl).toBe('smtps://mail.example.org');
    expect(load('SENDMAIL="/usr/sbin/msmtp"').config.sendmail).toBe('/usr/sbin/msmtp');
    expect(load('FROM=""\nUSER=""').config).toMatchObject({ from: '', user: [] });
    expect(load('USER="a@x.org b@y.org,,c"').config.user).toEqual(['a@x.org', 'b@y.org', 'c']);
  });

  it('documents every key and every ignored LSM 0.6 key in one non-empty line (lsm config and lsm install print them)', () => {
    for (const [key, def] of Object.entries(KEYS)) expect(def.doc, key).toMatch(/^[^\n]{10,}$/);
    for (const [key, why] of Object.entries(LSM06_IGNORED)) expect(why, key).toMatch(/^[^\n]{10,}$/);
    expect(Object.keys(LSM06_IGNORED)).toEqual(['INSPATH', 'BINPATH', 'TMP', 'NSTAT', 'MAIL', 'BASE']);
    expect(Object.entries(KEYS).filter(([, d]) => d.secret).map(([k]) => k)).toEqual(['SMTP_URL', 'REMOTE']);
  });

  it('a file holding a password must be private; one without, or a password given by default, need not be', () => {
    for (const text of ['REMOTE="https://host:s3cret@git.example.org/f.git"', 'SMTP_URL="smtp://u:p@mail.example.org"', 'SMTP_URL="smtp://mail.example.org/?password=x"']) {
      const p = file(text + '\n', 0o604);
      expect(() => loadConfig(p, root), text).toThrow(`${p} holds a password (${text.split('=')[0]}) but is readable by others (mode 604): run chmod 600 ${p}`);
    }
    expect(() => loadConfig(file('SMTP_URL="smtp://u:p@mail.example.org"\n', 0o640), root)).toThrow(/mode 640/);
    // no password: any mode
    expect(loadConfig(file('SMTP_URL="smtp://mail.example.org:587"\nREMOTE="https://git.example.org/f.git"\nSUB="pass the word"\n', 0o644), root).config.smtpUrl).toBe('smtp://mail.example.org:587');
    expect(loadConfig(file('SMTP_URL="smtp://u@mail.example.org"\n', 0o644), root).config.smtpUrl).toBe('smtp://u@mail.example.org');
  });

  it('masks the password of secret keys only', () => {
    expect(displayValue('REMOTE', 'https://host:tok@git.example.org/f.git')).toBe('https://host:****@git.example.org/f.git');
    expect(displayValue('SUB', 'smtp://u:p@x')).toBe('smtp://u:p@x');
    expect(displayValue('NOT_A_KEY', 'a:b@c')).toBe('a:b@c');
    expect(displayValue('SMTP_URL', '')).toBe('');
  });

  it('a missing default file is no config; a named one, or one lsm cannot read, is an error (exit 2)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-conf-'));
    expect(loadConfig(undefined, { ...root, configDir: dir }).path).toBeNull();
    writeFileSync(join(dir, 'lsm.conf'), 'USER="ops@example.org"\n', { mode: 0o600 });
    expect(loadConfig(undefined, { ...root, configDir: dir })).toMatchObject({ path: join(dir, 'lsm.conf'), config: { user: ['ops@example.org'] } });
    const named = join(dir, 'other.conf');
    expect(() => loadConfig(named, root)).toThrow(new LsmError(`cannot read config ${named}: no such file`, EXIT.USAGE));
    try { loadConfig(named, root); } catch (err) { expect((err as LsmError).exitCode).toBe(2); }
    expect(() => loadConfig(dir, root)).toThrow(/config/); // a directory is not a config file
  });
});
