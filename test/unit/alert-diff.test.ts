// An alert's diff reads only the files its change touched: at 100k sockets a one-line change
// must not read (and hold) every namespace's files twice. Shown by an object of an untouched file
// that cannot be read: the alert is made all the same, and says only what changed.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spoolPending, type AlertSettings } from '../../src/alert/index.js';
import { commitSnapshot } from '../../src/store/commit.js';

describe("an alert's diff", () => {
  it('reads only the files the change touched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-alert-diff-'));
    const s: AlertSettings = { repoDir: join(dir, 'repo'), spoolDir: join(dir, 'spool'), eventLog: '', hooksDir: join(dir, 'hooks'), host: 'web1',
      mail: { to: ['root'], from: 'lsm@web1', subject: 'x', smtpUrl: '', sendmail: '' } };
    try {
      const big = Array.from({ length: 2000 }, (_, i) => `/run/app/s${i}.sock  stream  app  root  /usr/bin/app`);
      await commitSnapshot(s.repoDir, new Map([['host/tcp', ['0.0.0.0:22  sshd  root  /usr/sbin/sshd']], ['host/unix', big]]));
      await commitSnapshot(s.repoDir, new Map([['host/tcp', ['0.0.0.0:22  sshd  root  /usr/sbin/sshd', '0.0.0.0:4444  nc  root  /usr/bin/nc']], ['host/unix', big]]));
      const untouched = execFileSync('git', ['-C', s.repoDir, 'rev-parse', 'HEAD:host/unix'], { encoding: 'utf8' }).trim();
      rmSync(join(s.repoDir, '.git', 'objects', untouched.slice(0, 2), untouched.slice(2)));
      expect((await spoolPending(s, null)).added).toBe(1);
      const [entry] = readdirSync(s.spoolDir).filter((f) => f.endsWith('.json'));
      const { alert } = JSON.parse(readFileSync(join(s.spoolDir, entry), 'utf8'));
      expect(alert.diff).toMatch(/^diff --git a\/host\/tcp b\/host\/tcp\n/);
      expect(alert.diff).toContain('\n+0.0.0.0:4444  nc  root  /usr/bin/nc\n');
      expect(alert.diff).not.toContain('host/unix');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
