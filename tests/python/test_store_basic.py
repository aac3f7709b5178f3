"""MooncakeDistributedStore: every copying method, its results and codes
(spec store.md §8.3, upstream return conventions)."""
import re
import time

import numpy as np
import pytest

from conftest import INVALID_PARAMS, OBJECT_NOT_FOUND, lease_wait, make_store
from mooncake.store import (BufferHandle, MooncakeDistributedStore, ReplicaStatus, ReplicateConfig,
                            SoftPinAction, TaskStatus, error_name)


def test_module_surface():
    import mooncake.store as ms
    for name in ("MooncakeDistributedStore", "ReplicateConfig", "BufferHandle", "MooncakeHostMemAllocator",
                 "ReplicaStatus", "TaskStatus", "bind_to_numa_node"):
        assert hasattr(ms, name), name
    assert [int(v) for v in ReplicaStatus] == [0, 1, 2, 3, 4, 5]
    assert ReplicaStatus.COMPLETE == 3 and ms.COMPLETE == 3
    assert (TaskStatus.PENDING, TaskStatus.PROCESSING, TaskStatus.FAILED, TaskStatus.SUCCESS) == (0, 1, 2, 3)
    assert error_name(-704) == "OBJECT_NOT_FOUND" and error_name(-99999) == "UNKNOWN_ERROR"


def test_hostname_and_health(store):
    host, port = store.get_hostname().rsplit(":", 1)
    assert host == "127.0.0.1" and 12300 <= int(port) <= 14300
    assert store.health_check() == 0


def test_put_get_roundtrip(store, key):
    assert store.put(key, b"Hello, Mooncake Store!") == 0
    assert store.get(key) == b"Hello, Mooncake Store!"
    assert store.get_size(key) == len(b"Hello, Mooncake Store!")
    assert store.is_exist(key) == 1


def test_put_accepts_any_buffer(store, key):
    arr = np.arange(1000, dtype=np.float32)
    assert store.put(key + "np", arr) == 0
    assert np.array_equal(np.frombuffer(store.get(key + "np"), dtype=np.float32), arr)
    assert store.put(key + "ba", bytearray(b"abc")) == 0
    assert store.put(key + "mv", memoryview(b"xyz")) == 0
    assert store.get(key + "ba") == b"abc" and store.get(key + "mv") == b"xyz"


def test_put_is_first_writer_wins(store, key):
    assert store.put(key, b"first") == 0
    assert store.put(key, b"second value") == 0
    assert store.get(key) == b"first"


def test_get_missing_is_empty_bytes(store, key):
    assert store.get(key) == b""
    assert store.get_size(key) == OBJECT_NOT_FOUND
    assert store.is_exist(key) == 0


def test_put_empty_value_is_invalid(store, key):
    assert store.put(key, b"") == INVALID_PARAMS
    assert store.is_exist(key) == 0


def test_large_value(store, key):
    data = np.random.default_rng(1).integers(0, 256, 8 << 20, dtype=np.uint8).tobytes()
    assert store.put(key, data) == 0
    assert store.get(key) == data


def test_upsert_family(store, key):
    assert store.upsert(key, b"one") == 0           # insert
    assert store.get(key) == b"one"
    assert store.upsert(key, b"two") == 0           # same size: in place
    assert store.get(key) == b"two"
    assert store.upsert(key, b"three!") == 0        # other size: reallocated
    assert store.get(key) == b"three!"
    assert store.upsert_parts(key + "p", b"ab", b"cd") == 0
    assert store.get(key + "p") == b"abcd"
    assert store.upsert_parts(key + "p", b"x", memoryview(b"yz")) == 0
    assert store.get(key + "p") == b"xyz"
    keys = [key + "b1", key + "b2"]
    assert store.upsert_batch(keys, [b"1", b"2"]) == 0
    assert store.upsert_batch(keys, [b"11", b"22"]) == 0
    assert store.get_batch(keys) == [b"11", b"22"]
    assert store.upsert_batch(keys, [b"1"]) == INVALID_PARAMS


def test_put_parts(store, key):
    assert store.put_parts(key, b"Hello, ", b"World!", b" From Mooncake") == 0
    assert store.get(key) == b"Hello, World! From Mooncake"
    assert store.put_parts(key + "empty") == 0          # nothing to store
    assert store.put_parts(key + "empty2", b"", b"") == 0
    assert store.is_exist(key + "empty") == 0
    with pytest.raises(RuntimeError):
        store.put_parts(key + "2d", np.zeros((2, 2), dtype=np.uint8))
    with pytest.raises(RuntimeError):
        store.put_parts(key + "f32", np.zeros(4, dtype=np.float32))
    with pytest.raises(TypeError):
        store.put_parts(key + "x", "not bytes")


