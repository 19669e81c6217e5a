// A config for one test: every path lsm writes (spool, event log, hooks) under the test's own
// directory, so no test touches /var or /etc.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function testConfig(dir: string, extra: Record<string, string> = {}): string {
  mkdirSync(dir, { recursive: true });
  const values: Record<string, string> = {
    SPOOL_DIR: join(dir, 'spool'), EVENT_LOG: join(dir, 'events.jsonl'), HOOKS_DIR: join(dir, 'hooks.d'),
    IGNORE_FILE: join(dir, 'ignore'), SENDMAIL: '', ...extra,
  };
  writeFileSync(join(dir, 'ignore'), '# no rules\n', { flag: 'a' });
  const path = join(dir, 'lsm.conf');
  writeFileSync(path, Object.entries(values).map(([k, v]) => `${k}="${v}"`).join('\n') + '\n');
  chmodSync(path, 0o600);
  return path;
}

/** A sendmail stand-in that stores each message it is given, one file per message. */
export function fakeSendmail(dir: string): { path: string; outbox: string } {
  const outbox = join(dir, 'outbox');
  mkdirSync(outbox, { recursive: true });
  const path = join(dir, 'sendmail');
  writeFileSync(path, `#!/bin/sh\n# args: $*\nf="${outbox}/$(date +%s%N).eml"\n{ echo "X-Sendmail-Args: $*"; cat; } > "$f.tmp" && mv "$f.tmp" "$f"\n`);
  chmodSync(path, 0o755);
  return { path, outbox };
}
