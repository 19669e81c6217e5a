// LSM 0.6's flags, which lsm keeps as commands: -g baseline, -c check, -d forget (fast-path.ts
// rewrites the command line; completion.ts completes after them).
export const LEGACY: Record<string, string> = { '-g': 'baseline', '-c': 'check', '-d': 'forget' };
