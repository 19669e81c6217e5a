// lsm config: the effective configuration, where each value came from, passwords masked.
import type { CommandModule } from 'yargs';
import { KEYS, displayValue } from '../config.js';
import { context, type GlobalArgs } from './context.js';
import { json } from './json.js';
import { dim, out } from './output.js';

interface Args extends GlobalArgs { json?: boolean }

const command: CommandModule<GlobalArgs, Args> = {
  command: 'config',
  describe: 'print the effective configuration and where each value came from (passwords masked)',
  builder: (y) => y.option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: async (argv) => {
    const { loaded, repoDir } = context(argv);
    // LSM 0.6 keys lsm has no use for: said here and by lsm install, never by the cron run
    for (const i of loaded.ignored) process.stderr.write(`lsm: ${i.where}: ${i.key} is ignored: ${i.why}\n`);
    const rows = Object.keys(KEYS).map((key) => ({ key, value: displayValue(key, loaded.values[key]), source: loaded.sources[key], doc: KEYS[key].doc }));
    if (argv.json) { out(json({ file: loaded.path, repo: repoDir, values: rows })); return; }
    out(dim(`# config file: ${loaded.path ?? '(none: every value is a default)'}; repository: ${repoDir}`));
    for (const r of rows) out(`${r.key}="${r.value.replace(/(["\\$`])/g, '\\$1')}"  ${dim(`# ${r.source}`)}`);
  },
};
export default command;
