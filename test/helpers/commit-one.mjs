// Commits one fixed snapshot and says whether it committed: the racers of the two-scans test.
import { commitSnapshot } from '../../dist/store/commit.js';

const c = await commitSnapshot(process.argv[2], new Map([['host/tcp', ['0.0.0.0:80  nginx  root  /usr/sbin/nginx']], ['host/udp', []], ['host/unix', []]]));
process.stdout.write(c ? 'committed' : 'unchanged');
