"""close() and registered buffers (api/src/mc_store_api_lifecycle.c,
mc_store_api_buffers.c, core/storesvc/mc_store_client_unmount.c,
mc_store_client_buffers.c), two stores against a real master:

* close() unmounts every segment the client mounted (the global one and
  the extra ones from allocate_and_mount_segment / mount_segment) at once,
  not when the client TTL expires, releases their memory and unregisters
  registered buffers; the instance then answers like one never set up.
* register_buffer registers with the transport once; the zero-copy calls
  use registered memory as it is and refuse unregistered memory (-600,
  as upstream); unregister_buffer really drops the registration."""
import os
import signal
import threading

import numpy as np
import pytest

from conftest import TRANSFER_FAIL, StoreProcess, make_store
from mooncake.store import ReplicateConfig

INVALID_PARAMS = -600


def payload(n, salt=0):
    return (np.arange(n, dtype=np.uint32) * 2654435761 + salt).astype(np.uint8).tobytes()


def on(hostname):
    cfg = ReplicateConfig()
    cfg.preferred_segment = hostname
    return cfg


def endpoints(store, key):
    return sorted(d.get_memory_descriptor().buffer_descriptor.transport_endpoint
                  for d in store.get_replica_desc(key))


def mapped(path):
    with open("/proc/self/maps") as f:
        return path in f.read()


@pytest.fixture
def pair(fresh_master):
    """(a: 4 MiB global segment, the one that closes; b: 64 MiB, observer)."""
    a = make_store(fresh_master.addr, segment=4 << 20)
    b = make_store(fresh_master.addr)
    yield a, b
    a.close()
    b.close()


def test_close_unmounts_every_segment(pair, key, tmp_path):
    a, b = pair
    path = f"/dev/shm/mc_lifecycle_{os.getpid()}_{key}" if os.path.isdir("/dev/shm") else str(tmp_path / "seg")
    with open(path, "wb") as f:
        f.truncate(6 << 20)
    try:
        alloc = a.allocate_and_mount_segment(6 << 20)
        assert alloc["ret"] == 0
        filed = a.mount_segment(path, 6 << 20)
        assert filed["ret"] == 0
        assert mapped(path)
        # 5 MiB values do not fit a's 4 MiB global segment: one lands in
        # each extra segment; a small one may land anywhere of a's
        big = {f"{key}-big{i}": payload(5 << 20, salt=i) for i in range(2)}
        small = {f"{key}-small": payload(64 << 10, salt=7)}
        elsewhere = {f"{key}-on-b": payload(256 << 10, salt=9)}
        for k, v in {**big, **small}.items():
            assert b.put(k, v, on(a.get_hostname())) == 0
            assert endpoints(b, k) == [a.get_hostname()], k
        for k, v in elsewhere.items():
            assert b.put(k, v, on(b.get_hostname())) == 0
            assert endpoints(b, k) == [b.get_hostname()]
        for k, v in {**big, **small, **elsewhere}.items():
            assert b.get(k) == v
        assert a.close() == 0
        # at once (the client TTL is 3 s): every object on any of a's
        # segments is gone, the others stay intact
        for k in {**big, **small}:
            assert b.is_exist(k) == 0, k
            assert b.get(k) == b""
            assert b.get_replica_desc(k) == []
        for k, v in elsewhere.items():
            assert b.is_exist(k) == 1
            assert b.get(k) == v
        assert not mapped(path)  # the file mapping was released
        # nothing of a's is left to place new objects on
        k = f"{key}-after"
        assert b.put(k, payload(3 << 20), on(a.get_hostname())) == 0
        assert endpoints(b, k) == [b.get_hostname()]
    finally:
        if os.path.exists(path):
            os.unlink(path)


def test_calls_after_close_are_errors(pair, fresh_master, key):
    a, b = pair
    buf = np.zeros(4096, dtype=np.uint8)
    ptr = buf.ctypes.data
    assert a.register_buffer(ptr, buf.nbytes) == 0
    assert a.put(key, b"v") == 0
    assert a.close() == 0
    assert a.close() == 0  # idempotent
    assert a.put(key, b"v") == INVALID_PARAMS
    assert a.get(key) == b""
    assert a.is_exist(key) == INVALID_PARAMS
    assert a.get_size(key) == INVALID_PARAMS
    assert a.remove(key) == INVALID_PARAMS
    assert a.put_from(key, ptr, 16) == INVALID_PARAMS
    assert a.get_into(key, ptr, 16) == INVALID_PARAMS
    assert a.batch_get_into([key], [ptr], [16]) == [INVALID_PARAMS]
    assert a.register_buffer(ptr, buf.nbytes) == INVALID_PARAMS
    assert a.unregister_buffer(ptr) == INVALID_PARAMS
    assert a.health_check() == 1
    assert a.get_hostname() == ""
    # setup works again on the same instance, and the buffer registered
    # before close is not registered any more
    assert a.setup("127.0.0.1", "P2PHANDSHAKE", 4 << 20, 16 << 20, "tcp", "", fresh_master.addr) == 0
    assert a.get_into(key, ptr, 16) == INVALID_PARAMS
    assert a.register_buffer(ptr, buf.nbytes) == 0
    assert a.upsert(key, b"again") == 0
    assert b.get(key) == b"again"
    assert a.get_into(key, ptr, 16) == 5
    assert buf[:5].tobytes() == b"again"


