#!/usr/bin/env python3
"""rusage.py OUT CMD...: run CMD (stdio inherited) under GNU time, then write to OUT what GNU time's
-f '%U %S %M' would, but the CPU to the microsecond (user s, system s; children and threads
included): GNU time rounds it to 10 ms, the size of the differences the cron case looks for. The
peak RSS (KiB) is GNU time's: a child forked from python would count python's own pages (Linux
keeps the peak across exec). GNU time's own CPU (well under 1 ms) is in every row alike. Exits
with CMD's status."""
import os
import sys

out, argv = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    try:
        os.execv("/usr/bin/time", ["time", "-o", out + ".rss", "-f", "%M", *argv])
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
with open(out + ".rss") as f:
    rss = f.read().split()[-1]
with open(out, "w") as f:
    f.write(f"{ru.ru_utime:.6f} {ru.ru_stime:.6f} {rss}\n")
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)  # killed by signal N: 128 + N, as a shell says