def test_put_batch_get_batch(store, key):
    keys = [f"{key}-{i}" for i in range(10)]
    values = [bytes([i]) * (i + 1) for i in range(10)]
    assert store.put_batch(keys, values) == 0
    assert store.get_batch(keys) == values
    assert store.get_batch(keys + [key + "missing"]) == values + [b""]
    assert store.batch_is_exist(keys[:2] + [key + "missing"]) == [1, 1, 0]


def test_batch_quirks(store, key):
    assert store.get_batch([]) == [b""]              # upstream quirk (spec §10.10)
    assert store.batch_is_exist([]) == []
    assert store.batch_remove([]) == []
    assert store.batch_get_buffer([]) == []
    assert store.put_batch([], []) == 0
    assert store.put_batch([key], []) == INVALID_PARAMS
    assert store.put_batch([key, key + "2"], [b"a"]) == INVALID_PARAMS
    assert store.is_exist(key) == 0


def test_put_batch_reports_first_error(store, key):
    assert store.put_batch([key, "", key + "3"], [b"a", b"b", b"c"]) == INVALID_PARAMS
    assert store.get(key) == b"a" and store.get(key + "3") == b"c"  # the others were stored


def test_remove_family(store, key):
    assert store.put(key, b"v") == 0
    assert store.remove(key) == 0                     # fresh writes are unleased
    assert store.remove(key) == OBJECT_NOT_FOUND
    assert store.put(key, b"v") == 0
    assert store.get(key) == b"v"                     # takes a lease
    assert store.remove(key) == -706                  # OBJECT_HAS_LEASE
    assert store.remove(key, force=True) == 0
    keys = [f"{key}-r{i}" for i in range(3)]
    assert store.put_batch(keys, [b"1", b"2", b"3"]) == 0
    assert store.batch_remove(keys[:2] + [key + "none"]) == [0, 0, OBJECT_NOT_FOUND]
    assert store.get(keys[2]) == b"3"
    assert store.batch_remove([keys[2]]) == [-706]
    assert store.batch_remove([keys[2]], force=True) == [0]


def test_remove_by_regex(store, key):
    prefix = re.escape(key)
    keys = [f"{key}_session_{i}" for i in range(5)] + [f"{key}_other"]
    assert store.put_batch(keys, [b"x"] * len(keys)) == 0
    assert store.remove_by_regex(f"^{prefix}_session_.*") == 5
    assert store.batch_is_exist(keys) == [0] * 5 + [1]
    assert store.remove_by_regex("_oth", force=True) >= 1     # search (substring) semantics
    assert store.remove_by_regex("((") == INVALID_PARAMS
    assert store.remove_by_regex(regex_pattern="^nothing-matches-this$") == 0


def test_remove_all(master):
    s = make_store(master.addr)
    try:
        s.put("remove-all-a", b"1")
        assert s.remove_all(force=True) >= 1
        assert s.is_exist("remove-all-a") == 0
        assert s.remove_all() == 0
    finally:
        s.close()


def test_leases_expire(store, key):
    assert store.put(key, b"v") == 0
    assert store.is_exist(key) == 1
    lease_wait()
    assert store.remove(key) == 0


def test_get_buffer(store, key):
    payload = b"0123456789" * 100
    assert store.put(key, payload) == 0
    buf = store.get_buffer(key)
    assert isinstance(buf, BufferHandle)
    assert buf.size() == len(buf) == buf.len() == len(payload)
    assert buf.ptr() != 0
    assert bytes(memoryview(buf)) == payload
    arr = np.array(buf, copy=False)
    assert arr.dtype == np.uint8 and arr.tobytes() == payload
    memoryview(buf)[0] = ord("X")                     # writable
    assert bytes(buf)[:1] == b"X"
    assert store.get_buffer(key + "missing") is None
    del arr, buf


def test_batch_get_buffer(store, key):
    assert store.put_batch([key + "1", key + "2"], [b"aa", b"bbb"]) == 0
    bufs = store.batch_get_buffer([key + "1", key + "missing", key + "2"])
    assert [bytes(b) if b is not None else None for b in bufs] == [b"aa", None, b"bbb"]


def test_buffer_outlives_store(master, key):
    s = make_store(master.addr)
    s.put(key, b"survivor")
    buf = s.get_buffer(key)
    s.close()
    assert bytes(buf) == b"survivor"


def test_local_buffer_bounds_copying_calls(master, key):
    s = make_store(master.addr, local_buffer=1 << 20)
    try:
        assert s.put(key, b"x" * (2 << 20)) == INVALID_PARAMS
        assert s.is_exist(key) == 0
        held = s.get_buffer(key) if s.put(key, b"y" * (700 << 10)) == 0 else None
        assert held is not None
        assert s.get_buffer(key) is None                 # 700 KiB already held of 1 MiB
        del held
        assert s.get_buffer(key) is not None
    finally:
        s.close()


