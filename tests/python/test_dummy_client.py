"""Dummy clients (setup_dummy) against a real mooncake_client service
(spec store.md §7, seeds setup_dummy): every forwarded call with byte
comparisons, an ordinary store process reading what a dummy put, the
service killed / stopped / restarted, and a dummy process killed."""
import ctypes
import os
import signal
import subprocess
import time

import pytest

from conftest import (INVALID_PARAMS, OBJECT_NOT_FOUND, PYTHON, RPC_FAIL, build_dir, free_port, lease_wait,
                      run_python, spawn_listening, stop_process)
from mooncake.store import MooncakeDistributedStore, ReplicateConfig

LB = 32 << 20  # the dummies' local buffer


class Service:
    """A mooncake_client on 127.0.0.1:port serving dummies for `master`."""

    def __init__(self, master_addr, log_dir, port=None):
        self.master_addr = master_addr
        self.port = port or free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.log_path = log_dir / f"mooncake_client_{self.port}.log"
        self.proc = None

    def start(self, timeout=15.0):
        self.log = open(self.log_path, "ab")
        cmd = [str(build_dir() / "hw" / "mooncake_client"), "--host", "127.0.0.1", "--port", str(self.port),
               "--master_server_address", self.master_addr, "--metadata_server", "P2PHANDSHAKE",
               "--global_segment_size", "64 MB", "-v"]
        self.proc = spawn_listening(cmd, self.log, [self.port], "mooncake_client", timeout)
        return self

    def memfd_mappings(self):
        """Dummy shared-memory regions the service has mapped."""
        with open(f"/proc/{self.proc.pid}/maps") as f:
            return sum(1 for line in f if "mooncake_dummy" in line)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait(timeout=10)
        self.log.close()

    def stop(self):
        rc = stop_process(self.proc, signal.SIGTERM, timeout=30)
        self.log.close()
        return rc


@pytest.fixture
def service(fresh_master, tmp_path):
    """A master of its own: a killed service's segment must not linger in
    another test's placement (it stays listed until client_ttl)."""
    s = Service(fresh_master.addr, tmp_path).start()
    yield s
    s.kill()


def make_dummy(service, local_buffer=LB):
    d = MooncakeDistributedStore()
    assert d.setup_dummy(1 << 30, local_buffer, service.addr) == 0
    return d


@pytest.fixture
def dummy(service):
    d = make_dummy(service)
    yield d
    d.close()


def test_setup_dummy_without_service():
    d = MooncakeDistributedStore()
    assert d.health_check() == 1
    assert d.setup_dummy(0, 1 << 20, f"127.0.0.1:{free_port()}") == -1
    assert d.put("k", b"v") == INVALID_PARAMS  # still not set up


def test_identity_and_health(dummy):
    assert dummy.get_hostname() == ""
    assert dummy.health_check() == 0
    assert dummy.setup_dummy(0, 1 << 20, "127.0.0.1:1") == INVALID_PARAMS  # already set up


def test_put_get_exist_size_remove(dummy, service, key):
    value = bytes(range(256)) * 1000
    assert dummy.put(key, value) == 0
    assert dummy.get(key) == value
    assert dummy.is_exist(key) == 1
    assert dummy.get_size(key) == len(value)
    assert dummy.put(key, b"second") == 0          # first writer wins
    assert dummy.get(key) == value
    assert dummy.remove(key) == -706                # leased by the reads above
    lease_wait()
    assert dummy.remove(key) == 0
    assert dummy.is_exist(key) == 0
    assert dummy.get(key) == b""
    assert dummy.get_size(key) == OBJECT_NOT_FOUND
    assert dummy.remove(key) == OBJECT_NOT_FOUND
    assert dummy.put(key, b"") == INVALID_PARAMS


def test_upsert_and_parts(dummy, key):
    assert dummy.upsert(key, b"one") == 0
    assert dummy.upsert(key, b"replaced value") == 0
    assert dummy.get(key) == b"replaced value"
    assert dummy.put_parts(key + "p", b"ab", b"", b"cd") == 0
    assert dummy.get(key + "p") == b"abcd"
    assert dummy.upsert_parts(key + "p", b"xy") == 0
    assert dummy.get(key + "p") == b"xy"
    cfg = ReplicateConfig()
    cfg.replica_num = 1
    assert dummy.put(key + "c", b"cfg", cfg) == 0
    assert dummy.get(key + "c") == b"cfg"


