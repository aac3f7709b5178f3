"""mooncake.engine.TransferEngine between two processes on loopback.

Every method is exercised against a peer process (a second Python
interpreter running its own TransferEngine), with the bytes compared on
both sides, in three metadata modes: P2PHANDSHAKE, the standalone
mooncake_http_metadata_server, and mooncake_master's embedded HTTP
metadata server. test_engine_bad_input.py reuses the helpers below.
"""
import base64
import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from conftest import PYTHON, build_dir, free_port, port_open, master_has_http_metadata

from mooncake.engine import TransferEngine, TransferNotify, TransferOpcode, Read, Write

PEER_BUF = 4 << 20

# The peer: one TransferEngine with a managed buffer; JSON commands on stdin.
PEER_SCRIPT = r"""
import base64, json, os, sys
from mooncake.engine import TransferEngine
e = TransferEngine()
rc = e.initialize(sys.argv[1], sys.argv[2], "tcp", "")
if rc != 0:
    print(json.dumps({"rc": rc}), flush=True)
    sys.exit(1)
size = int(sys.argv[3])
buf = e.allocate_managed_buffer(size)
e.write_bytes_to_buffer(buf, bytes(size), size)
port = e.get_rpc_port()
seg = f"{sys.argv[1].split(':')[0]}:{port}" if sys.argv[2] == "P2PHANDSHAKE" else sys.argv[1]
print(json.dumps({"rc": 0, "seg": seg, "buf": buf, "port": port, "pid": os.getpid()}), flush=True)
for line in sys.stdin:
    c = json.loads(line)
    op = c["op"]
    if op == "fill":
        data = base64.b64decode(c["data"])
        out = {"rc": e.write_bytes_to_buffer(buf + c["off"], data, len(data))}
    elif op == "read":
        out = {"data": base64.b64encode(e.read_bytes_from_buffer(buf + c["off"], c["len"])).decode()}
    elif op == "notifies":
        out = {"notifies": [[n.name, n.msg] for n in e.get_notifies()]}
    elif op == "register":
        extra = e.allocate_managed_buffer(c["len"])
        out = {"addr": extra}
    elif op == "quit":
        break
    else:
        out = {"error": op}
    print(json.dumps(out), flush=True)
"""


