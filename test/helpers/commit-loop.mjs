// Commits a different snapshot each time to a repository in a bounded loop: the victim of kill tests.
// usage: commit-loop.mjs REPO COUNT
import { commitSnapshot } from '../../dist/store/commit.js';

const [repo, count] = [process.argv[2], Number(process.argv[3] ?? 100)];
process.stdout.write('ready\n');
for (let i = 0; i < count; i++) {
  const lines = Array.from({ length: 1 + (i % 7) }, (_, k) => `0.0.0.0:${1000 + k + (i % 3)}  svc${k}  root  /usr/bin/svc`);
  const snap = new Map([['host/tcp', lines], ['host/udp', []], [`netns/n${i % 2}/unix`, [`/run/s${i}  stream  x  root  /x`]]]);
  const c = await commitSnapshot(repo, snap, { lockWaitMs: 60_000 });
  process.stdout.write(c ? 'committed\n' : 'unchanged\n'); // the kill test counts these
}
