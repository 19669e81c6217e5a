import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/duration.js';
import { parseTime } from '../../src/cli/log.js';
import { scheduleSpec } from '../../src/cli/install.js';

describe('durations', () => {
  it('read what people write', () => {
    expect([parseDuration('500ms'), parseDuration('10s'), parseDuration('10m'), parseDuration('2h'), parseDuration('3 days'), parseDuration('1.5h')])
      .toEqual([500, 10_000, 600_000, 7_200_000, 259_200_000, 5_400_000]);
    expect(parseDuration('often')).toBeNull();
    expect(parseDuration('10')).toBeNull();
  });
  it('give log times and schedules', () => {
    const now = Date.parse('2026-11-24T12:00:00Z');
    expect(parseTime('3 days ago', now)).toBe(now - 3 * 864e5);
    expect(parseTime('12h', now)).toBe(now - 12 * 36e5);
    expect(parseTime('2026-11-01T00:00:00Z', now)).toBe(Date.parse('2026-11-01T00:00:00Z'));
    expect(() => parseTime('someday', now)).toThrow("cannot read the time 'someday'");
    // the timer's OnCalendar= fires at cron's wall-clock times
    expect(scheduleSpec('10m')).toEqual({ cron: '*/10 * * * *', systemd: '*-*-* *:0/10:00' });
    expect(scheduleSpec('1m')).toEqual({ cron: '* * * * *', systemd: '*-*-* *:*:00' });
    expect(scheduleSpec('1h')).toEqual({ cron: '0 * * * *', systemd: '*-*-* *:00:00' });
    expect(scheduleSpec('2h')).toEqual({ cron: '0 */2 * * *', systemd: '*-*-* 0/2:00:00' });
    expect(scheduleSpec('24h')).toEqual({ cron: '0 0 * * *', systemd: '*-*-* 00:00:00' });
    expect(() => scheduleSpec('90m')).toThrow('does not fit cron');
  });
});
