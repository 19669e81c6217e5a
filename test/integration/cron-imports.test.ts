// The cron run (lsm -c with nothing new) loads only what it uses: delivery (mail, hooks, event
// log), history and drift (diff, blame, the journal), metrics, fleet push, yargs, isomorphic-git
// and child processes are loaded when a run has something for them, not at every start.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LSM, ROOT } from '../helpers/world.js';
import { fakeSendmail, testConfig } from '../helpers/config.js';

const PROC = (name: string) => join(ROOT, 'test', 'fixtures', name, 'proc');
const RECORD = join(ROOT, 'test', 'helpers', 'record-modules.mjs');

describe('what lsm -c loads', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-imports-'));
  const repo = join(dir, 'repo');
  const config = testConfig(join(dir, 'etc'), { SENDMAIL: fakeSendmail(dir).path });
  const lsm = (args: string[], record?: string, builtins?: string) => {
    const r = spawnSync(process.execPath, [...(record ? ['--import', RECORD] : []), ...(builtins ? ['--import', builtinsTo(builtins)] : []), LSM, ...args, '--repo', repo],
      { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', LSM_CONFIG: config, ...(record ? { LSM_TEST_MODULES: record } : {}) } });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  // node's own modules, without RECORD's load hook: its worker thread loads some itself (node:net)
  const builtinsTo = (file: string) => `data:text/javascript,${encodeURIComponent(`import { writeFileSync } from 'node:fs';
process.on('exit', () => writeFileSync(${JSON.stringify(file)}, process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => 'node:' + m.slice(13)).join('\\n')));`)}`;
  const loaded = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean)
    .map((u) => u.replace(`file://${ROOT}/dist/`, '').replace(/^file:\/\/.*\/node_modules\/([^/]+)\/.*/, 'npm:$1'));

  it('nothing new: collect, snapshot, compare with HEAD; nothing for delivery, drift, history or git objects', () => {
    try {
      expect(lsm(['-g', '-q', '--proc', PROC('basic')]).code).toBe(0);
      expect(lsm(['scan', '-q', '--proc', PROC('hostile')]).code).toBe(0); // standing drift, alerted (mailed) once
      expect(readdirSync(join(dir, 'outbox'))).toHaveLength(1);
      const file = join(dir, 'modules');
      const r = lsm(['-c', '--proc', PROC('hostile')], file);
      expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
      const mods = loaded(file);
      // it did its work
      for (const m of ['cli/check.js', 'collect/index.js', 'snapshot/index.js', 'store/commit.js', 'alert/index.js']) expect(mods).toContain(m);
      // and loaded nothing it had no use for
      const unused = ['npm:yargs', 'npm:isomorphic-git', 'npm:nodemailer', 'npm:diff', 'alert/hooks.js', 'alert/eventlog.js',
        'store/history.js', 'store/drift.js', 'store/blame.js', 'cli/history-context.js', 'run/metrics.js', 'cli/json.js',
        'fleet/push.js', 'run/push.js', 'cli/commands.js', 'node:child_process',
        // the mail and its text, the commit's write side (journal, pack, repair), zlib (git objects are not read)
        'alert/mail.js', 'alert/message.js', 'alert/bounds.js', 'store/journal.js', 'store/journal-read.js', 'store/pack.js',
        'store/recover.js', 'node:zlib'];
      expect(mods.filter((m) => unused.includes(m))).toEqual([]);
      // nothing printed: stdout and stderr (pipes here, as under cron) are never made, so neither is node's net
      const natives = join(dir, 'builtins');
      expect(lsm(['-c', '--proc', PROC('hostile')], undefined, natives)).toEqual({ code: 0, stdout: '', stderr: '' });
      const builtins = readFileSync(natives, 'utf8').split('\n');
      expect(builtins).toContain('node:crypto'); // (it did record)
      expect(builtins.filter((m) => ['node:net', 'node:tty', 'node:zlib', 'node:child_process', 'node:worker_threads'].includes(m))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