class Peer:
    """A TransferEngine in another process."""

    def __init__(self, metadata, hostname="127.0.0.1", size=PEER_BUF, env_extra=None):
        env = dict(os.environ)
        env.update(env_extra or {})
        self.proc = subprocess.Popen([PYTHON, "-c", PEER_SCRIPT, hostname, metadata, str(size)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        hello = json.loads(self.proc.stdout.readline() or '{"rc": "no output"}')
        assert hello["rc"] == 0, f"peer failed to initialize: {hello}"
        self.seg = hello["seg"]
        self.buf = hello["buf"]
        self.port = hello["port"]
        self.size = size

    def cmd(self, **c):
        self.proc.stdin.write(json.dumps(c) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def fill(self, off, data):
        assert self.cmd(op="fill", off=off, data=base64.b64encode(data).decode())["rc"] == 0

    def read(self, off, length):
        return base64.b64decode(self.cmd(op="read", off=off, len=length)["data"])

    def notifies(self):
        return [tuple(n) for n in self.cmd(op="notifies")["notifies"]]

    def allocate(self, length):
        return self.cmd(op="register", len=length)["addr"]

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except BrokenPipeError:
                pass

    def kill(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.stop()


class HttpMetadataServer:
    """mooncake_http_metadata_server, or mooncake_master with the embedded one."""

    kind = "http"

    def __init__(self, embedded=False):
        self.port = free_port()
        hw = build_dir() / "hw"
        if embedded:
            cmd = [str(hw / "mooncake_master"), f"--port={free_port()}", "--rpc_address=127.0.0.1",
                   "--enable_http_metadata_server=true", "--http_metadata_server_host=127.0.0.1",
                   f"--http_metadata_server_port={self.port}"]
        else:
            cmd = [str(hw / "mooncake_http_metadata_server"), "--port", str(self.port), "--host", "127.0.0.1"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import time
        for _ in range(400):
            if port_open(self.port) or self.proc.poll() is not None:
                break
            time.sleep(0.025)
        assert port_open(self.port), f"metadata server did not start: {cmd}"
        self.url = f"http://127.0.0.1:{self.port}/metadata"

    def put(self, key, body):
        import urllib.parse
        import urllib.request
        req = urllib.request.Request(f"{self.url}?key={urllib.parse.quote(key, safe='')}", data=body,
                                     method="PUT", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200

    def delete(self, key):
        import urllib.parse
        import urllib.request
        req = urllib.request.Request(f"{self.url}?key={urllib.parse.quote(key, safe='')}", method="DELETE")
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class EtcdServer:
    """Debian's etcd on free loopback ports; metadata_server is the bare
    "host:port" form (upstream: no "://" means etcd)."""

    kind = "etcd"

    def __init__(self, tmp_dir):
        import shutil
        import time
        self.port = free_port()
        peer_port = free_port()
        client = f"http://127.0.0.1:{self.port}"
        peer = f"http://127.0.0.1:{peer_port}"
        self.proc = subprocess.Popen(
            [shutil.which("etcd"), "--name", "t", "--data-dir", str(tmp_dir), "--listen-client-urls", client,
             "--advertise-client-urls", client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", f"t={peer}", "--log-level", "error"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(800):
            if port_open(self.port) or self.proc.poll() is not None:
                break
            time.sleep(0.025)
        assert port_open(self.port), "etcd did not start"
        self.url = f"127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def metadata_modes():
    import shutil
    modes = ["p2p", "http"]
    if master_has_http_metadata(build_dir() / "hw" / "mooncake_master"):
        modes.append("master")
    if shutil.which("etcd"):
        modes.append("etcd")
    return modes


@pytest.fixture(scope="module", params=metadata_modes())
def meta(request, tmp_path_factory):
    """(metadata_server string, server object or None)."""
    if request.param == "p2p":
        yield "P2PHANDSHAKE", None
        return
    if request.param == "etcd":
        srv = EtcdServer(tmp_path_factory.mktemp("etcd"))
    else:
        srv = HttpMetadataServer(embedded=request.param == "master")
    yield srv.url, srv
    srv.stop()


_counter = [0]


def local_name(metadata):
    """A distinct local_hostname per engine (HTTP mode keys segments by it)."""
    _counter[0] += 1
    return "127.0.0.1" if metadata == "P2PHANDSHAKE" else f"127.0.0.1:{20000 + os.getpid() % 10000 + _counter[0]}"


SEGMENT = {}  # id(engine) -> its segment name


def new_engine(metadata):
    name = local_name(metadata)
    e = TransferEngine()
    assert e.initialize(name, metadata, "tcp", "") == 0
    SEGMENT[id(e)] = f"127.0.0.1:{e.get_rpc_port()}" if metadata == "P2PHANDSHAKE" else name
    return e


@pytest.fixture(scope="module")
def peer(meta):
    p = Peer(meta[0], hostname=local_name(meta[0]))
    yield p
    p.stop()


@pytest.fixture(scope="module")
def engine(meta):
    return new_engine(meta[0])


@pytest.fixture(scope="module")
def bufs(engine):
    """Two managed 1 MiB buffers of the local engine."""
    a = engine.allocate_managed_buffer(1 << 20)
    b = engine.allocate_managed_buffer(1 << 20)
    assert a and b and a != b
    return a, b


def put_local(engine, addr, data):
    assert engine.write_bytes_to_buffer(addr, data, len(data)) == 0


# ---------------------------------------------------------------- tests


def test_module_surface():
    assert int(TransferOpcode.Read) == 0 and int(TransferOpcode.Write) == 1
    assert Read == TransferOpcode.Read and Write == TransferOpcode.Write
    n = TransferNotify("a", "b")
    assert (n.name, n.msg) == ("a", "b")
    import mooncake.engine as me
    assert me.SUPPORT_CUDA is False


def test_initialize_and_rpc_port(engine, peer, meta):
    port = engine.get_rpc_port()
    assert 15000 <= port <= 17000
    assert 15000 <= peer.port <= 17000
    assert TransferEngine().get_rpc_port() == -1
    assert engine.initialize("127.0.0.1", meta[0], "tcp", "") == -1  # twice


def test_bytes_in_managed_buffers(engine, bufs):
    a, _ = bufs
    data = os.urandom(100000)
    put_local(engine, a, data)
    assert engine.read_bytes_from_buffer(a, len(data)) == data
    assert engine.read_bytes_from_buffer(a + 10, 5) == data[10:15]


def test_first_buffer_address(engine, peer):
    assert engine.get_first_buffer_address(peer.seg) == peer.buf


def test_sync_write_then_read(engine, peer, bufs):
    a, b = bufs
    data = os.urandom(300 * 1024)  # several slices, an uneven tail
    put_local(engine, a, data)
    assert engine.transfer_sync_write(peer.seg, a, peer.buf + 7, len(data)) == 0
    assert peer.read(7, len(data)) == data
    other = os.urandom(200 * 1024)
    peer.fill(1 << 20, other)
    assert engine.transfer_sync_read(peer.seg, b, peer.buf + (1 << 20), len(other)) == 0
    assert engine.read_bytes_from_buffer(b, len(other)) == other
    # transfer_sync with an explicit opcode, keywords included
    assert engine.transfer_sync(peer.seg, b, peer.buf + 7, 4096, TransferOpcode.Read) == 0
    assert engine.read_bytes_from_buffer(b, 4096) == data[:4096]
    assert engine.transfer_sync(target_hostname=peer.seg, buffer=a, peer_buffer_address=peer.buf,
                                length=10, opcode=Write, transport_hint="") == 0
    assert peer.read(0, 10) == data[:10]


def test_batch_sync(engine, peer, bufs):
    a, b = bufs
    pieces = [os.urandom(n) for n in (1, 4096, 65536 + 5, 100000)]
    offs, o = [], 0
    for p in pieces:
        put_local(engine, a + o, p)
        offs.append(o)
        o += len(p)
    # scatter to the peer in reverse order, 2 MiB in
    peer_addrs, po = [], 2 << 20
    for p in reversed(pieces):
        peer_addrs.insert(0, po)
        po += len(p)
    peer_addrs = [peer.buf + x for x in peer_addrs]
    lens = [len(p) for p in pieces]
    assert engine.batch_transfer_sync_write(peer.seg, [a + x for x in offs], peer_addrs, lens) == 0
    for p, pa in zip(pieces, peer_addrs):
        assert peer.read(pa - peer.buf, len(p)) == p
    assert engine.batch_transfer_sync_read(peer.seg, [b + x for x in offs], peer_addrs, lens) == 0
    assert engine.read_bytes_from_buffer(b, o) == b"".join(pieces)
    assert engine.batch_transfer_sync(peer.seg, [b], [peer_addrs[0]], [lens[0]], TransferOpcode.Read) == 0
    assert engine.batch_transfer_sync_write(peer.seg, [], [], []) == 0  # nothing to move


def test_batch_async_and_status(engine, peer, bufs):
    a, b = bufs
    data = os.urandom(256 * 1024)
    put_local(engine, a, data)
    ids = [engine.batch_transfer_async_write(peer.seg, [a + i * 65536 for i in range(4)],
                                             [peer.buf + i * 65536 for i in range(4)], [65536] * 4)]
    assert ids[0] > 0
    assert engine.get_batch_transfer_status(ids) == 0
    assert peer.read(0, len(data)) == data
    back = os.urandom(8192)
    peer.fill(3 << 20, back)
    ids = [engine.batch_transfer_async_read(peer.seg, [b], [peer.buf + (3 << 20)], [8192]),
           engine.batch_transfer_async(peer.seg, [b + 8192], [peer.buf], [4096], TransferOpcode.Read)]
    assert all(i > 0 for i in ids) and ids[0] != ids[1]
    assert engine.get_batch_transfer_status(ids) == 0
    assert engine.read_bytes_from_buffer(b, 8192) == back
    assert engine.read_bytes_from_buffer(b + 8192, 4096) == data[:4096]
    assert engine.get_batch_transfer_status(ids) == -1  # freed: unknown now


def test_submit_write_and_check_status(engine, peer, bufs):
    a, _ = bufs
    data = os.urandom(512 * 1024)
    put_local(engine, a, data)
    bid = engine.transfer_submit_write(peer.seg, a, peer.buf + 100, len(data))
    assert bid > 0
    st = 0
    while st == 0:
        st = engine.transfer_check_status(bid)
    assert st == 1
    assert peer.read(100, len(data)) == data
    assert engine.transfer_check_status(bid) == -1  # freed after completion


def test_register_numpy_memory(engine, peer):
    np = pytest.importorskip("numpy")
    src = np.frombuffer(os.urandom(3 * 65536), dtype=np.uint8).copy()
    dst = np.zeros(3 * 65536, dtype=np.uint8)
    assert engine.register_memory(src.ctypes.data, src.nbytes) == 0
    assert engine.register_memory(dst.ctypes.data, dst.nbytes, "cpu:0") == 0
    assert engine.transfer_sync_write(peer.seg, src.ctypes.data, peer.buf, src.nbytes) == 0
    assert peer.read(0, src.nbytes) == src.tobytes()
    assert engine.transfer_sync_read(peer.seg, dst.ctypes.data, peer.buf, dst.nbytes) == 0
    assert (dst == src).all()
    assert engine.unregister_memory(src.ctypes.data) == 0
    assert engine.unregister_memory(dst.ctypes.data) == 0
    # batch forms: two adjacent halves, one transfer spanning both
    half = dst.nbytes // 2
    addrs = [dst.ctypes.data, dst.ctypes.data + half]
    assert engine.batch_register_memory(addrs, [half, half]) == 0
    dst[:] = 0
    assert engine.transfer_sync_read(peer.seg, dst.ctypes.data, peer.buf, dst.nbytes) == 0
    assert (dst == src).all()
    assert engine.batch_unregister_memory(addrs) == 0
    assert engine.transfer_sync_read(peer.seg, dst.ctypes.data, peer.buf, 16) == -1  # unregistered


def test_notifies(engine, peer, bufs):
    a, _ = bufs
    assert peer.notifies() == []
    assert engine.transfer_sync(peer.seg, a, peer.buf, 64, TransferOpcode.Write,
                                TransferNotify("agent1", "notification1")) == 0
    assert engine.batch_transfer_sync(peer.seg, [a], [peer.buf], [64], Write,
                                      notify=TransferNotify("agent1", "notification2")) == 0
    # sent last on the same channel and acknowledged: the two notifies that
    # follow transfer completions have arrived before it
    assert engine.send_notify(peer.seg, TransferNotify("agent2", "hello")) == 0
    assert peer.notifies() == [("agent1", "notification1"), ("agent1", "notification2"), ("agent2", "hello")]
    assert peer.notifies() == []  # drained
    assert engine.get_notifies() == []


def test_probe(engine, peer):
    assert engine.send_probe(peer.seg) == 0


def test_local_topology(engine):
    topo = json.loads(engine.get_local_topology())
    assert topo and all(k.startswith("cpu:") for k in topo)
    for pref, avail in topo.values():
        assert isinstance(pref, list) and isinstance(avail, list)
    assert json.loads(engine.get_local_topology("no_such_dev")) == {k: [[], []] for k in topo}


def test_managed_buffer_reuse(engine):
    x = engine.allocate_managed_buffer(10000)
    assert x
    assert engine.free_managed_buffer(x, 10000) == 0
    assert engine.allocate_managed_buffer(16384) == x  # same 16 KiB class
    assert engine.free_managed_buffer(x, 16384) == 0
    big = engine.allocate_managed_buffer((256 << 20) + 1)  # above the classes: its own mapping
    assert big
    assert engine.write_bytes_to_buffer(big + (256 << 20), b"z", 1) == 0
    assert engine.free_managed_buffer(big, (256 << 20) + 1) == 0
    assert engine.write_bytes_to_buffer(big, b"z", 1) == -1  # gone


def test_loopback_to_own_segment(engine, bufs):
    a, b = bufs
    me = SEGMENT[id(engine)]
    data = os.urandom(70000)
    put_local(engine, a, data)
    assert engine.transfer_sync_write(me, a, b, len(data)) == 0
    assert engine.read_bytes_from_buffer(b, len(data)) == data


def test_initialize_ext_and_env_metadata(meta, monkeypatch):
    metadata, srv = meta
    if srv is None:
        pytest.skip("metadata server modes only")
    p = Peer(metadata, hostname=local_name(metadata))
    try:
        e = TransferEngine()
        # initialize_ext builds metadata_type + "://" + server
        if srv.kind == "http":
            assert e.initialize_ext(local_name(metadata), metadata[len("http://"):], "tcp", "", "http") == 0
        else:
            assert e.initialize_ext(local_name(metadata), metadata, "tcp", "", "etcd") == 0
        assert e.get_first_buffer_address(p.seg) == p.buf
        # MC_METADATA_SERVER stands in for an empty metadata_server
        monkeypatch.setenv("MC_METADATA_SERVER", metadata)
        e2 = TransferEngine()
        assert e2.initialize(local_name(metadata), "", "tcp", "") == 0
        a = e2.allocate_managed_buffer(4096)
        assert e2.write_bytes_to_buffer(a, b"x" * 4096, 4096) == 0
        assert e2.transfer_sync_write(p.seg, a, p.buf, 4096) == 0
        assert p.read(0, 4096) == b"x" * 4096
    finally:
        p.stop()


def test_gil_released_during_transfer(meta, monkeypatch):
    """A transfer stuck on a stopped peer does not hold the GIL: another
    thread keeps using a second engine meanwhile."""
    metadata = meta[0]
    monkeypatch.setenv("MC_TRANSFER_TIMEOUT", "5")
    stuck = new_engine(metadata)
    p = Peer(metadata, hostname=local_name(metadata))
    free = new_engine(metadata)
    try:
        a = stuck.allocate_managed_buffer(1 << 20)
        assert stuck.transfer_sync_write(p.seg, a, p.buf, 4096) == 0  # segment cached, connected
        os.kill(p.proc.pid, signal.SIGSTOP)
        result = []
        t = threading.Thread(target=lambda: result.append(stuck.transfer_sync_write(p.seg, a, p.buf, 1 << 20)))
        t.start()
        x = free.allocate_managed_buffer(4096)
        y = free.allocate_managed_buffer(4096)
        me = SEGMENT[id(free)]
        done = 0
        for i in range(20):
            assert free.write_bytes_to_buffer(x, bytes([i]) * 4096, 4096) == 0
            assert free.transfer_sync_write(me, x, y, 4096) == 0
            assert free.read_bytes_from_buffer(y, 4096) == bytes([i]) * 4096
            done += 1
        still_blocked = t.is_alive()
        os.kill(p.proc.pid, signal.SIGCONT)
        t.join()
        assert done == 20 and still_blocked
        assert result and result[0] in (0, -1)
    finally:
        os.kill(p.proc.pid, signal.SIGCONT)
        p.stop()


def test_threads_share_one_engine(engine, peer):
    """Calls from several threads at once on one engine: every byte lands."""
    n_threads, rounds, size = 4, 10, 32 * 1024
    local = engine.allocate_managed_buffer(n_threads * size)
    assert local
    errors = []

    def worker(k):
        for r in range(rounds):
            data = bytes([(k * 31 + r) & 0xFF]) * size
            if engine.write_bytes_to_buffer(local + k * size, data, size) != 0:
                errors.append((k, r, "write_bytes"))
            if engine.transfer_sync_write(peer.seg, local + k * size, peer.buf + k * size, size) != 0:
                errors.append((k, r, "transfer"))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for k in range(n_threads):
        assert peer.read(k * size, size) == bytes([(k * 31 + rounds - 1) & 0xFF]) * size
    assert engine.free_managed_buffer(local, n_threads * size) == 0


def test_rpc_port_choice(monkeypatch):
    """A free port from [MC_MIN_RPC_PORT, MC_MAX_RPC_PORT]; the port in
    local_hostname only with MC_LEGACY_RPC_PORT_BINDING."""
    import socket
    port = None
    for cand in range(18000 + os.getpid() % 900, 19000, 2):  # outside the default range, not ephemeral
        try:
            with socket.socket() as s1, socket.socket() as s2:
                s1.bind(("127.0.0.1", cand))
                s2.bind(("127.0.0.1", cand + 1))
        except OSError:
            continue
        port = cand
        break
    assert port
    monkeypatch.setenv("MC_MIN_RPC_PORT", str(port))
    monkeypatch.setenv("MC_MAX_RPC_PORT", str(port))
    e = TransferEngine()
    assert e.initialize("127.0.0.1", "P2PHANDSHAKE", "tcp", "") == 0
    assert e.get_rpc_port() == port
    monkeypatch.delenv("MC_MIN_RPC_PORT")
    monkeypatch.delenv("MC_MAX_RPC_PORT")
    legacy = port + 1
    monkeypatch.setenv("MC_LEGACY_RPC_PORT_BINDING", "1")
    f = TransferEngine()
    assert f.initialize(f"127.0.0.1:{legacy}", "P2PHANDSHAKE", "tcp", "") == 0
    assert f.get_rpc_port() == legacy
    g = TransferEngine()
    assert g.initialize(f"127.0.0.1:{legacy}", "P2PHANDSHAKE", "tcp", "") == -1  # taken
    assert "cannot listen" in g.last_error()
