// One collect() of what a snapshot records, in this process; prints its CPU time (user + system,
// every thread: getrusage) as JSON. argv[2] 'worker': fd links read by the JS worker thread and the
// main thread (the default before the native walk, on a host with many open files); 'native': the
// default now (sockdiag.c walkFds).
const { collect } = await import('../dist/collect/index.js');
const { recordable, recordableState } = await import('../dist/snapshot/select.js');
const mode = process.argv[2];
const t = process.cpuUsage();
const c = collect({ keep: (s) => recordable(s, {}), keepState: (k, st) => recordableState(k, st, {}), parallel: mode === 'worker' ? true : undefined });
const u = process.cpuUsage(t);
console.log(JSON.stringify({ mode, cpu: (u.user + u.system) / 1e6, sockets: c.sockets.length, owned: c.sockets.filter((s) => s.owners.length > 0).length }));