def test_batches(dummy, key):
    keys = [f"{key}-{i}" for i in range(20)]
    values = [os.urandom(100 + i * 37) for i in range(20)]
    assert dummy.put_batch(keys, values) == 0
    assert dummy.get_batch(keys) == values
    assert dummy.batch_is_exist(keys + [key + "none"]) == [1] * 20 + [0]
    assert dummy.upsert_batch(keys[:2], [b"a", b"b"]) == 0
    assert dummy.get_batch(keys[:2]) == [b"a", b"b"]
    assert dummy.batch_remove(keys, True) == [0] * 20
    assert dummy.get_batch(keys[:3]) == [b""] * 3
    assert dummy.put_batch(keys, values[:1]) == INVALID_PARAMS


def test_get_buffer(dummy, key):
    assert dummy.put(key, b"B" * 5000) == 0
    h = dummy.get_buffer(key)
    assert h is not None and h.size() == 5000
    assert bytes(memoryview(h)) == b"B" * 5000
    hs = dummy.batch_get_buffer([key, key + "none"])
    assert hs[1] is None and bytes(memoryview(hs[0])) == b"B" * 5000


def test_local_buffer_bounds_copying_calls(service, key):
    d = make_dummy(service, local_buffer=1 << 20)
    try:
        assert d.put(key, b"x" * (2 << 20)) == INVALID_PARAMS   # larger than the local buffer
        assert d.put(key, b"y" * (512 << 10)) == 0
        assert d.get(key) == b"y" * (512 << 10)
    finally:
        d.close()


def shm(dummy, size):
    p = dummy.alloc_from_mem_pool(size)
    assert p != 0
    return p


def test_zero_copy(dummy, key):
    size = 1 << 20
    src, dst = shm(dummy, size), shm(dummy, size)
    private = ctypes.create_string_buffer(4096)
    assert dummy.register_buffer(ctypes.addressof(private), 4096) == -1  # not pool memory
    assert dummy.register_buffer(src + 64, 100) == -1                     # not a whole region
    assert dummy.put_from(key, src, 100) == INVALID_PARAMS                # not registered
    assert dummy.register_buffer(src, size) == 0
    assert dummy.register_buffer(dst, size) == 0
    data = os.urandom(size)
    ctypes.memmove(src, data, size)
    assert dummy.put_from(key, src, size) == 0
    assert dummy.get_into(key, dst, size) == size
    assert ctypes.string_at(dst, size) == data
    assert dummy.get_into(key, dst, size - 1) == INVALID_PARAMS
    assert dummy.get(key) == data  # staged through the local buffer
    keys = [key + "a", key + "b"]
    assert dummy.batch_put_from(keys, [src + 10, src + 5000], [30, 40]) == [0, 0]
    ctypes.memset(dst, 0, 8192)
    assert dummy.batch_get_into(keys, [dst, dst + 4096], [100, 100]) == [30, 40]
    assert ctypes.string_at(dst, 30) == data[10:40]
    assert ctypes.string_at(dst + 4096, 40) == data[5000:5040]
    mkeys = [key + "m1", key + "m2"]
    assert dummy.batch_put_from_multi_buffers(mkeys, [[src, src + 100], [src + 300]], [[10, 20], [5]]) == [0, 0]
    assert dummy.batch_get_into_multi_buffers(mkeys, [[dst + 1000, dst + 2000], [dst + 3000]],
                                              [[15, 15], [5]]) == [30, 5]
    assert ctypes.string_at(dst + 1000, 15) + ctypes.string_at(dst + 2000, 15) == data[0:10] + data[100:120]
    assert ctypes.string_at(dst + 3000, 5) == data[300:305]
    res = dummy.get_into_ranges([dst + 100000], [[key]], [[[0, 10]]], [[[7, 500]]], [[[5, 6]]])
    assert res == [[[5, 6]]]
    assert ctypes.string_at(dst + 100000, 5) == data[7:12]
    assert ctypes.string_at(dst + 100010, 6) == data[500:506]
    assert dummy.unregister_buffer(dst) == 0
    assert dummy.get_into(key, dst, size) == INVALID_PARAMS
    assert dummy.register_buffer(dst, size) == 0
    assert dummy.get_into(key, dst, size) == size


def test_remove_by_regex_and_all(dummy, key):
    for i in range(3):
        assert dummy.put(f"{key}-rx-{i}", b"v") == 0
    assert dummy.remove_by_regex(f"^{key}-rx-", True) == 3
    assert dummy.remove_by_regex("(", True) == INVALID_PARAMS
    assert dummy.put(key, b"v") == 0
    assert dummy.remove_all(True) >= 1
    assert dummy.is_exist(key) == 0


