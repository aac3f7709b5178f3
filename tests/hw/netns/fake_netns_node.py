#!/usr/bin/python3
"""A stand-in for mooncake_node in namespace mode (mooncake_hwrun --netns
--node-bin): binds a UDP socket on its --conf addr=HOST:PORT (which works
only if HOST is an address of the namespace it runs in), traces
"fake.netns local=1 nics=<eth links>", then every 50 ms sends its name to
each address of --conf peers=A:P,B:P and traces every datagram it receives
as "fake.recv from=<name>" - so a test can see which directions a
partition cuts. A fake.recv line carries the datagram's SEND time (one
CLOCK_MONOTONIC for all namespaces), so a slow receiver cannot make an
old datagram look like one that crossed a cut. Exits 0 on SIGTERM."""
import signal
import socket
import sys
import time

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
name, conf, epoch = "node", {}, time.monotonic_ns()
args = sys.argv[1:]
i = 0
while i < len(args):
    if args[i] in ("--name", "--conf", "--epoch", "--seed", "--role") and i + 1 < len(args):
        flag, val = args[i], args[i + 1]
        i += 2
        if flag == "--name":
            name = val
        elif flag == "--epoch":
            epoch = int(val)
        elif flag == "--conf":
            key, _, v = val.partition("=")
            conf[key] = v
    else:
        i += 1


def trace(event, t_ns=None, **fields):
    kv = " ".join("%s=%s" % f for f in fields.items())
    t = (time.monotonic_ns() if t_ns is None else t_ns) - epoch
    print("@trace %d %s %s %s" % (max(t, 0), name, event, kv), flush=True)


host, port = conf["addr"].rsplit(":", 1)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    sock.bind((host, int(port)))
    local = 1
except OSError:
    local = 0
nics = sum(1 for _, ifname in socket.if_nameindex() if ifname.startswith("eth"))
trace("fake.netns", local=local, nics=nics)
peers = [(p.rsplit(":", 1)[0], int(p.rsplit(":", 1)[1])) for p in conf.get("peers", "").split(",") if p]
sock.settimeout(0.02)
next_send = 0.0
while True:
    now = time.monotonic()
    if local and now >= next_send:
        next_send = now + 0.05
        for peer in peers:
            try:
                sock.sendto(("%s %d" % (name, time.monotonic_ns())).encode(), peer)
            except OSError:
                pass  # e.g. the NIC is down
    try:
        data, _ = sock.recvfrom(256)
        sender, sent = data.decode(errors="replace").split()
        trace("fake.recv", t_ns=int(sent), **{"from": sender})
    except (socket.timeout, OSError):
        if not local:
            time.sleep(0.05)
