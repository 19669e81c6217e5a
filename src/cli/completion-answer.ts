// The entry a TAB runs (bin/lsm sends `lsm --get-yargs-completions ...` here): node's start, the
// completion table and nothing else, so a TAB costs about what `node -e 0` does.
import { answer } from './completion.js';

process.stdout.on('error', () => process.exit(0)); // the shell stopped reading: nothing to report
process.stdout.write(answer(process.argv.slice(2), process.env));
