// lsm status: the sockets now, with owners and pids: a table, or --json.
import type { CommandModule, Options } from 'yargs';
import { escapeField } from '../snapshot/escape.js';
import { namespaceDir } from '../snapshot/index.js';
import { unseenSummary } from '../snapshot/unseen.js';
import { ethertypeName, ipProtocolName } from '../collect/addresses.js';
import { localEndpoint } from '../snapshot/lines.js';
import { namespaceOf } from '../snapshot/parse-line.js';
import type { Owner } from '../types.js';
import { ownSpoolSummary } from '../run/alerts.js';
import { clockStatusLine } from '../run/clock.js';
import { problemLines } from '../run/outcome.js';
import { context, type GlobalArgs } from '../run/settings.js';
import { collectNow } from '../run/snapshot.js';
import { SCHEMA, jsonTime } from './json.js';
import { ChunkedWriter, bold, out } from './output.js';

interface Args extends GlobalArgs { json?: boolean; all?: boolean }

function ownerText(o: Owner): string {
  return `${escapeField(o.comm)}[${o.pid}]${o.user ? ` ${escapeField(o.user)}` : ''}${o.container ? ` container=${escapeField(o.container)}` : ''}${o.exeReplaced ? ' (binary replaced, restart pending)' : ''}`;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export const options = {
  json: { type: 'boolean', describe: 'print JSON ({"schema":1,"sockets":[...]}, one socket a line)' },
  all: { alias: 'a', type: 'boolean', describe: 'every socket, connections and unbound ones too' },
} as const satisfies Record<string, Options>;

const command: CommandModule<GlobalArgs, Args> = {
  command: 'status',
  describe: 'show the sockets now, with their owners and pids',
  builder: (y) => y.options(options),
  handler: async (argv) => {
    const ctx = context(argv);
    const collection = collectNow(ctx, { all: argv.all });
    // without --all the collector kept only what a snapshot records
    const nsDir = new Map(collection.namespaces.map((n) => [n.inode, namespaceDir(n.label, n.host)]));
    const shown = collection.sockets.filter((s) => nsDir.has(s.netns));
    shown.sort((a, b) => compare(nsDir.get(a.netns)!, nsDir.get(b.netns)!) || compare(a.kind, b.kind) ||
      a.localPort - b.localPort || compare(a.localAddress, b.localAddress));
    if (argv.json) {
      // one socket a line, written in pieces: a single string of 100k sockets with owners was
      // hundreds of MiB (the JSON of an owner is made once per process). Strings from the system
      // are escaped as in the snapshot files (README: JSON output).
      const ownerJson = new Map<Owner, string>();
      const ownerJsonOf = (o: Owner) => {
        let j = ownerJson.get(o);
        if (j === undefined) {
          ownerJson.set(o, (j = JSON.stringify({
            pid: o.pid, comm: escapeField(o.comm), exe: o.exe === null ? null : escapeField(o.exe), ...(o.exeReplaced ? { exeReplaced: true } : {}),
            uid: o.uid, user: o.user === null ? null : escapeField(o.user), cmdline: o.cmdline.map(escapeField), container: o.container === null ? null : escapeField(o.container), startedAt: jsonTime(o.startedAt),
          })));
        }
        return j;
      };
      const w = new ChunkedWriter();
      w.write(`{"schema":${SCHEMA},"sockets":[`);
      for (let i = 0; i < shown.length; i++) {
        const s = shown[i];
        const inet = s.kind === 'tcp' || s.kind === 'udp';
        const head = JSON.stringify({
          namespace: namespaceOf(`${nsDir.get(s.netns)}/${s.kind}`), kind: s.kind, endpoint: localEndpoint(s),
          address: inet || s.kind === 'raw' || s.localAddress === '' ? s.localAddress : escapeField(s.localAddress), port: inet ? s.localPort : null,
          protocol: s.kind === 'raw' ? ipProtocolName(s.localPort) : s.kind === 'packet' ? ethertypeName(s.localPort) : null,
          type: s.socketType ?? null, state: s.state, family: s.family, remoteAddress: s.remoteAddress, remotePort: s.remotePort, inode: s.inode,
          user: s.user === null ? null : escapeField(s.user),
        });
        if (w.write(`\n${head.slice(0, -1)},"owners":[${s.owners.map(ownerJsonOf).join(',')}]}${i < shown.length - 1 ? ',' : ''}`)) await w.flush();
      }
      w.write('\n]}\n');
      await w.flush();
      return;
    }
    const rows = shown.map((s) => [
      nsDir.get(s.netns)!, s.kind, s.state + (s.socketType && s.kind !== 'tcp' && s.kind !== 'udp' ? `/${s.socketType}` : ''),
      localEndpoint(s) + (argv.all && s.remoteAddress && s.kind !== 'unix' && s.kind !== 'packet' && s.state !== 'LISTEN' && s.state !== 'UNCONN' ? ` -> ${s.remoteAddress}:${s.remotePort}` : ''),
      s.owners.length ? s.owners.map(ownerText).join(', ') : `? ${s.user === null ? '' : escapeField(s.user)}`.trim(),
    ]);
    const head = ['WHERE', 'KIND', 'STATE', 'LOCAL', 'OWNERS'];
    const widths = head.map((h, i) => Math.min(48, Math.max(h.length, ...rows.map((r) => r[i].length))));
    const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
    const w = new ChunkedWriter();
    w.write(bold(fmt(head)) + '\n');
    for (const r of rows) if (w.write(fmt(r) + '\n')) await w.flush();
    await w.flush();
    const st = collection.stats;
    out(`${shown.length} sockets shown of ${st.sockets} in ${st.namespaces} namespaces; ${st.processes} processes read` +
      (st.unreadable ? `, ${st.unreadable} unreadable (owners unknown${process.getuid?.() !== 0 ? ': run as root' : ''})` : ''));
    const unseen = unseenSummary(st);
    if (unseen) out(unseen);
    if (st.fdLinks) out(`socket owners ${st.fdLinks}`);
    const spoolDir = ctx.loaded.config.spoolDir;
    const spool = ownSpoolSummary(ctx);
    if (!spool) out(`the spool ${spoolDir} belongs to another repository: its alerts are not counted here (give this repository its own SPOOL_DIR)`);
    if (spool?.refused) out(spool.refused);
    if (spool?.quarantined) out(`${spool.quarantined} file${spool.quarantined === 1 ? '' : 's'} moved out of the spool into ${spoolDir}/quarantine (not valid alerts: look, then delete them)`);
    if (spool && (spool.pending || spool.dead)) {
      out(`${spool.pending + spool.dead} alert${spool.pending + spool.dead === 1 ? '' : 's'} undelivered in ${spoolDir}` +
        ` (${spool.dead} failed permanently), oldest ${new Date(spool.oldest!).toISOString()}; lsm flush to retry`);
      for (const e of spool.lastErrors) out(`  ${e}`);
    }
    // what a run could not do and is not done yet (a damaged repository, an alert not spooled or recorded)
    for (const line of problemLines(ctx.repoDir, ctx.loaded.config.eventLog)) out(line);
    const clock = clockStatusLine(ctx.repoDir);
    if (clock) out(clock);
    const fleet = (await import('../run/push.js')).pushStatusLine(ctx);
    if (fleet) out(fleet);
  },
};
export default command;
