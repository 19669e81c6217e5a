#!/usr/bin/env python3
"""Holds real sockets for a test: `holder.py SPEC_JSON`. SPEC: {"comm": optional process name
(bytes as latin1 text), "sockets": [{"kind": "tcp4"|"tcp6"|"udp4"|"udp6"|"raw4"|"raw6"|"packet"|"packet-dgram"|
"unix"|"unix-dgram"|"unix-seq"|"unix-conn"|"unix-bound"|"abstract"|"abstract-dgram"|"ping4"|"ping6"|"quic"|"tcp4-conn", "addr": ..., "port": ..., "device": SO_BINDTODEVICE,
"v6only": IPV6_V6ONLY (default true)}]}. "tcp4-conn" connects to addr:port from an ephemeral port,
and accepts the connection when this holder listens there. "later": sockets opened on SIGUSR1.
Prints 'ready PID' when every socket
exists, then waits until stdin closes or 1800 s pass (bounded: every test stops its holders by pid;
the bound outlives a whole test file on a loaded machine, where 300 s let earlier holders die mid-file), and exits."""
import json, os, select, signal, socket, sys

spec = json.loads(sys.argv[1])
if spec.get("comm") is not None:
    with open("/proc/self/comm", "wb") as f:
        f.write(spec["comm"].encode("latin1"))
held = []
listeners = {}

def open_sockets(specs):
    for s in specs:
        k = s["kind"]
        if k in ("tcp4", "tcp6"):
            fam = socket.AF_INET if k == "tcp4" else socket.AF_INET6
            sock = socket.socket(fam, socket.SOCK_STREAM)
            if fam == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(s.get("v6only", True)))
            if s.get("device"):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, s["device"].encode())
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((s.get("addr", "127.0.0.1" if fam == socket.AF_INET else "::1"), s["port"]))
            sock.listen(16)
            listeners.setdefault(s["port"], []).append(sock)
        elif k in ("udp4", "udp6"):
            fam = socket.AF_INET if k == "udp4" else socket.AF_INET6
            sock = socket.socket(fam, socket.SOCK_DGRAM)
            if fam == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(s.get("v6only", True)))
            if s.get("device"):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, s["device"].encode())
            sock.bind((s.get("addr", "127.0.0.1" if fam == socket.AF_INET else "::1"), s["port"]))
        elif k in ("raw4", "raw6"):
            fam = socket.AF_INET if k == "raw4" else socket.AF_INET6
            sock = socket.socket(fam, socket.SOCK_RAW, s.get("proto", 1 if k == "raw4" else 58))
        elif k in ("packet", "packet-dgram"):
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW if k == "packet" else socket.SOCK_DGRAM, socket.htons(s.get("proto", 3)))
        elif k in ("unix", "unix-dgram", "unix-seq"):
            types = {"unix": socket.SOCK_STREAM, "unix-dgram": socket.SOCK_DGRAM, "unix-seq": socket.SOCK_SEQPACKET}
            sock = socket.socket(socket.AF_UNIX, types[k])
            path = s["path"].encode("latin1")
            sock.bind(path)
            if k != "unix-dgram":
                sock.listen(16)
                listeners.setdefault(s["path"], []).append(sock)
        elif k == "unix-bound":  # a stream socket bound to a path, never listening
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(s["path"].encode("latin1"))
        elif k in ("ping4", "ping6"):  # an ICMP datagram socket (needs net.ipv4.ping_group_range)
            fam = socket.AF_INET if k == "ping4" else socket.AF_INET6
            sock = socket.socket(fam, socket.SOCK_DGRAM, socket.IPPROTO_ICMP if k == "ping4" else socket.IPPROTO_ICMPV6)
            sock.bind((s.get("addr", "0.0.0.0" if k == "ping4" else "::"), 0))
        elif k == "quic":  # SO_REUSEPORT UDP sockets on one port: one unconnected, one connect()ed to a client
            for connect in (False, True):
                q = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                q.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                q.bind((s.get("addr", "127.0.0.1"), s["port"]))
                if connect:
                    q.connect(("127.0.0.1", s["client"]))
                held.append(q)
            continue
        elif k in ("abstract", "abstract-dgram"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM if k == "abstract" else socket.SOCK_DGRAM)
            sock.bind(b"\0" + s["name"].encode("latin1"))
            if k == "abstract":
                sock.listen(16)
        elif k == "unix-conn":  # a client connected to a unix listener here (unnamed), and its accepted end (the listener's name)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(s["path"].encode("latin1"))
            for l in listeners.get(s["path"], []):
                held.append(l.accept()[0])
        elif k == "tcp4-conn":
            sock = socket.create_connection((s.get("addr", "127.0.0.1"), s["port"]))
            for l in listeners.get(s["port"], []):
                held.append(l.accept()[0])
        else:
            raise SystemExit("unknown kind " + k)
        held.append(sock)

open_sockets(spec.get("sockets", []))
# "later": more sockets, opened at once when the holder gets SIGUSR1 (no process start in between)
signal.signal(signal.SIGUSR1, lambda *_: open_sockets(spec.get("later", [])))
print("ready", os.getpid(), flush=True)
select.select([sys.stdin], [], [], s_max if (s_max := spec.get("hold", 1800)) else 1800)
