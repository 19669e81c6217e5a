#!/usr/bin/env python3
"""`nsfd-churn.py`: holds, as strays for collect's tellUnkept (sockets in no table read), a UDP
socket of a network namespace no process is in (its child made it there, passed it, and exited:
a copy of the fd hands collect that namespace's fd) and, at a lower fd, one that a thread swaps
between two unbound UDP sockets without pause (the copy then finds another socket: null); a
second child sleeps in a namespace of its own, so a connection dump still waits. Prints 'ready
PID', then waits until stdin closes (bounded: 1800 s)."""
import ctypes, os, select, socket, sys, threading, time

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)
r, w = os.pipe()
if os.fork() == 0:  # first: it holds none of the sockets below
    if libc.unshare(CLONE_NEWNET) != 0:
        os._exit(3)
    os.close(w)
    os.read(r, 1)  # EOF: the parent is gone
    os._exit(0)
os.close(r)
pads = [os.open("/dev/null", os.O_RDONLY) for _ in range(20)]  # the swapped fd below every socket's
swapped = pads[0]
a, b = socket.socketpair()
made = os.fork()
if made == 0:
    if libc.unshare(CLONE_NEWNET) != 0:
        os._exit(3)
    there = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    socket.send_fds(b, [b"x"], [there.fileno()])
    os._exit(0)
_, fds, _, _ = socket.recv_fds(a, 16, 1)
os.waitpid(made, 0)
s1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
def swap():
    end = time.monotonic() + 1800
    while time.monotonic() < end:
        os.dup2(s1.fileno(), swapped)
        os.dup2(s2.fileno(), swapped)
threading.Thread(target=swap, daemon=True).start()
print("ready", os.getpid(), flush=True)
select.select([sys.stdin], [], [], 1800)
