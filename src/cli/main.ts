#!/usr/bin/env node
// lsm: Linux Socket Monitor (the ESM dist's entry; bin/lsm runs the bundle's snapshot when it is
// there and current, this otherwise: docs/cron-startup.md).
import { start } from './program.js';

start(process.argv.slice(2));
