// `collect-fds.mjs N`: collects the real /proc N times as a scan does (TCP listeners kept) and
// prints how many more fds this process holds after the last than after the first (what the first
// opens for good, such as the netlink reader's, is not counted; lsm watch collects for days).
import { readdirSync } from 'node:fs';
import { collect } from '../../dist/collect/index.js';
import { recordable, recordableState } from '../../dist/snapshot/select.js';

const open = () => readdirSync('/proc/self/fd').length;
const once = () => collect({ keep: (s) => recordable(s, {}), keepState: (k, st) => recordableState(k, st, {}) });
once();
const before = open();
for (let i = 0; i < Number(process.argv[2]); i++) once();
console.log(open() - before);
