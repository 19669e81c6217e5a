// The one-file bundle's entry (scripts/bundle.mjs, dist/lsm.cjs; docs/cron-startup.md): what
// dist/lsm-start.cjs calls. warm() loads the cron run's modules without running anything, so the
// build's V8 code cache holds their compiled code.
export { start } from './program.js';

export const warm = (): Promise<unknown> => import('./check.js');
