// Records a scan without spooling its alert: the state a scan killed (SIGKILL) right after its
// commit leaves behind. usage: commit-only.mjs REPO CONFIG
import { context, scan } from '../../dist/cli/context.js';

const ctx = context({ repo: process.argv[2], config: process.argv[3] });
const { change } = await scan(ctx, { alert: false });
process.stdout.write(change ? change.commit : 'unchanged');
