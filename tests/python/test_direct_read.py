"""Same-host gets on the caller's thread (api/src/mc_store_api_direct.c):
one master round trip on the caller's own connection, then memcpy from
our own segment or a same-host owner's shared memory. The results must be
the loop's, byte for byte and code for code; _read_stats() tells which
path served each key."""
import os
import time

import numpy as np
import pytest

from conftest import INVALID_PARAMS, OBJECT_NOT_FOUND, StoreProcess, make_store, run_python


def stats(s):
    st = s._read_stats()
    return st["direct_keys"], st["loop_keys"]


def test_own_segment_gets_run_on_the_callers_thread(fresh_master, key):
    s = make_store(fresh_master.addr)
    try:
        payload = os.urandom(100_000)
        assert s.put(key, payload) == 0
        assert s.put(key + "-b", b"bee") == 0
        d0, l0 = stats(s)
        assert s.get(key) == payload
        assert s.get_batch([key, key + "-b", key + "-none"]) == [payload, b"bee", b""]
        assert s.get(key + "-none") == b""
        buf = np.zeros(200_000, dtype=np.uint8)
        assert s.register_buffer(buf.ctypes.data, buf.nbytes) == 0
        assert s.get_into(key, buf.ctypes.data, buf.nbytes) == len(payload)
        assert buf[:len(payload)].tobytes() == payload
        # too small: the loop's answer (INVALID_PARAMS), nothing written past the end
        buf[:] = 7
        assert s.get_into(key, buf.ctypes.data, 1000) == INVALID_PARAMS
        assert (buf == 7).all()
        assert s.batch_get_into([key + "-b", key + "-none"], [buf.ctypes.data, buf.ctypes.data + 100],
                                [100, 100]) == [3, OBJECT_NOT_FOUND]
        assert buf[:3].tobytes() == b"bee"
        s.unregister_buffer(buf.ctypes.data)
        d1, l1 = stats(s)
        assert (d1 - d0, l1 - l0) == (9, 0)
    finally:
        s.close()


def test_cross_process_gets_after_first_contact(fresh_master, key):
    owner = StoreProcess(fresh_master.addr, segment=64 << 20, local_buffer=16 << 20, what="owner process")
    client = make_store(fresh_master.addr, segment=0)
    try:
        values = {f"{key}-{i}": os.urandom(4096 + 977 * i) for i in range(16)}
        for k, v in values.items():
            assert owner.ask(f"put {k} {v.hex()}") == "0"
        keys = list(values)
        # the first read maps the owner's memory (the transport's worker: the loop's path)
        assert client.get(keys[0]) == values[keys[0]]
        d0, l0 = stats(client)
        assert client.get_batch(keys) == [values[k] for k in keys]
        for k in keys:
            assert client.get(k) == values[k]
        b = client.get_buffer(keys[3])
        assert bytes(memoryview(b)) == values[keys[3]]
        del b
        d1, l1 = stats(client)
        assert (d1 - d0, l1 - l0) == (33, 0)
    finally:
        client.close()
        owner.kill()


def test_allocated_segment_is_shared_memory(fresh_master, key):
    """allocate_and_mount_segment memory is shared like the global segment:
    a same-host reader copies from it on its own thread."""
    owner = StoreProcess(fresh_master.addr, segment=0, local_buffer=16 << 20, what="owner process")
    client = make_store(fresh_master.addr, segment=0)
    try:
        assert owner.ask(f"mount {16 << 20}") == "0"
        values = {f"{key}-{i}": os.urandom(5000 + i) for i in range(4)}
        for k, v in values.items():
            assert owner.ask(f"put {k} {v.hex()}") == "0"
        keys = list(values)
        assert client.get(keys[0]) == values[keys[0]]   # first contact maps the owner's memory
        d0, l0 = stats(client)
        assert client.get_batch(keys) == [values[k] for k in keys]
        d1, l1 = stats(client)
        assert (d1 - d0, l1 - l0) == (4, 0)
    finally:
        client.close()
        owner.kill()


def test_owner_restart_reads_new_bytes(fresh_master, key):
    """An owner dies with our mapping of its memory still in place: its
    objects must not be served from that mapping once the master dropped
    them, and a new owner's bytes are read afresh."""
    owner = StoreProcess(fresh_master.addr, segment=64 << 20, local_buffer=16 << 20, what="owner process")
    client = make_store(fresh_master.addr, segment=0)
    try:
        assert owner.ask(f"put {key} {b'old'.hex()}") == "0"
        assert client.get(key) == b"old"
        assert client.get(key) == b"old"
        owner.kill()
        owner = StoreProcess(fresh_master.addr, segment=64 << 20, local_buffer=16 << 20, what="owner process")
        deadline = time.time() + 15                     # client_ttl is 3 s in these tests
        while time.time() < deadline and client.is_exist(key) == 1:
            time.sleep(0.2)
        assert client.is_exist(key) == 0
        assert client.get(key) == b""
        assert owner.ask(f"put {key} {b'new'.hex()}") == "0"
        assert client.get(key) == b"new"
        assert client.get(key) == b"new"
    finally:
        client.close()
        owner.kill()


def test_direct_reads_can_be_turned_off(fresh_master):
    code = f"""
from mooncake.store import MooncakeDistributedStore
s = MooncakeDistributedStore()
assert s.setup("127.0.0.1", "P2PHANDSHAKE", 16 << 20, 16 << 20, "tcp", "", {fresh_master.addr!r}) == 0
assert s.put("k-off", b"off") == 0
assert s.get("k-off") == b"off"
assert s.get_batch(["k-off", "k-none"]) == [b"off", b""]
print(s._read_stats())
s.close()
"""
    r = run_python(code, env_extra={"MC_STORE_DIRECT_READ": "0"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "{'direct_keys': 0, 'loop_keys': 0}"
