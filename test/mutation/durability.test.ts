// What each write makes durable (store/atomic-fs.ts, the alert spool): which files and directories are fsync'd, read
// off /proc/self/fd at the moment of each fsync. A write that skips an fsync leaves the same files
// until a power cut, so the fsyncs themselves are what is observed here, as strace would show them:
// FileHandle.prototype.sync is wrapped to note the path of the descriptor, then does its real fsync.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TMP_DIR, atomicFs, writeFileAtomic } from '../../src/store/atomic-fs.js';
import { Spool } from '../../src/alert/spool.js';
import type { Alert } from '../../src/alert/message.js';

type Sync = (this: { fd: number }) => Promise<void>;
let proto: { sync: Sync };
let realSync: Sync;
let synced: string[];
const openFds = () => readdirSync('/proc/self/fd').length;

beforeEach(async () => {
  const h = await open(tmpdir(), 'r');
  proto = Object.getPrototypeOf(h);
  await h.close();
  realSync = proto.sync;
  synced = [];
  proto.sync = function (this: { fd: number }) {
    synced.push(readlinkSync(`/proc/self/fd/${this.fd}`));
    return realSync.call(this);
  };
});
afterEach(() => { proto.sync = realSync; });

const dir = () => realpathSync(mkdtempSync(join(tmpdir(), 'lsm-durable-')));
/** The temporary file name writeFileAtomic uses for `name` in `tmpDir`. */
const tmpOf = (tmpDir: string, name: string) => new RegExp(`^${tmpDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/\\.${name.replace(/\./g, '\\.')}\\.${process.pid}\\.[0-9a-f]{8}\\.tmp$`);

describe('durability of atomic writes', () => {
  it("'full' (the default) fsyncs the new file's data, then, after the rename, its directory; 'file' the data only; 'none' nothing", async () => {
    const d = dir();
    const fds = openFds();
    await writeFileAtomic(join(d, 'ref'), 'x\n');
    expect(synced).toEqual([expect.stringMatching(tmpOf(d, 'ref')), d]);
    synced = [];
    await writeFileAtomic(join(d, 'obj'), 'y', d, 0o444, 'file');
    expect(synced).toEqual([expect.stringMatching(tmpOf(d, 'obj'))]);
    synced = [];
    await writeFileAtomic(join(d, 'idx'), 'z', d, 0o644, 'none');
    expect(synced).toEqual([]);
    expect([readFileSync(join(d, 'ref'), 'utf8'), readFileSync(join(d, 'obj'), 'utf8'), readFileSync(join(d, 'idx'), 'utf8')]).toEqual(['x\n', 'y', 'z']);
    expect(openFds()).toBe(fds); // every descriptor closed, the directory's too
  });

  it("isomorphic-git's writes: refs and the rest of .git in full, objects their data only, the index and the work tree without fsync", async () => {
    const work = dir();
    const gitdir = join(work, '.git');
    mkdirSync(join(gitdir, 'objects', 'ab'), { recursive: true });
    mkdirSync(join(gitdir, 'refs', 'heads'), { recursive: true });
    const tmp = join(gitdir, TMP_DIR);
    const fs = atomicFs(gitdir).promises;
    const fds = openFds();
    await fs.writeFile(join(gitdir, 'refs', 'heads', 'main'), 'c'.repeat(40) + '\n');
    expect(synced).toEqual([expect.stringMatching(tmpOf(tmp, 'main')), join(gitdir, 'refs', 'heads')]);
    synced = [];
    await fs.writeFile(join(gitdir, 'config'), '[core]\n', { mode: 0o600 });
    expect(synced).toEqual([expect.stringMatching(tmpOf(tmp, 'config')), gitdir]);
    synced = [];
    await fs.writeFile(join(gitdir, 'objects', 'ab', 'cdef'), new Uint8Array([1, 2, 3]), { mode: 0o444 });
    expect(synced).toEqual([expect.stringMatching(tmpOf(tmp, 'cdef'))]);
    synced = [];
    await fs.writeFile(join(gitdir, 'index'), new Uint8Array([4]));
    await fs.writeFile(join(work, 'host-tcp'), 'line\n');
    expect(synced).toEqual([]);
    expect(openFds()).toBe(fds);
  });

  it("the spool: an alert and its state in full; a success state prepared aside is fsync'd before the channel is tried, and its directory after the rename", async () => {
    const d = join(dir(), 'spool');
    mkdirSync(d);
    const spool = new Spool(d);
    const id = 'e'.repeat(40);
    const alert: Alert = { id, commit: id, parent: null, host: 'web1', time: 1, summary: '+1 -0', added: [], removed: [], diff: '', repo: '/r' };
    const fds = openFds();
    await spool.add(alert);
    const [e] = spool.list();
    const state = e.file.replace(/\.json$/, '.state');
    expect(synced).toEqual([expect.stringMatching(tmpOf(d, state)), d, expect.stringMatching(tmpOf(d, e.file)), d]);
    synced = [];
    const fresh = { done: false, dead: false, attempts: 0, nextAttempt: 0, lastError: null };
    const p = await spool.prepare(e, { eventlog: { ...fresh, done: true, attempts: 1 }, hooks: fresh, mail: fresh });
    expect(synced).toEqual([expect.stringMatching(new RegExp(`^${d}/${state.replace(/\./g, '\\.')}\\.[0-9a-f]{8}\\.state\\.next$`))]);
    synced = [];
    await p.commit();
    expect(synced).toEqual([d]);
    expect(openFds()).toBe(fds);
  });
});
