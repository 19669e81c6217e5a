// Commits the snapshot given as JSON ({path: lines}) and says what happened: the victim of the
// crash-point tests (run with LSM_TEST_CRASH_AT=<point>). usage: commit-snap.mjs REPO JSON
import { commitSnapshot } from '../../dist/store/commit.js';

const c = await commitSnapshot(process.argv[2], new Map(Object.entries(JSON.parse(process.argv[3]))));
process.stdout.write(c ? `committed ${c.commit}\n` : 'unchanged\n');
