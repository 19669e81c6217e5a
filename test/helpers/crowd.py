#!/usr/bin/env python3
"""A crowd of a user's processes for a test: `crowd.py SPEC_JSON PADDING...`. The PADDING arguments
make every process's command line as long as the test wants (all of them share it: they are forks).
SPEC: {"uid": the user to become, "port": a TCP port all of them hold one listener on, "procs": how
many processes, "abstract": how many abstract unix sockets each process holds of its own, named
"crowd-<i>-<k>"}. Prints 'ready PID' when every process holds its sockets, then waits until stdin
closes or 300 s pass (bounded); the others die with it (PR_SET_PDEATHSIG)."""
import ctypes, json, os, select, signal, socket, sys

spec = json.loads(sys.argv[1])
os.setgroups([])
os.setgid(spec["uid"])
os.setuid(spec["uid"])
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(("127.0.0.1", spec["port"]))
listener.listen(16)
ready_r, ready_w = os.pipe()
held = []

def own_sockets(i):
    for k in range(spec.get("abstract", 0)):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(b"\0" + f"crowd-{i}-{k}".encode())
        s.listen(1)
        held.append(s)

for i in range(1, spec["procs"]):
    if os.fork() == 0:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: gone with the parent
        own_sockets(i)
        os.write(ready_w, b".")
        select.select([sys.stdin], [], [], 300)
        os._exit(0)
own_sockets(0)
got = 0
while got < spec["procs"] - 1:
    got += len(os.read(ready_r, 64))
print("ready", os.getpid(), flush=True)
select.select([sys.stdin], [], [], 300)
