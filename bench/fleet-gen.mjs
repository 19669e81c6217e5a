// A fleet's history for the benchmark, written in one `git fast-import` stream: every host's
// commits, with each distinct file text sent once as a blob and reused by mark (hosts share most of
// their services, so most snapshots repeat texts seen before). The churn is gen-history.mjs's:
// services, dev ports coming and going, upgrades, containers; one change a day for CHANGES days,
// ending now (`--since 1d` selects about one change per host); a 4444 listener on every 37th host.
// usage (alone, for profiling): node bench/fleet-gen.mjs GITDIR HOSTS CHANGES
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';

const sortLines = (a) => a.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));

/** Yields one host's history as fast-import commands; `blob(text)` returns the text's mark (and queues the blob). */
function hostCommits(h, changes, now, rand, blob) {
  const pick = (a) => a[Math.floor(rand() * a.length)];
  const base = [];
  const nTcp = 10 + Math.floor(rand() * 30);
  for (let i = 0; i < nTcp; i++) base.push({ file: 'host/tcp', line: `0.0.0.0:${[22, 25, 53, 80, 443, 631, 3306, 5432, 6379, 8080][i % 10] + Math.floor(i / 10) * 10000}  svc${i}  ${pick(['root', 'www-data', 'postgres'])}  /usr/sbin/svc${i}` });
  for (let i = 0; i < 8; i++) base.push({ file: 'host/udp', line: `0.0.0.0:${[53, 68, 123, 161, 514][i % 5] + Math.floor(i / 5) * 1000}  udp${i}  root  /usr/sbin/udp${i}` });
  for (let i = 0; i < 20; i++) base.push({ file: 'host/unix', line: `/run/svc${i}.sock  stream  svc${i}  root  /usr/sbin/svc${i}` });
  if (h % 37 === 0) base.push({ file: 'host/tcp', line: '0.0.0.0:4444  nc  root  /usr/bin/nc.openbsd' }); // the backdoor the admin asks about
  const transient = new Map();
  const containers = new Map();
  const version = new Map();
  const id = `host-${String(h).padStart(4, '0')}`;
  let out = '';
  let prev = new Map();
  for (let n = 0; n < changes; n++) {
    const events = 1 + Math.floor(rand() * 3);
    for (let e = 0; e < events; e++) {
      const r = rand();
      if (r < 0.45) { const port = 30000 + Math.floor(rand() * 2000); transient.set(`t${port}`, { file: 'host/tcp', line: `127.0.0.1:${port}  node  dev  /usr/bin/node`, until: n + 1 + Math.floor(rand() * 50) }); }
      else if (r < 0.65) { const i = Math.floor(rand() * base.length); version.set(i, (version.get(i) ?? 0) + 1); }
      else if (r < 0.8) containers.set(Math.floor(rand() * 2 ** 48).toString(16).padStart(12, '0'), n + 5 + Math.floor(rand() * 50));
      else { const port = 40000 + Math.floor(rand() * 100); transient.set(`u${port}`, { file: 'host/udp', line: `0.0.0.0:${port}  debug  root  /opt/debug/bin/agent`, until: n + 1 + Math.floor(rand() * 10) }); }
    }
    for (const [k, t] of transient) if (t.until <= n) transient.delete(k);
    for (const [cid, until] of containers) if (until <= n) containers.delete(cid);
    const snap = new Map([['host/tcp', []], ['host/udp', []], ['host/raw', []], ['host/packet', []], ['host/unix', []]]);
    base.forEach((b, i) => { const v = version.get(i); snap.get(b.file).push(v ? b.line.replace(/(\/usr\/\S+)$/, `$1-${v}`) : b.line); });
    for (const t of transient.values()) snap.get(t.file).push(t.line);
    for (const cid of containers.keys()) snap.set(`netns/${cid}/tcp`, ['0.0.0.0:80  nginx  root,www-data  /usr/sbin/nginx']);
    const texts = new Map([...snap].map(([p, l]) => [p, l.length ? sortLines(l).join('\n') + '\n' : '']));
    const t = Math.floor((now - (changes - 1 - n) * 86_400_000 - Math.floor(rand() * 3_600_000)) / 1000);
    const msg = n === 0 ? 'first snapshot' : 'change';
    let files = '';
    for (const [p, text] of texts) if (prev.get(p) !== text) files += `M 100644 :${blob(text)} ${p}\n`;
    for (const p of prev.keys()) if (!texts.has(p)) files += `D ${p}\n`;
    out += `commit refs/heads/hosts/${id}\nauthor lsm <lsm@${id}> ${t} +0000\ncommitter lsm <lsm@${id}> ${t} +0000\ndata ${Buffer.byteLength(msg)}\n${msg}\n${files}`;
    prev = texts;
  }
  return out;
}

/** Write HOSTS x CHANGES commits into the bare repository GITDIR; resolves with the number of distinct blobs. */
export async function generateFleet(gitdir, hosts, changes, now = Date.now(), seed = 7) {
  let x = seed;
  const rand = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  // glibc gives memory back to the kernel (brk) after each of fast-import's large frees: 40,000 brk
  // calls for 7 MB of stream, 8 of its 13 CPU seconds at 300 hosts; a large trim threshold keeps it
  const env = { ...process.env, MALLOC_TRIM_THRESHOLD_: String(256 << 20), MALLOC_TOP_PAD_: String(64 << 20) };
  delete env.MALLOC_MMAP_THRESHOLD_;
  const fi = spawn('git', ['--git-dir', gitdir, 'fast-import', '--quiet', '--done'], { stdio: ['pipe', 'inherit', 'inherit'], env });
  const exited = new Promise((r) => fi.on('exit', r));
  const marks = new Map(); // MD5 of a text -> its mark (the texts themselves would be 2 GB at 10,000 hosts)
  for (let h = 0; h < hosts; h++) {
    let blobs = '';
    const blob = (text) => {
      const id = createHash('md5').update(text).digest('latin1');
      let m = marks.get(id);
      if (m === undefined) { m = marks.size + 1; marks.set(id, m); blobs += `blob\nmark :${m}\ndata ${Buffer.byteLength(text)}\n${text}\n`; }
      return m;
    };
    // no 'from': a commit on an existing branch continues it (fast-import keeps each branch's tip)
    const commits = hostCommits(h, changes, now, rand, blob);
    if (!fi.stdin.write(blobs + commits)) await new Promise((r) => fi.stdin.once('drain', r));
  }
  fi.stdin.end('done\n');
  const code = await exited;
  if (code !== 0) throw new Error(`git fast-import exited ${code}`);
  return marks.size;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [gitdir, hosts, changes] = process.argv.slice(2);
  const t0 = performance.now();
  const blobs = await generateFleet(gitdir, Number(hosts), Number(changes));
  console.error(`${hosts} hosts x ${changes} changes, ${blobs} blobs, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