def test_unsupported_in_dummy_mode(dummy, key):
    assert dummy.get_hostname() == ""
    assert dummy.allocate_and_mount_segment(16 << 20)["ret"] == -1
    assert dummy.batch_replica_clear([key]) == []


def test_two_dummies_share_the_store(service, key):
    a, b = make_dummy(service), make_dummy(service)
    try:
        assert a.put(key, b"from a") == 0
        assert b.get(key) == b"from a"
        a.close()
        assert b.get(key) == b"from a"
        assert b.put(key + "b", b"from b") == 0
    finally:
        b.close()


OTHER = r"""
import sys
from mooncake.store import MooncakeDistributedStore
s = MooncakeDistributedStore()
assert s.setup("127.0.0.1", "P2PHANDSHAKE", 16 << 20, 16 << 20, "tcp", "", sys.argv[1]) == 0
print(s.get(sys.argv[2]).hex())
print(s.put(sys.argv[2] + "-other", b"written by an ordinary client"))
s.close()
"""


def test_ordinary_process_reads_what_a_dummy_put(fresh_master, dummy, key):
    value = os.urandom(200000)
    assert dummy.put(key, value) == 0
    out = subprocess.run([PYTHON, "-c", OTHER, fresh_master.addr, key], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    got, rc = out.stdout.split()
    assert bytes.fromhex(got) == value
    assert rc == "0"
    # the other client closed: its own segment is gone, but the dummy's put lives in the service's
    assert dummy.get(key) == value


def test_service_killed_gives_clear_errors(service, key):
    d = make_dummy(service)
    assert d.put(key, b"v") == 0
    service.kill()
    assert d.put(key + "2", b"v") == RPC_FAIL
    assert d.get(key) == b""
    assert d.is_exist(key) == RPC_FAIL
    assert d.health_check() == 2
    assert d.close() == 0


def test_service_restart_reconnects(fresh_master, tmp_path, key):
    svc = Service(fresh_master.addr, tmp_path).start()
    d = make_dummy(svc)
    p = shm(d, 4096)
    assert d.register_buffer(p, 4096) == 0
    # stopped cleanly: its segment leaves the master at once (a killed one
    # would stay listed, and be chosen for placement, until client_ttl)
    assert svc.stop() == 0
    assert d.put(key, b"lost") == RPC_FAIL
    svc2 = Service(fresh_master.addr, tmp_path, port=svc.port).start()
    try:
        # the next call reconnects and shares the local buffer and p again
        assert d.put(key, b"after restart") == 0
        assert d.get(key) == b"after restart"
        ctypes.memmove(p, b"Z" * 4096, 4096)
        assert d.put_from(key + "zc", p, 4096) == 0
        assert d.get(key + "zc") == b"Z" * 4096
        assert d.health_check() == 0
    finally:
        d.close()
        assert svc2.stop() == 0  # SIGTERM: clean exit


DUMMY_PROC = r"""
import ctypes, sys, time
from mooncake.store import MooncakeDistributedStore
d = MooncakeDistributedStore()
assert d.setup_dummy(0, 8 << 20, sys.argv[1]) == 0
p = d.alloc_from_mem_pool(1 << 20)
assert d.register_buffer(p, 1 << 20) == 0
ctypes.memset(p, 0x41, 1 << 20)
assert d.put_from(sys.argv[2], p, 1 << 20) == 0
held = d.get_buffer(sys.argv[2])
assert held is not None
print("ready", flush=True)
time.sleep(600)
"""


def test_killed_dummy_releases_its_resources(service, key):
    baseline = service.memfd_mappings()
    proc = subprocess.Popen([PYTHON, "-c", DUMMY_PROC, service.addr, key], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        assert service.memfd_mappings() == baseline + 2  # its local buffer and its pool region
        proc.kill()
        proc.wait(timeout=10)
        for _ in range(200):  # the service notices the closed connection
            if service.memfd_mappings() == baseline:
                break
            time.sleep(0.05)
        assert service.memfd_mappings() == baseline
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # later operations: the service is healthy and what the dead dummy put is intact
    d = make_dummy(service)
    try:
        assert d.health_check() == 0
        assert d.get(key) == b"A" * (1 << 20)
        assert service.memfd_mappings() == baseline + 1
    finally:
        d.close()
    with open(service.log_path) as f:
        assert "its memory is released" in f.read()


def test_clean_shutdown_on_sigterm(fresh_master, tmp_path):
    svc = Service(fresh_master.addr, tmp_path).start()
    d = make_dummy(svc)
    assert svc.stop() == 0
    assert d.put("k-after-stop", b"v") == RPC_FAIL
    d.close()


def service_name(svc):
    """The service's store identity (segment name), from its log."""
    for _ in range(100):
        with open(svc.log_path) as f:
            for line in f:
                if "store client " in line and " mounted " in line:
                    return line.split("store client ")[1].split()[0]
        time.sleep(0.05)
    raise AssertionError("no 'store client ... mounted' line in the service log")


def test_copy_task_forwarded(fresh_master, tmp_path, key):
    a = Service(fresh_master.addr, tmp_path).start()
    b = Service(fresh_master.addr, tmp_path).start()
    d = make_dummy(a)
    try:
        cfg = ReplicateConfig()
        cfg.preferred_segment = service_name(a)
        assert d.put(key, b"copy me" * 100, cfg) == 0
        task, code = d.create_copy_task(key, [service_name(b)])
        assert code == 0 and task != (0, 0)
        query = getattr(d, "query_task", None) or d._query_task
        for _ in range(300):  # the owner (service a) runs the task
            info, qcode = query(task)
            assert qcode == 0
            if len(d.get_replica_desc(key)) == 2:
                break
            time.sleep(0.05)
        assert len(d.get_replica_desc(key)) == 2
        assert d.create_copy_task(key + "-none", [service_name(b)])[1] == OBJECT_NOT_FOUND
        assert query((12345, 678))[1] == -1400  # TASK_NOT_FOUND
    finally:
        d.close()
        b.kill()
        a.kill()


def test_batch_get_larger_than_the_local_buffer(service, key):
    """Results are staged in the local buffer: a batch whose total exceeds
    it still succeeds (staged in rounds), as a real client's would."""
    d = make_dummy(service, local_buffer=4 << 20)
    try:
        keys = [f"{key}-{i}" for i in range(12)]
        values = [os.urandom(1 << 20) for _ in keys]
        for k, v in zip(keys, values):
            assert d.put(k, v) == 0
        assert d.get_batch(keys) == values
        # handles hold their bytes against the local buffer (as a real client)
        assert [bytes(memoryview(h)) for h in d.batch_get_buffer(keys[:3])] == values[:3]
    finally:
        d.close()


def test_batch_with_group_ids(dummy, key):
    keys = [key + "-g1", key + "-g2"]
    cfg = ReplicateConfig()
    cfg.group_ids = ["ga", "gb"]
    assert dummy.put_batch(keys, [b"one", b"two"], cfg) == 0
    assert dummy.get_batch(keys) == [b"one", b"two"]
    cfg.group_ids = ["only-one"]
    assert dummy.put_batch([key + "-g3", key + "-g4"], [b"x", b"y"], cfg) == INVALID_PARAMS
    assert dummy.batch_is_exist([key + "-g3", key + "-g4"]) == [0, 0]


def test_stalled_dummy_is_dropped(fresh_master, tmp_path, key, monkeypatch):
    """A dummy that stops pinging (SIGSTOP) loses its session after the
    service's dummy TTL (MC_DUMMY_TTL_MS, upstream 10 s); once resumed, it
    reconnects and works again."""
    monkeypatch.setenv("MC_DUMMY_TTL_MS", "3000")
    svc = Service(fresh_master.addr, tmp_path).start()
    baseline = svc.memfd_mappings()
    proc = subprocess.Popen([PYTHON, "-c", STALL_PROC, svc.addr, key], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        assert svc.memfd_mappings() == baseline + 1
        # idle but alive: its pings (every second) keep the session past the TTL
        time.sleep(5)
        assert svc.memfd_mappings() == baseline + 1
        proc.send_signal(signal.SIGSTOP)
        for _ in range(300):
            if svc.memfd_mappings() == baseline:
                break
            time.sleep(0.05)
        assert svc.memfd_mappings() == baseline
        proc.send_signal(signal.SIGCONT)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "ok"
    finally:
        proc.kill()
        proc.wait()
        svc.kill()


STALL_PROC = r"""
import sys
from mooncake.store import MooncakeDistributedStore
d = MooncakeDistributedStore()
assert d.setup_dummy(0, 4 << 20, sys.argv[1]) == 0
assert d.put(sys.argv[2], b"before") == 0
print("ready", flush=True)
sys.stdin.readline()
# the dropped link is noticed before sending: the first call reconnects
rc = d.put(sys.argv[2] + "-2", b"after")
print("ok" if rc == 0 and d.get(sys.argv[2]) == b"before" else f"bad {rc}", flush=True)
"""
