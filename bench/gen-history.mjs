// Builds a long synthetic lsm history with realistic churn, through the real store (so the journal
// and packing are real): a stable set of services, ports that appear and vanish (dev servers,
// debug listeners), upgrades that change an exe path, containers that come and go.
// usage: node bench/gen-history.mjs REPO COMMITS [SEED]
import { commitSnapshot } from '../dist/store/commit.js';

export async function generateHistory(repo, commits, seed = 42, start = Date.parse('2025-01-01T00:00:00Z')) {
  let x = seed >>> 0;
  const rand = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const pick = (a) => a[Math.floor(rand() * a.length)];
  const base = [];
  for (let i = 0; i < 40; i++) base.push({ file: 'host/tcp', line: `0.0.0.0:${[22, 25, 53, 80, 443, 631, 3306, 5432, 6379, 8080][i % 10] + Math.floor(i / 10) * 10000}  svc${i}  ${pick(['root', 'www-data', 'postgres'])}  /usr/sbin/svc${i}` });
  for (let i = 0; i < 15; i++) base.push({ file: 'host/udp', line: `0.0.0.0:${[53, 68, 123, 161, 514][i % 5] + Math.floor(i / 5) * 1000}  udp${i}  root  /usr/sbin/udp${i}` });
  for (let i = 0; i < 30; i++) base.push({ file: 'host/unix', line: `/run/svc${i}.sock  stream  svc${i}  root  /usr/sbin/svc${i}` });
  const transient = new Map(); // line key -> {file, line, until}
  const containers = new Map(); // id -> until
  const version = new Map(); // base index -> version
  const t0 = performance.now();
  for (let n = 0; n < commits; n++) {
    // one to three events per commit: each commit is a real change
    const events = 1 + Math.floor(rand() * 3);
    for (let e = 0; e < events; e++) {
      const r = rand();
      if (r < 0.45) { const port = 30000 + Math.floor(rand() * 2000); transient.set(`t${port}`, { file: 'host/tcp', line: `127.0.0.1:${port}  node  dev  /usr/bin/node`, until: n + 1 + Math.floor(rand() * 50) }); }
      else if (r < 0.65) { const i = Math.floor(rand() * base.length); version.set(i, (version.get(i) ?? 0) + 1); }
      else if (r < 0.8) containers.set((Math.floor(rand() * 2 ** 48)).toString(16).padStart(12, '0'), n + 5 + Math.floor(rand() * 200));
      else { const port = 40000 + Math.floor(rand() * 100); transient.set(`u${port}`, { file: 'host/udp', line: `0.0.0.0:${port}  debug  root  /opt/debug/bin/agent`, until: n + 1 + Math.floor(rand() * 10) }); }
    }
    for (const [k, t] of transient) if (t.until <= n) transient.delete(k);
    for (const [id, until] of containers) if (until <= n) containers.delete(id);
    const snap = new Map([['host/tcp', []], ['host/udp', []], ['host/raw', []], ['host/packet', []], ['host/unix', []]]);
    base.forEach((b, i) => { const v = version.get(i); snap.get(b.file).push(v ? b.line.replace(/(\/usr\/sbin\/\S+)$/, `$1-${v}`) : b.line); });
    for (const t of transient.values()) snap.get(t.file).push(t.line);
    for (const id of containers.keys()) snap.set(`netns/${id}/tcp`, [`0.0.0.0:80  nginx  root,www-data  /usr/sbin/nginx`]);
    for (const lines of snap.values()) lines.sort();
    await commitSnapshot(repo, snap, { now: start + n * 600_000, host: 'bench' });
  }
  return (performance.now() - t0) / commits;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const ms = await generateHistory(process.argv[2], Number(process.argv[3] ?? 1000), Number(process.argv[4] ?? 42));
  console.log(`${ms.toFixed(1)} ms per commit`);
}
