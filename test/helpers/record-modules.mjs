// --import this: at exit, writes to $LSM_TEST_MODULES every module the process loaded, one a line:
// its own ESM modules (file: URLs, seen by a load hook) and node's built-in modules.
import { register } from 'node:module';
import { appendFileSync } from 'node:fs';

const out = process.env.LSM_TEST_MODULES;
if (out) {
  const hook = `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) { appendFileSync(${JSON.stringify(out)}, url + '\\n'); return next(url, context); }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
  process.on('exit', () => {
    appendFileSync(out, process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => `node:${m.slice(13)}\n`).join(''));
  });
}