def test_zero_local_buffer_put_fails(master, key):
    s = make_store(master.addr, local_buffer=0)
    try:
        assert s.put(key, b"abc") == INVALID_PARAMS
        assert s.is_exist(key) == 0
    finally:
        s.close()


def test_close_removes_own_data_and_setup_again(master, key):
    s = make_store(master.addr)
    other = make_store(master.addr, segment=0)           # reads through the master only
    try:
        cfg = ReplicateConfig()
        cfg.preferred_segment = s.get_hostname()
        assert s.put(key, b"mine", cfg) == 0
        assert other.is_exist(key) == 1
        assert s.close() == 0
        assert s.close() == 0                            # idempotent
        assert s.health_check() == 1
        assert other.is_exist(key) == 0                  # unmounted with its owner
        assert s.setup("127.0.0.1", "P2PHANDSHAKE", 32 << 20, 16 << 20, "tcp", "", master.addr) == 0
        assert s.put(key, b"again") == 0 and s.get(key) == b"again"
    finally:
        s.close()
        other.close()


def test_setup_twice_is_invalid(store, master):
    assert store.setup("127.0.0.1", "P2PHANDSHAKE", 16 << 20, 16 << 20, "tcp", "", master.addr) == INVALID_PARAMS
    assert store.health_check() == 0


def test_setup_dict_form(master, key):
    s = MooncakeDistributedStore()
    try:
        assert s.setup({"local_hostname": "127.0.0.1", "metadata_server": "P2PHANDSHAKE",
                        "global_segment_size": "16MB", "local_buffer_size": "16 MB",
                        "master_server_addr": master.addr}) == 0
        assert s.put(key, b"dict") == 0 and s.get(key) == b"dict"
    finally:
        s.close()
    bad = MooncakeDistributedStore()
    assert bad.setup({"local_hostname": "127.0.0.1", "metadata_server": "P2PHANDSHAKE",
                      "global_segment_size": "50%", "master_server_addr": master.addr}) == INVALID_PARAMS
    assert bad.setup({"metadata_server": "P2PHANDSHAKE"}) == INVALID_PARAMS


def test_setup_explicit_port_and_keywords(master, key):
    s = MooncakeDistributedStore()
    import socket
    with socket.socket() as tmp:
        tmp.bind(("127.0.0.1", 0))
        port = tmp.getsockname()[1]
    try:
        assert s.setup(local_hostname=f"127.0.0.1:{port}", metadata_server="P2PHANDSHAKE",
                       global_segment_size=16 << 20, local_buffer_size=16 << 20, protocol="tcp",
                       rdma_devices="", master_server_addr=master.addr) == 0
        assert s.get_hostname() == f"127.0.0.1:{port}"
    finally:
        s.close()


def test_setup_rejects_unavailable_protocol(master):
    s = MooncakeDistributedStore()
    assert s.setup("127.0.0.1", "P2PHANDSHAKE", 16 << 20, 16 << 20, "rdma", "mlx5_0", master.addr) == INVALID_PARAMS
    assert s.setup("", "P2PHANDSHAKE", 16 << 20, 16 << 20, "tcp", "", master.addr) == INVALID_PARAMS
    assert s.health_check() == 1


def test_init_all_when_set_up(store):
    assert store.init_all("tcp", "") == INVALID_PARAMS


def test_alloc_from_mem_pool_real_client(store):
    assert store.alloc_from_mem_pool(4096) == 0


def test_concurrent_threads(store, key):
    import threading
    errors = []

    def worker(t):
        for i in range(50):
            k = f"{key}-t{t}-{i}"
            if store.put(k, k.encode()) != 0 or store.get(k) != k.encode():
                errors.append(k)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []


def test_gil_released_during_calls(monkeypatch):
    """A blocking call (here: setup waiting 1.5 s for a master that is not
    there) must let other Python threads run."""
    import threading
    from conftest import free_port
    monkeypatch.setenv("MC_RPC_CONNECT_TIMEOUT_MS", "1500")
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    th = threading.Thread(target=ticker)
    th.start()
    s = MooncakeDistributedStore()
    t0 = time.monotonic()
    rc = s.setup("127.0.0.1", "P2PHANDSHAKE", 16 << 20, 16 << 20, "tcp", "", f"127.0.0.1:{free_port()}")
    t1 = time.monotonic()
    stop.set()
    th.join()
    assert rc == -900 and t1 - t0 >= 1.4
    during = [t for t in ticks if t0 < t < t1]
    assert len(during) > 20                     # ~150 if the GIL is free; ~0 if it were held