def test_registered_buffers_used_in_place(pair, key):
    a, b = pair
    n = 1 << 20
    src = np.frombuffer(payload(n, salt=3), dtype=np.uint8).copy()
    dst = np.zeros(2 * n, dtype=np.uint8)
    assert b.register_buffer(src.ctypes.data, n) == 0
    assert b.register_buffer(dst.ctypes.data, dst.nbytes) == 0
    # value on a's segment: bytes cross the transport into b's registered memory
    cfg = on(a.get_hostname())
    for i in range(3):
        k = f"{key}-{i}"
        assert b.put_from(k, src.ctypes.data, n, cfg) == 0
        assert endpoints(b, k) == [a.get_hostname()]
        # the value was written before put_from returned: changing the
        # buffer afterwards does not change it
        src[:16] = i
        off = (i * 4096) % n
        assert b.get_into(k, dst.ctypes.data + off, n) == n  # inside the registration, at an offset
        want = payload(n, salt=3)
        want = bytes([i - 1] * 16) + want[16:] if i else want
        assert dst[off:off + n].tobytes() == want
    # batch forms, several values into one registration
    keys = [f"{key}-b{i}" for i in range(4)]
    vals = [payload(64 << 10, salt=20 + i) for i in range(4)]
    for i, v in enumerate(vals):
        src[i * (64 << 10):(i + 1) * (64 << 10)] = np.frombuffer(v, dtype=np.uint8)
    ptrs = [src.ctypes.data + i * (64 << 10) for i in range(4)]
    assert b.batch_put_from(keys, ptrs, [64 << 10] * 4, cfg) == [0, 0, 0, 0]
    outs = [dst.ctypes.data + i * (64 << 10) for i in range(4)]
    assert b.batch_get_into(keys, outs, [64 << 10] * 4) == [64 << 10] * 4
    for i, v in enumerate(vals):
        assert dst[i * (64 << 10):(i + 1) * (64 << 10)].tobytes() == v
    assert a.get(keys[2]) == vals[2]
    assert b.unregister_buffer(src.ctypes.data) == 0
    assert b.unregister_buffer(dst.ctypes.data) == 0


def test_unregistered_buffers_refused(pair, key):
    a, b = pair
    n = 64 << 10
    assert b.put(key, payload(n), on(a.get_hostname())) == 0
    buf = np.zeros(2 * n, dtype=np.uint8)
    ptr = buf.ctypes.data
    # never registered: -600 and nothing written, as upstream
    assert b.get_into(key, ptr, n) == INVALID_PARAMS
    assert b.put_from(key + "x", ptr, n) == INVALID_PARAMS
    assert b.batch_get_into([key], [ptr], [n]) == [INVALID_PARAMS]
    assert b.batch_put_from([key + "y"], [ptr], [n]) == [INVALID_PARAMS]
    assert not buf.any()
    assert b.is_exist(key + "x") == 0 and b.is_exist(key + "y") == 0
    assert b.register_buffer(ptr, n) == 0
    # partly outside the registration
    assert b.get_into(key, ptr + n // 2, n) == INVALID_PARAMS
    # overlapping or duplicate registrations are refused
    assert b.register_buffer(ptr + 4096, n) == INVALID_PARAMS
    assert b.register_buffer(ptr, n) == INVALID_PARAMS
    assert b.get_into(key, ptr, n) == n
    assert buf[:n].tobytes() == payload(n)
    # unregistered again: refused again, and the memory can be registered
    # anew (the transport registration was dropped, not just the table entry)
    assert b.unregister_buffer(ptr) == 0
    assert b.unregister_buffer(ptr) == INVALID_PARAMS
    buf[:] = 0
    assert b.get_into(key, ptr, n) == INVALID_PARAMS
    assert not buf.any()
    assert b.register_buffer(ptr, 2 * n) == 0
    assert b.get_into(key, ptr + n, n) == n
    assert buf[n:].tobytes() == payload(n)
    assert b.unregister_buffer(ptr) == 0


def test_register_inside_own_segment_refused(pair, key):
    a, b = pair
    # memory the transport already has (b's global segment, whose address
    # a replica descriptor reveals) cannot be registered again, as upstream
    assert b.put(key, payload(4096), on(b.get_hostname())) == 0
    addr = b.get_replica_desc(key)[0].get_memory_descriptor().buffer_descriptor.buffer_address
    assert b.register_buffer(addr, 4096) == INVALID_PARAMS
    assert b.get(key) == payload(4096)


def test_put_from_answers_after_its_last_transfer(fresh_master, key):
    """put_from does not copy a registered buffer: when the transfer is
    overdue (the segment owner is stopped, so the transfer guard fires
    after 10 s and the put is revoked) the call still returns only once the
    transport no longer reads the buffer (here: after the owner resumes),
    so the caller may reuse or free it when the call returns."""
    owner = StoreProcess(fresh_master.addr, segment=64 << 20)
    b = make_store(fresh_master.addr)
    n = 32 << 20  # far more than the socket buffers hold while the owner is stopped
    src = np.frombuffer(payload(n, salt=5), dtype=np.uint8).copy()
    try:
        assert b.register_buffer(src.ctypes.data, n) == 0
        os.kill(owner.p.pid, signal.SIGSTOP)
        resumed = threading.Event()

        def resume_later():
            # well after the 10 s transfer guard has fired and the put was revoked
            threading.Event().wait(13)
            resumed.set()
            os.kill(owner.p.pid, signal.SIGCONT)

        t = threading.Thread(target=resume_later)
        t.start()
        rc = b.put_from(key, src.ctypes.data, n, on(owner.hostname))
        returned_after_resume = resumed.is_set()
        t.join()
        assert rc == TRANSFER_FAIL
        assert returned_after_resume, "put_from returned while its transfer could still read the buffer"
        assert b.is_exist(key) == 0
        # the buffer is the caller's again, and works for the next put
        assert b.put_from(key, src.ctypes.data, 1 << 20, on(b.get_hostname())) == 0
        assert b.get(key) == payload(n, salt=5)[:1 << 20]
    finally:
        os.kill(owner.p.pid, signal.SIGCONT)
        b.close()
        owner.close()
