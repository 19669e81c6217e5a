// Deterministic crash points for tests: with LSM_TEST_CRASH_AT=<name>, lsm SIGKILLs itself at
// that point (after-commit, after-spool, after-send, ...). Never set outside tests.
export function crashPoint(name: string): void { if (process.env.LSM_TEST_CRASH_AT === name) process.kill(process.pid, 'SIGKILL'); }
