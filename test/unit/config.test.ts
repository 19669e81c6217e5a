import { describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { displayValue, loadConfig } from '../../src/config.js';

const env = { root: true, configDir: '/etc/lsm', stateDir: '/var/lib/lsm' };
function file(text: string, mode = 0o600, name = 'conf.lsm'): string {
  const p = join(mkdtempSync(join(tmpdir(), 'lsm-conf-')), name);
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
}

describe('config', () => {
  it('reads an LSM 0.6 conf.lsm as it is', () => {
    const p = file([
      '#', '# [ Linux Socket Monitor ]', '#',
      'INSPATH="/usr/local/lsm"',
      'TMP="$INSPATH/tmp"',
      'USER="alerts@example.org"             # ..',
      'SUB="LSM Port Monitor Alert on $HOSTNAME"     # ..',
    ].join('\n'));
    const { config, sources } = loadConfig(p, env);
    expect(config.user).toEqual(['alerts@example.org']);
    expect(config.subject).toBe(`LSM Port Monitor Alert on ${hostname()}`);
    expect(sources.USER).toBe(`${p}:6`);
    expect(sources.SPOOL_DIR).toBe('default');
    expect(config.spoolDir).toBe('/var/lib/lsm/spool');
  });

  it("accepts every key of LSM 0.6's conf.lsm (a shell script): the ones lsm has no use for are listed with why", () => {
    const p = file(['#!/bin/sh', 'INSPATH="/usr/local/lsm"', 'NSTAT=`which netstat`', 'USER="a@example.org"', 'SOME_OTHER_KEY=1', ''].join('\n'));
    const { config, ignored } = loadConfig(p, env);
    expect(config.user).toEqual(['a@example.org']);
    expect(ignored.map((i) => [i.key, i.where])).toEqual([['INSPATH', `${p}:2`], ['NSTAT', `${p}:3`], ['SOME_OTHER_KEY', `${p}:5`]]);
    expect(ignored[1].why).toBe('lsm reads /proc itself and runs no netstat');
    // in lsm's own config LSM 0.6's keys are accepted the same way, and a typo still is an error
    expect(loadConfig(file('NSTAT="/bin/netstat"\n', 0o600, 'lsm.conf'), env).ignored.map((i) => i.key)).toEqual(['NSTAT']);
  });

  it('takes shell forms, lists, ${HOSTNAME}, and has defaults with no file', () => {
    const { config } = loadConfig(file("export USER='a@x.org, b@y.org'\nSUB=\"${HOSTNAME}: \\\"change\\\"\"\nESTABLISHED=yes\n"), env);
    expect(config.user).toEqual(['a@x.org', 'b@y.org']);
    expect(config.subject).toBe(`${hostname()}: "change"`);
    expect(config.established).toBe(true);
    const none = loadConfig(undefined, { ...env, configDir: '/nonexistent' });
    expect(none.path).toBeNull();
    expect(none.config.user).toEqual(['root']);
  });

  it('names file, line and key for what it cannot take', () => {
    expect(() => loadConfig(file('USER="root"\nMAILTO="x"\n', 0o600, 'lsm.conf'), env)).toThrow(/lsm\.conf:2: unknown key MAILTO/);
    expect(() => loadConfig(file('USER="a b@"\n'), env)).toThrow(/conf\.lsm:1: USER is not a mail address/);
    expect(() => loadConfig(file('SMTP_URL="http://x"\n'), env)).toThrow(/SMTP_URL must start with smtp:\/\/ or smtps:\/\//);
    expect(() => loadConfig(file('INTERVAL="soon"\n'), env)).toThrow(/conf\.lsm:1: INTERVAL must be a duration/);
    expect(() => loadConfig('/nonexistent/lsm.conf', env)).toThrow('cannot read config /nonexistent/lsm.conf: no such file');
  });

  it('takes numbers, durations and yes/no only within their ranges', () => {
    const read = (line: string) => { try { loadConfig(file(`${line}\n`), env); return 'ok'; } catch (err) { return (err as Error).message.replace(/^.*conf\.lsm:1: /, ''); } };
    // INTERVAL: what cron and a systemd timer can say (lsm install writes it), 1m .. 24h
    for (const ok of ['1m', '10m', '59m', '1h', '2h', '24h', '60 minutes']) expect(read(`INTERVAL="${ok}"`), ok).toBe('ok');
    for (const bad of ['0s', '30s', '0m', '-5m', '90m', '25h', '2d', '1.5m', '99999999999999999999h', '', 'often']) {
      expect(read(`INTERVAL="${bad}"`), bad).toBe(`INTERVAL must be a duration from 1m to 59m or whole hours up to 24h (10m, 30m, 1h, 2h), not '${bad}'`);
    }
    for (const ok of ['0', '24', '0.5', '8760']) expect(read(`DRIFT_REMINDER_HOURS="${ok}"`), ok).toBe('ok');
    for (const bad of ['-1', '8761', '1e9', 'abc', '', '99999999999999999999']) {
      expect(read(`DRIFT_REMINDER_HOURS="${bad}"`), bad).toBe(`DRIFT_REMINDER_HOURS must be a number of hours from 0 to 8760 (a year), not '${bad}'`);
    }
    for (const key of ['ESTABLISHED', 'SMTP_INSECURE']) {
      for (const ok of ['yes', 'no', 'true', 'false', '1', '0']) expect(read(`${key}="${ok}"`), ok).toBe('ok');
      expect(read(`${key}="maybe"`)).toBe(`${key} must be yes or no, not 'maybe'`);
    }
  });

  it('refuses a password others can read, and masks it', () => {
    const p = file('SMTP_URL="smtps://lsm:s3cret@mail.example.org:465"\n', 0o640);
    expect(() => loadConfig(p, env)).toThrow(`holds a password (SMTP_URL) but is readable by others (mode 640): run chmod 600 ${p}`);
    chmodSync(p, 0o600);
    expect(displayValue('SMTP_URL', loadConfig(p, env).values.SMTP_URL)).toBe('smtps://lsm:****@mail.example.org:465');
  });
});
