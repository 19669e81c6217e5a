// Mail settings that would leak or lose mail are refused when the config is read.
import { describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { displayValue, loadConfig } from '../../src/config.js';
import { qualified } from '../../src/alert/mail.js';

const env = { root: true, configDir: '/etc/lsm', stateDir: '/var/lib/lsm' };
function file(text: string): string {
  const p = join(mkdtempSync(join(tmpdir(), 'lsm-conf-')), 'conf.lsm');
  writeFileSync(p, text);
  chmodSync(p, 0o600);
  return p;
}

describe('mail config', () => {
  it('refuses an SMTP_URL without a host, and recipients that are not addresses', () => {
    expect(() => loadConfig(file('SMTP_URL="smtp://"\n'), env)).toThrow(/conf\.lsm:1: SMTP_URL names no host/);
    expect(() => loadConfig(file('SMTP_URL="smtp://u:p@:25"\n'), env)).toThrow(/SMTP_URL/);
    expect(() => loadConfig(file('USER="-X/tmp/log"\n'), env)).toThrow(/conf\.lsm:1: USER is not a mail address: '-X\/tmp\/log'/);
    expect(() => loadConfig(file('USER="ops@example.org,-oQ/tmp"\n'), env)).toThrow(/USER is not a mail address: '-oQ\/tmp'/);
    expect(() => loadConfig(file('USER="a@b@c"\n'), env)).toThrow(/USER is not a mail address/);
    expect(() => loadConfig(file('USER="a@-x.org"\n'), env)).toThrow(/USER is not a mail address/);
    expect(() => loadConfig(file('FROM="LSM <-x@y.org>"\n'), env)).toThrow(/FROM is not a mail address/);
    expect(loadConfig(file('USER="ops@example.org, root, sec+lsm@[10.0.0.1]"\nFROM="LSM <lsm@example.org>"\n'), env).config.user).toEqual(['ops@example.org', 'root', 'sec+lsm@[10.0.0.1]']);
  });

  it('masks the whole password, whatever it holds', () => {
    for (const pass of ['p@ss', 'hunter2', 'a:b@c', '@@']) {
      expect(displayValue('SMTP_URL', `smtp://lsm:${pass}@mail.example.org:587`)).toBe('smtp://lsm:****@mail.example.org:587');
    }
    expect(displayValue('SMTP_URL', 'smtps://mail.example.org')).toBe('smtps://mail.example.org');
  });

  it('sends AUTH only after TLS unless SMTP_INSECURE says yes; root is root@this host over SMTP', () => {
    expect(loadConfig(file('\n'), env).config.smtpInsecure).toBe(false);
    expect(loadConfig(file('SMTP_INSECURE="yes"\n'), env).config.smtpInsecure).toBe(true);
    expect(qualified('root')).toBe(`root@${hostname()}`);
    expect(qualified('ops@example.org')).toBe('ops@example.org');
  });
});
