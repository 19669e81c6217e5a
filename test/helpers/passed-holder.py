#!/usr/bin/env python3
"""`passed-holder.py PORT DIR`: a TCP listener on 127.0.0.1:PORT made here, passed by SCM_RIGHTS to
a child and closed here (only the child holds it); and a unix socket bound at DIR/o.sock with an
O_PATH fd of that file beside it (a file of mode S_IFSOCK on disk, no socket: its inode is the
filesystem's). Prints 'ready PID CHILD', then waits until stdin closes (bounded: 1800 s); the child
goes when this process does."""
import os, select, socket, sys

port, where = int(sys.argv[1]), sys.argv[2]
a, b = socket.socketpair()
child = os.fork()
if child == 0:
    a.close()
    _, fds, _, _ = socket.recv_fds(b, 16, 1)
    b.send(b"k")
    b.recv(1)  # EOF: the parent is gone
    os._exit(0)
b.close()
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen()
socket.send_fds(a, [b"x"], [listener.fileno()])
a.recv(1)
listener.close()
unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
unix.bind(os.path.join(where, "o.sock"))
unix.listen()
opath = os.open(os.path.join(where, "o.sock"), os.O_PATH)
print("ready", os.getpid(), child, opath, flush=True)
select.select([sys.stdin], [], [], 1800)
