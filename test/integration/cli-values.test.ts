// Every command-line value checked, for real: the built lsm, run on a real repository (with
// metrics, spool and event log), refuses a mangled option of every command (each command at
// least once, the fast path's too) with exit 2 and one line, and nothing is written: no commit,
// no spool entry, no metrics or event-log change, no install root, no fleet. The whole matrix of
// options and mangles is checked against the checker itself (test/unit/option-check.test.ts).
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LSM, ROOT } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';
import { allCommands, line, mangles } from '../helpers/option-matrix.js';

interface Run { code: number | null; stdout: string; stderr: string }
// in the test's directory: a command that did run (fleet init x) writes there, nowhere else
const run = (args: string[], env: Record<string, string>, cwd: string) => new Promise<Run>((resolve) => {
  const p = spawn(process.execPath, [LSM, ...args], { env: { ...process.env, ...env }, cwd });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => { stdout += d; });
  p.stderr.on('data', (d) => { stderr += d; });
  p.on('close', (code) => resolve({ code, stdout, stderr }));
});

describe('command-line values, through the real binary', () => {
  it('a mangled option of every command: exit 2, one line, nothing written', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-values-'));
    const metrics = join(dir, 'lsm.prom');
    const config = testConfig(dir, { METRICS_FILE: metrics });
    const repo = join(dir, 'repo');
    const root = join(dir, 'root');
    const fleet = join(dir, 'fleet');
    const env = { LSM_CONFIG: config, LSM_REPO: repo, LSM_FLEET: fleet };
    // a repository with history, a metrics file, an event log and an alert waiting in the spool
    // (a fixture /proc, its sockets ignored at first, then not: a change; no mail is configured, so
    // its alert stays)
    const proc = ['--proc', join(ROOT, 'test', 'fixtures', 'basic', 'proc')];
    writeFileSync(join(dir, 'ignore'), '* *\n');
    expect((await run(['scan', '-q', ...proc], env, dir)).code).toBe(0);
    writeFileSync(join(dir, 'ignore'), '# no rules\n');
    expect((await run(['-c', '-q', ...proc], env, dir)).code).toBe(0);
    const state = () => ({
      commits: spawnSync('git', ['-C', repo, 'rev-list', '--all', '--count'], { encoding: 'utf8' }).stdout,
      refs: spawnSync('git', ['-C', repo, 'for-each-ref'], { encoding: 'utf8' }).stdout,
      spool: readdirSync(join(dir, 'spool'), { recursive: true }).sort(),
      metrics: `${readFileSync(metrics, 'utf8')} ${statSync(metrics).mtimeMs}`,
      events: existsSync(join(dir, 'events.jsonl')) ? readFileSync(join(dir, 'events.jsonl'), 'utf8') : null,
      root: existsSync(root),
      fleet: existsSync(fleet),
      cwd: readdirSync(dir).sort(),
    });
    const bad = testConfig(join(dir, 'bad'), { METRICS_FILE: metrics, INTERVAL: '0s' }); // for the end
    const before = state();
    expect(Number(before.commits)).toBe(2);
    expect(before.spool.length).toBeGreaterThan(0);
    expect(before.events).toContain('"summary":"+15 -0');

    // one mangled option a command, taken in turn from each command's own declarations, with the
    // kinds of mangling rotating; install and uninstall always under a root of their own
    const cases: string[][] = [];
    allCommands().forEach((c, n) => {
      const own = Object.entries(c.own);
      const extra = c.path[0] === 'install' || c.path[0] === 'uninstall' ? ['--root', root] : [];
      if (own.length === 0) { cases.push(line(c, ...extra, '--repo', repo, '--repo=')); return; }
      const [key, o] = own[n % own.length];
      const m = mangles(key, o);
      cases.push(line(c, ...extra, ...m[n % m.length]));
    });
    cases.push(
      // the issue's, and the fast path's (--since= and -c --exit-code=yes it would take and run)
      ['log', '--grep=22', '--grep=80'], ['log', '--since=1d', '--since', '2d'], ['log', '--since='], ['-c', '--exit-code=yes'],
      ['watch', '--interval', '1s', '--interval', '2s'], ['watch', '--interval', '25d'], ['watch', '--count', '-1'], ['flush', '--retry-dead=maybe'],
      ['--repo', repo, '--repo', repo, 'scan'],
    );
    const results: [string[], Run][] = [];
    for (let i = 0; i < cases.length; i += 2) {
      const pair = cases.slice(i, i + 2); // two at a time: two cores
      results.push(...(await Promise.all(pair.map(async (args) => [args, await run(args, env, dir)] as [string[], Run]))));
    }
    for (const [args, r] of results) {
      const what = args.join(' ');
      expect([r.code, r.stdout], what).toEqual([2, '']);
      expect(r.stderr, what).toMatch(/^lsm: [^\n]+\n$/);
      expect(r.stderr, what).not.toMatch(/internal error|\bat .*:\d+:\d+/);
    }
    expect(cases.length).toBe(allCommands().length + 9);
    expect(state()).toEqual(before);

    // a config value out of its range: the same, before anything is written
    const r = await run(['-c'], { ...env, LSM_CONFIG: bad }, dir);
    expect([r.code, r.stderr]).toEqual([2, `lsm: ${bad}:7: INTERVAL must be a duration from 1m to 59m or whole hours up to 24h (10m, 30m, 1h, 2h), not '0s'\n`]);
    expect(state()).toEqual(before);
  });
});
