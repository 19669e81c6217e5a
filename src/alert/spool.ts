// The spool: an alert is a file here, written atomically and fsync'd before any delivery is
// tried, and removed only when every channel accepted it. Names sort by time, so oldest first.
import { mkdirSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { readChecked } from '../safe-path.js';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/atomic-fs.js';
import type { Alert } from './message.js';

export const CHANNELS = ['eventlog', 'hooks', 'mail'] as const;
export type Channel = (typeof CHANNELS)[number];

export interface ChannelState {
  done: boolean;
  dead: boolean; // failed permanently: kept and reported, not retried until `lsm flush --retry-dead`
  attempts: number;
  nextAttempt: number; // unix ms; back-off after a failure
  lastError: string | null;
  hooksDone?: string[]; // hooks that already ran for this alert (never run twice)
}

/**
 * One spooled alert. Its delivery state is a small file of its own beside the alert
 * (NAME.state next to NAME.json), so a run reads every state but an alert only when one of its
 * channels is tried: a backlog (mail down for days, or never configured) costs each run the same.
 */
export class SpoolEntry {
  constructor(private readonly dir: string, readonly file: string, public channels: Record<Channel, ChannelState>, private body?: Alert) {}

  get alert(): Alert {
    return (this.body ??= (JSON.parse(readChecked(join(this.dir, this.file))) as { alert: Alert }).alert);
  }

  /** The commit the alert is about, and when it was spooled: both in its name. */
  get commit(): string {
    return this.file.split('-')[2].slice(0, 40);
  }
  get spooledAt(): number {
    return Number(this.file.split('-')[0]);
  }
}

const fresh = (): ChannelState => ({ done: false, dead: false, attempts: 0, nextAttempt: 0, lastError: null });
const freshChannels = (): Record<Channel, ChannelState> => ({ eventlog: fresh(), hooks: fresh(), mail: fresh() });
const stateFile = (name: string) => name.replace(/\.json$/, '.state');

export class Spool {
  private seq = 0;
  constructor(readonly dir: string) {}

  private ensure(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /** Every entry, oldest first; alerts are read when used. */
  list(): SpoolEntry[] {
    let names: string[];
    try { names = readdirSync(this.dir); } catch { return []; }
    const alerts = new Set(names.filter((n) => n.endsWith('.json')));
    const entries: SpoolEntry[] = [];
    for (const name of [...alerts].sort()) {
      try {
        const state = this.readState(name);
        if (state) { entries.push(new SpoolEntry(this.dir, name, state)); continue; }
        // no state yet (a run killed between writing the two), or an entry spooled before states
        // were kept apart, with its channels inside
        const body = JSON.parse(readChecked(join(this.dir, name))) as { alert: Alert; channels?: Record<Channel, ChannelState> };
        entries.push(new SpoolEntry(this.dir, name, body.channels ?? freshChannels(), body.alert));
      } catch {
        // a torn file cannot exist (atomic writes); anything else here is not ours
      }
    }
    // a state whose alert is gone: a run killed while removing a delivered entry
    for (const n of names) if (n.endsWith('.state') && !alerts.has(n.replace(/\.state$/, '.json'))) rmSync(join(this.dir, n), { force: true });
    return entries;
  }

  private readState(name: string): Record<Channel, ChannelState> | null {
    try {
      return JSON.parse(readChecked(join(this.dir, stateFile(name)))) as Record<Channel, ChannelState>;
    } catch {
      return null;
    }
  }

  has(id: string): boolean {
    try { return readdirSync(this.dir).some((n) => n.endsWith(`-${id}.json`)); } catch { return false; }
  }

  /** Spool a new alert, unless it is already there: the alert first, then its state. */
  async add(alert: Alert): Promise<boolean> {
    if (this.has(alert.id)) return false;
    this.ensure();
    // named by when it was spooled, with a counter: commits made in the same second keep their order
    const name = `${String(Date.now()).padStart(14, '0')}-${String(this.seq++).padStart(6, '0')}-${alert.id}.json`;
    await writeFileAtomic(join(this.dir, name), JSON.stringify({ alert }), this.dir, 0o600);
    await this.save(new SpoolEntry(this.dir, name, freshChannels(), alert));
    return true;
  }

  async save(entry: SpoolEntry): Promise<void> {
    await writeFileAtomic(join(this.dir, stateFile(entry.file)), JSON.stringify(entry.channels), this.dir, 0o600);
  }

  /** Delivered: the alert goes first, so a kill in between leaves only a state that list() sweeps. */
  remove(entry: SpoolEntry): void {
    unlinkSync(join(this.dir, entry.file));
    rmSync(join(this.dir, stateFile(entry.file)), { force: true });
  }
}
