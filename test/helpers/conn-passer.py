#!/usr/bin/env python3
"""`conn-passer.py PORT`: a child in a network namespace of its own (unshare -n) listens on
127.0.0.1:PORT, connects to itself, passes both ends of the connection by SCM_RIGHTS to this
process and closes its copies: this process holds connections of another namespace, whose only
process holds only the listener. Prints 'ready PID CHILD', then waits until stdin closes
(bounded: 1800 s); the child goes when this process does."""
import ctypes, os, select, socket, subprocess, sys

CLONE_NEWNET = 0x40000000
port = int(sys.argv[1])
a, b = socket.socketpair()
child = os.fork()
if child == 0:
    a.close()
    if ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWNET) != 0:
        os._exit(3)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", port))
    listener.listen()
    client = socket.create_connection(("127.0.0.1", port))
    server, _ = listener.accept()
    socket.send_fds(b, [b"x"], [client.fileno(), server.fileno()])
    client.close()
    server.close()
    b.recv(1)  # EOF: the parent is gone
    os._exit(0)
b.close()
_, fds, _, _ = socket.recv_fds(a, 16, 2)
held = [socket.socket(fileno=fd) for fd in fds]
print("ready", os.getpid(), child, flush=True)
select.select([sys.stdin], [], [], 1800)
