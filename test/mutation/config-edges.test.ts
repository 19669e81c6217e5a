// Config values at the edges of what each key's pattern takes (the survivors of the first mutation
// run over config.ts): anchored patterns refuse text around a valid value, and a refused line is
// quoted cut to 60 characters.
import { describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';

const root = { root: true, configDir: '/etc/lsm', stateDir: '/var/lib/lsm' };
function file(text: string, name = 'lsm.conf'): string {
  const p = join(mkdtempSync(join(tmpdir(), 'lsm-conf-')), name);
  writeFileSync(p, text);
  chmodSync(p, 0o600);
  return p;
}
const load = (text: string, name?: string) => loadConfig(file(text, name), root);

describe('config values at the edges', () => {
  it('a Name <mailbox> address is that whole form: nothing before a second <, nothing after the >', () => {
    expect(load('FROM="LSM <lsm@example.org>"').config.from).toBe('LSM <lsm@example.org>');
    expect(() => load('FROM="a<b> <lsm@example.org>"')).toThrow(/FROM is not a mail address/);
    expect(() => load('FROM="LSM <lsm@example.org>x"')).toThrow(/FROM is not a mail address/);
  });

  it('hours may have several decimals; a metrics file is an absolute path ending in .prom, nothing after', () => {
    expect(load('DRIFT_REMINDER_HOURS="1.25"').config.driftReminderHours).toBe(1.25);
    expect(() => load('METRICS_FILE="var/lib/x.prom"')).toThrow(/METRICS_FILE must be an absolute path/);
    expect(() => load('METRICS_FILE="/var/lib/x.prom.bak"')).toThrow(/METRICS_FILE must be an absolute path/);
  });

  it('an unknown key is ignored only in a file named exactly conf.lsm', () => {
    expect(load('TYPO="1"', 'conf.lsm').ignored.map((i) => i.key)).toEqual(['TYPO']);
    expect(() => load('TYPO="1"', 'conf.lsm.bak')).toThrow(/unknown key TYPO/);
    expect(() => load('TYPO="1"', 'myconf.lsm')).toThrow(/unknown key TYPO/);
  });

  it('quotes a line it cannot read cut to 60 characters', () => {
    const long = `NOT A LINE ${'x'.repeat(100)}`;
    expect(() => load(long)).toThrow(`: not a KEY="value" line: ${JSON.stringify(long.slice(0, 60))}`);
  });

  it('a default config path that is a directory is an error, not "no config"', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-conf-'));
    mkdirSync(join(dir, 'lsm.conf'));
    expect(() => loadConfig(undefined, { ...root, configDir: dir })).toThrow(/lsm\.conf/);
  });
});
