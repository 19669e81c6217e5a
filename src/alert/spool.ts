// The spool: an alert is a file here, written atomically and fsync'd before any delivery is
// tried, and removed only when every channel accepted it. Names sort by time, so oldest first.
import { mkdirSync, readFileSync, readdirSync, unlinkSync } from 'node:fs';
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

export interface SpoolEntry {
  file: string;
  alert: Alert;
  channels: Record<Channel, ChannelState>;
}

const fresh = (): ChannelState => ({ done: false, dead: false, attempts: 0, nextAttempt: 0, lastError: null });

export class Spool {
  private seq = 0;
  constructor(readonly dir: string) {}

  private ensure(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  list(): SpoolEntry[] {
    let names: string[];
    try { names = readdirSync(this.dir); } catch { return []; }
    const entries: SpoolEntry[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      try {
        entries.push({ ...(JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as Omit<SpoolEntry, 'file'>), file: name });
      } catch {
        // a torn file cannot exist (atomic writes); anything else here is not ours
      }
    }
    return entries;
  }

  has(id: string): boolean {
    try { return readdirSync(this.dir).some((n) => n.endsWith(`-${id}.json`)); } catch { return false; }
  }

  /** Spool a new alert, unless it is already there. */
  async add(alert: Alert): Promise<boolean> {
    if (this.has(alert.id)) return false;
    this.ensure();
    const entry = { alert, channels: { eventlog: fresh(), hooks: fresh(), mail: fresh() } };
    // named by when it was spooled, with a counter: commits made in the same second keep their order
    const name = `${String(Date.now()).padStart(14, '0')}-${String(this.seq++).padStart(6, '0')}-${alert.id}.json`;
    await this.save({ ...entry, file: name });
    return true;
  }

  async save(entry: SpoolEntry): Promise<void> {
    const { file, ...body } = entry;
    await writeFileAtomic(join(this.dir, file), JSON.stringify(body), this.dir, 0o600);
  }

  remove(entry: SpoolEntry): void {
    unlinkSync(join(this.dir, entry.file));
  }
}
