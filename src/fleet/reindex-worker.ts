// One thread of `lsm fleet reindex` (catalog.ts): it rebuilds its share of the shards and their hosts' files
// while the other threads build theirs on the other cores, and replies once: the hosts git read, or its error.
import { parentPort, workerData } from 'node:worker_threads';
import { LsmError } from '../errors.js';
import { reindexShards, type ShardJob, type WorkerReply } from './catalog.js';

const reply = (m: WorkerReply) => parentPort!.postMessage(m);
reindexShards(workerData as ShardJob).then(
  (fromGit) => reply({ fromGit }),
  (err: unknown) => reply({ message: err instanceof Error ? err.message : String(err), lsm: err instanceof LsmError ? err.code : null, errno: err instanceof LsmError ? null : (err as NodeJS.ErrnoException | null)?.code ?? null }),
);
