// The application layer (src/run/) as the commands import it: settings decided and checked once
// (run/settings.ts), the scan pipeline (run/scan.ts), alerts (run/alerts.ts).
export { context, defaultRepo, type Context, type GlobalArgs } from '../run/settings.js';
export { collectNow, ignoreRules, takeSnapshot } from '../run/snapshot.js';
export { alertSettings, flushAlerts } from '../run/alerts.js';
export { scan, settle, type ScanResult } from '../run/scan.js';
