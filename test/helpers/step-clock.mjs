// Preloaded into an lsm process (NODE_OPTIONS=--import): its wall clock (Date.now) steps back by
// STEP_CLOCK_MS (negative: forward) once STEP_CLOCK_AFTER_MS have passed since it started, as an
// NTP correction or an administrator steps a machine's clock. The machine's own clock is untouched.
const real = Date.now;
const start = real();
const step = Number(process.env.STEP_CLOCK_MS ?? 0);
const after = Number(process.env.STEP_CLOCK_AFTER_MS ?? 0);
Date.now = () => { const t = real(); return t - start >= after ? t - step : t; };