def test_host_mem_allocator(store, key):
    import ctypes
    from mooncake.store import MooncakeHostMemAllocator
    allocator = MooncakeHostMemAllocator()
    ptr = allocator.alloc(1024 * 1024)
    assert ptr != 0
    view = (ctypes.c_ubyte * 16).from_address(ptr)
    view[:] = list(range(16))
    assert store.register_buffer(ptr, 1024 * 1024) == 0
    assert store.put_from(key, ptr, 16) == 0
    assert store.get(key) == bytes(range(16))
    assert store.unregister_buffer(ptr) == 0
    assert allocator.free(ptr) == 0
    assert allocator.free(ptr) == INVALID_PARAMS
    assert allocator.alloc(0) == 0
    with pytest.raises(TypeError):
        allocator.alloc("1MB")


def test_bind_to_numa_node():
    import os
    from mooncake.store import bind_to_numa_node
    before = os.sched_getaffinity(0)
    try:
        bind_to_numa_node(0)
        assert os.sched_getaffinity(0)
        bind_to_numa_node(999)                   # no such node: no change, no error
        with pytest.raises(TypeError):
            bind_to_numa_node("0")
    finally:
        os.sched_setaffinity(0, before)


def test_setup_explicit_port_in_use(master):
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        s = MooncakeDistributedStore()
        assert s.setup(f"127.0.0.1:{port}", "P2PHANDSHAKE", 16 << 20, 16 << 20, "tcp", "", master.addr) == INVALID_PARAMS
        assert s.health_check() == 1


def test_get_replica_desc(store, key):
    from mooncake.store import ReplicaDescriptor
    assert store.put(key, b"replica!") == 0
    descs = store.get_replica_desc(key)
    assert len(descs) == 1 and isinstance(descs[0], ReplicaDescriptor)
    d = descs[0]
    assert d.status == ReplicaStatus.COMPLETE
    assert d.is_memory_replica() and not d.is_disk_replica() and not d.is_local_disk_replica()
    bd = d.get_memory_descriptor().buffer_descriptor
    assert bd.size == 8 and bd.buffer_address != 0 and bd.transport_endpoint == store.get_hostname()
    assert repr(bd).startswith("<Descriptor size=8 buffer_address=")
    with pytest.raises(RuntimeError):
        d.get_disk_descriptor()
    assert store.get_replica_desc(key + "missing") == []
    got = store.batch_get_replica_desc([key, key + "missing"])
    assert list(got) == [key] and got[key][0].get_memory_descriptor().buffer_descriptor.size == 8
    assert store.batch_get_replica_desc([]) == {}
    assert MooncakeDistributedStore().get_replica_desc(key) == []


def test_segment_and_task_calls_reject_bad_input(store, key):
    # real implementations now (tests/python/test_tasks_segments.py); bad input gets codes
    assert store.mount_segment("/nonexistent/x", 16 << 20) == {"ret": INVALID_PARAMS, "segment_ids": []}
    assert store.allocate_and_mount_segment(0)["ret"] == INVALID_PARAMS
    assert store.unmount_segment(["1-2"]) == -1
    assert store.unmount_and_free_segment(["1-2"], grace_period_seconds=1) == -1
    assert store.create_copy_task(key, ["127.0.0.1:1"]) == ((0, 0), -704)
    assert store.create_move_task(key, "a:1", "b:2") == ((0, 0), -704)
    assert store.query_task((1, 2)) == (None, -1400)
    assert store.batch_replica_clear([key]) == []
    with pytest.raises(TypeError):
        store.create_copy_task(key, "not-a-list")


def test_setup_upstream_extra_arguments(master, key):
    s = MooncakeDistributedStore()
    try:
        assert s.setup("127.0.0.1", "P2PHANDSHAKE", 16 << 20, 16 << 20, "tcp", "", master.addr, None,
                       enable_ssd_offload=True) == INVALID_PARAMS          # no SSD offload in this build
        assert s.setup("127.0.0.1", "P2PHANDSHAKE", 16 << 20, 16 << 20, "tcp", "", master.addr, engine=None,
                       enable_ssd_offload=False, ssd_offload_path="", tenant_id="default",
                       enable_client_http_server=False, client_http_port=9300) == 0
        assert s.put(key, b"v") == 0
    finally:
        s.close()
    with pytest.raises(TypeError):
        MooncakeDistributedStore().setup("127.0.0.1", "P2PHANDSHAKE", engine=object())


def test_setup_auto_port_exhausted(master, monkeypatch):
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        monkeypatch.setenv("MC_STORE_CLIENT_MIN_PORT", str(port))
        monkeypatch.setenv("MC_STORE_CLIENT_MAX_PORT", str(port))
        s = MooncakeDistributedStore()
        assert s.setup("127.0.0.1", "P2PHANDSHAKE", 16 << 20, 16 << 20, "tcp", "", master.addr) == -1
