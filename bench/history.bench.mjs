// History at scale: commit cost after 10,000 commits against after 10; lsm blame against git blame
// and lsm log --since against git log on the same 10,000-commit repository, with the same answers.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitSnapshot } from '../dist/store/commit.js';
import { generateHistory } from './gen-history.mjs';
import { BIN, cleanup, fmt, measure } from './lib.mjs';

/** Median in-process cost of a commit on a repository, alternating two states. */
async function commitCost(repo, n = 21) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const snap = new Map([['host/tcp', [`0.0.0.0:22  sshd  root  /usr/sbin/sshd`, ...(i % 2 ? ['127.0.0.1:9999  probe  root  /usr/bin/probe'] : [])]], ['host/udp', []], ['host/raw', []], ['host/packet', []], ['host/unix', []]]);
    const t0 = performance.now();
    await commitSnapshot(repo, snap, { now: Date.parse('2030-01-01T00:00:00Z') + i * 60_000, host: 'bench' });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(n / 2)] / 1000;
}

export default async function run({ quick }) {
  const N = quick ? 500 : 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'lsm-bench-hist-'));
  const conf = join(dir, 'lsm.conf');
  writeFileSync(conf, 'EVENT_LOG=""\nSENDMAIL=""\n');
  try {
    const small = join(dir, 'small');
    const big = join(dir, 'big');
    await generateHistory(small, 10);
    const perCommit = await generateHistory(big, N);
    const size = execFileSync('du', ['-sh', join(big, '.git')], { encoding: 'utf8' }).split('\t')[0];
    const costSmall = await commitCost(small);
    const costBig = await commitCost(big);

    // blame: the line git blame attributes for port 22, and lsm's answer for it
    const lsm = (...a) => [BIN, '--config', conf, '--repo', big, ...a]; // as users run it
    const ours = JSON.parse(execFileSync(lsm('blame', '--json', '22/tcp')[0], lsm('blame', '--json', '22/tcp').slice(1), { encoding: 'utf8' })).matches;
    const porcelain = execFileSync('git', ['-C', big, 'blame', '--line-porcelain', 'host/tcp'], { encoding: 'utf8' });
    const gitBlame = new Map([...porcelain.matchAll(/^([0-9a-f]{40}) \d+ \d+.*\n(?:[^\t].*\n)*\t(.*)$/gm)].map((m) => [m[2], m[1]]));
    const same = ours.length > 0 && ours.every((b) => gitBlame.get(b.line) === b.intervals[b.intervals.length - 1].from.commit);
    const blame = measure(lsm('blame', '22/tcp'), { runs: 5 });
    const gitb = measure(['git', '-C', big, 'blame', '--line-porcelain', 'host/tcp'], { runs: 5 });
    // git blame names only the last appearance; every interval (what lsm blame answers) takes git log -S
    const pick = ours[0]?.line ?? '0.0.0.0:22';
    const pickaxe = measure(['git', '-C', big, 'log', `-S${pick}`, '--format=%H', '--', 'host/tcp'], { runs: 3 });
    const pickaxeCommits = execFileSync('git', ['-C', big, 'log', `-S${pick}`, '--format=%H', '--', 'host/tcp'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).reverse();
    const samePickaxe = JSON.stringify(pickaxeCommits) === JSON.stringify(ours[0]?.intervals.flatMap((i) => [i.from.commit, ...(i.to ? [i.to.commit] : [])]) ?? []);

    // log --since: the last 5 % of the history
    const since = new Date(Date.parse('2025-01-01T00:00:00Z') + Math.floor(N * 0.95) * 600_000).toISOString();
    const ourLog = execFileSync(BIN, lsm('log', '--json', '--since', since).slice(1), { encoding: 'utf8' }).trim().split('\n').map((l) => JSON.parse(l).change.commit);
    const gitLog = execFileSync('git', ['-C', big, 'log', `--since=${since}`, '--format=%H'], { encoding: 'utf8' }).trim().split('\n');
    const sameLog = JSON.stringify(ourLog) === JSON.stringify(gitLog);
    const log = measure(lsm('log', '--since', since), { runs: 5 });
    const gitl = measure(['git', '-C', big, 'log', `--since=${since}`, '--oneline'], { runs: 5 });
    const verify = measure(lsm('verify'), { runs: 1 });
    const floor = measure([process.execPath, '-e', '0'], { runs: 5 });
    const overNode = (m) => `${fmt(m.wall)} (node start + ${fmt(m.wall - floor.wall)})`;

    return [
      `## History at ${N.toLocaleString('en')} commits`,
      '',
      `Generated with \`bench/gen-history.mjs\` (seeded churn: dev ports appearing for 1-50 commits, upgrades changing an exe, containers coming and going; 1-3 events a commit) through the real store: ${perCommit.toFixed(1)} ms a commit, repository ${size} (packed every 500 commits).`,
      '',
      '| measure | lsm | reference | ratio | target |',
      '| --- | --- | --- | --- | --- |',
      `| commit (in-process, median of 21) | after ${N.toLocaleString('en')} commits: ${fmt(costBig)} | after 10 commits: ${fmt(costSmall)} | ${(costBig / costSmall).toFixed(2)}× | ≤ 1.2× |`,
      `| \`lsm blame 22/tcp\` vs \`git blame host/tcp\` | ${overNode(blame)} | ${fmt(gitb.wall)} | ${(blame.wall / gitb.wall).toFixed(2)}× | < 1×, same answer: **${same ? 'yes' : 'NO'}** (${ours.length} lines) |`,
      `| \`lsm blame 22/tcp\` vs \`git log -S<line> -- host/tcp\` (every interval, what lsm blame answers) | ${overNode(blame)} | ${fmt(pickaxe.wall)} | ${(blame.wall / pickaxe.wall).toFixed(2)}× | < 1×, same commits: **${samePickaxe ? 'yes' : 'NO'}** (${pickaxeCommits.length}) |`,
      `| \`lsm log --since\` (last 5 %) vs \`git log --since\` | ${overNode(log)} | ${fmt(gitl.wall)} | ${(log.wall / gitl.wall).toFixed(2)}× | < 1×, same commits: **${sameLog ? 'yes' : 'NO'}** (${ourLog.length}) |`,
      `| \`lsm verify\` (rebuilds the journal from every commit and compares) | ${fmt(verify.wall)} | | | |`,
      `| \`node -e 0\` (node's own start: the floor of every lsm command) | ${fmt(floor.wall)} | | | |`,
      '',
      `lsm times are end to end, as users run it (bin/lsm: sh, then node with its flags), node's start (${fmt(floor.wall)}) included; git is a native binary.`,
    ].join('\n');
  } finally {
    cleanup(dir);
  }
}
