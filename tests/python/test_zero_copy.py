"""Zero-copy API: register_buffer, put_from/get_into and their batch,
multi-buffer and ranged forms (spec store.md §6.5, §6.6, §6.8, §8.3)."""
import ctypes

import numpy as np
import pytest

from conftest import INVALID_PARAMS, OBJECT_NOT_FOUND, make_store
from mooncake.store import ReplicateConfig


@pytest.fixture
def bufs(store):
    """Two registered 1 MiB buffers: src (random bytes) and dst (zeros)."""
    src = np.random.default_rng(7).integers(0, 256, 1 << 20, dtype=np.uint8)
    dst = np.zeros(1 << 20, dtype=np.uint8)
    assert store.register_buffer(src.ctypes.data, src.nbytes) == 0
    assert store.register_buffer(dst.ctypes.data, dst.nbytes) == 0
    yield src, dst
    assert store.unregister_buffer(src.ctypes.data) == 0
    assert store.unregister_buffer(dst.ctypes.data) == 0


def test_register_unregister(store):
    a = np.zeros(4096, dtype=np.uint8)
    p = a.ctypes.data
    assert store.register_buffer(p, 4096) == 0
    assert store.register_buffer(p, 4096) == INVALID_PARAMS          # duplicate
    assert store.register_buffer(p + 100, 10) == INVALID_PARAMS      # overlapping
    assert store.unregister_buffer(p + 1) == INVALID_PARAMS          # not a region start
    assert store.unregister_buffer(p) == 0
    assert store.unregister_buffer(p) == INVALID_PARAMS              # unknown
    assert store.register_buffer(0, 10) == INVALID_PARAMS
    assert store.register_buffer(p, 0) == INVALID_PARAMS


def test_put_from_get_into(store, key, bufs):
    src, dst = bufs
    assert store.put_from(key, src.ctypes.data, src.nbytes) == 0
    assert store.get_into(key, dst.ctypes.data, dst.nbytes) == src.nbytes
    assert np.array_equal(src, dst)
    assert store.get_into(key, dst.ctypes.data, src.nbytes - 1) == INVALID_PARAMS   # too small
    assert store.get_into(key + "missing", dst.ctypes.data, dst.nbytes) == OBJECT_NOT_FOUND
    # a sub-range of a registered buffer is fine
    assert store.put_from(key + "sub", src.ctypes.data + 100, 50) == 0
    assert store.get_into(key + "sub", dst.ctypes.data + 10, 50) == 50
    assert np.array_equal(dst[10:60], src[100:150])


def test_put_from_size_zero_stores_nothing(store, key, bufs):
    src, _ = bufs
    assert store.put_from(key, src.ctypes.data, 0) == 0
    assert store.is_exist(key) == 0


def test_unregistered_buffers_are_rejected(store, key, bufs):
    src, dst = bufs
    other = np.ones(128, dtype=np.uint8)
    assert store.put_from(key, other.ctypes.data, 128) == INVALID_PARAMS
    assert store.is_exist(key) == 0
    assert store.put_from(key, src.ctypes.data + src.nbytes - 10, 20) == INVALID_PARAMS   # runs past the end
    assert store.put(key, b"abc") == 0
    assert store.get_into(key, other.ctypes.data, 128) == INVALID_PARAMS
    assert store.upsert_from(key, other.ctypes.data, 128) == INVALID_PARAMS
    assert store.batch_put_from([key + "b"], [other.ctypes.data], [128]) == [INVALID_PARAMS]
    assert store.batch_get_into([key], [other.ctypes.data], [128]) == [INVALID_PARAMS]


def test_upsert_from(store, key, bufs):
    src, dst = bufs
    assert store.upsert_from(key, src.ctypes.data, 64) == 0
    assert store.upsert_from(key, src.ctypes.data + 64, 64) == 0
    assert store.get_into(key, dst.ctypes.data, 64) == 64
    assert np.array_equal(dst[:64], src[64:128])
    assert store.batch_upsert_from([key, key + "2"], [src.ctypes.data] * 2, [10, 20]) == [0, 0]
    assert store.get_size(key) == 10 and store.get_size(key + "2") == 20
    assert store.batch_upsert_from([key], [src.ctypes.data], []) == [INVALID_PARAMS]


def test_batch_put_from_get_into(store, key, bufs):
    src, dst = bufs
    keys = [f"{key}-{i}" for i in range(4)]
    ptrs = [src.ctypes.data + i * 1000 for i in range(4)]
    sizes = [1000, 10, 1, 999]
    assert store.batch_put_from(keys, ptrs, sizes) == [0, 0, 0, 0]
    dptrs = [dst.ctypes.data + i * 4096 for i in range(4)]
    assert store.batch_get_into(keys, dptrs, [4096] * 4) == sizes
    for i in range(4):
        assert np.array_equal(dst[i * 4096:i * 4096 + sizes[i]], src[i * 1000:i * 1000 + sizes[i]])
    assert store.batch_get_into(keys[:1] + [key + "none"], dptrs[:2], [4096, 4096]) == [1000, OBJECT_NOT_FOUND]
    assert store.batch_get_into(keys[:1], dptrs[:1], [999]) == [INVALID_PARAMS]        # too small


def test_batch_length_mismatch(store, key, bufs):
    src, dst = bufs
    assert store.batch_put_from([key, key + "2"], [src.ctypes.data], [10, 10]) == [INVALID_PARAMS] * 2
    assert store.batch_put_from([key], [src.ctypes.data], [10, 10]) == [INVALID_PARAMS]
    assert store.batch_get_into([key, key + "2"], [dst.ctypes.data], [10]) == [INVALID_PARAMS] * 2
    assert store.batch_put_from([], [], []) == []
    assert store.batch_get_into([], [], []) == []
    assert store.is_exist(key) == 0


def test_put_from_with_metadata(store, key, bufs):
    src, dst = bufs
    data = src.ctypes.data + 1000
    meta = src.ctypes.data
    assert store.put_from_with_metadata(key, data, meta, 100, 8) == 0
    assert store.get(key) == src[:8].tobytes() + src[1000:1100].tobytes()
    assert store.put_from_with_metadata(key + "0", data, meta, 0, 8) == 0
    assert store.is_exist(key + "0") == 0
    other = np.zeros(16, dtype=np.uint8)
    # upstream quirk kept: the positive magnitude of the error
    assert store.put_from_with_metadata(key + "u", other.ctypes.data, meta, 16, 8) == 600


def test_multi_buffers(store, key, bufs):
    src, dst = bufs
    base, dbase = src.ctypes.data, dst.ctypes.data
    keys = [key + "a", key + "b"]
    all_ptrs = [[base, base + 100, base + 300], [base + 1000]]
    all_sizes = [[10, 20, 30], [5]]
    assert store.batch_put_from_multi_buffers(keys, all_ptrs, all_sizes) == [0, 0]
    assert store.get(keys[0]) == src[0:10].tobytes() + src[100:120].tobytes() + src[300:330].tobytes()
    dptrs = [[dbase, dbase + 500], [dbase + 2000, dbase + 3000]]
    dsizes = [[25, 100], [2, 3]]
    assert store.batch_get_into_multi_buffers(keys, dptrs, dsizes) == [60, 5]
    expect = src[0:10].tobytes() + src[100:120].tobytes() + src[300:330].tobytes()
    assert dst[0:25].tobytes() + dst[500:535].tobytes() == expect
    assert dst[2000:2002].tobytes() + dst[3000:3003].tobytes() == src[1000:1005].tobytes()
    assert store.batch_get_into_multi_buffers(keys[:1], [[dbase]], [[59]]) == [INVALID_PARAMS]
    assert store.batch_get_into_multi_buffers(keys, dptrs[:1], dsizes) == [INVALID_PARAMS] * 2
    assert store.batch_put_from_multi_buffers(keys, [[base]], [[1], [1]]) == [INVALID_PARAMS] * 2
    cfg = ReplicateConfig()
    cfg.prefer_alloc_in_same_node = True
    assert store.batch_put_from_multi_buffers([key + "c"], [[base]], [[8]], cfg) == [0]
    assert store.batch_get_into_multi_buffers([key + "c"], [[dbase]], [[8]], True) == [8]


def test_get_into_ranges_seed_example(store, key):
    """The seeds' get_into_ranges example, literally."""
    key1, key2 = key + "1", key + "2"
    store.put(key1, bytes(range(40)))
    store.put(key2, bytes(range(100, 140)))
    buffer_size = 32
    buffer0 = (ctypes.c_ubyte * buffer_size)()
    buffer1 = (ctypes.c_ubyte * buffer_size)()
    buffer_ptr0 = ctypes.addressof(buffer0)
    buffer_ptr1 = ctypes.addressof(buffer1)
    store.register_buffer(buffer_ptr0, buffer_size)
    store.register_buffer(buffer_ptr1, buffer_size)
    results = store.get_into_ranges(
        [buffer_ptr0, buffer_ptr1],
        [[key1, key2], [key2, key1]],
        [[[0, 20], [8]], [[4], [16]]],
        [[[1, 30], [2]], [[0], [10]]],
        [[[4, 3], [5]], [[6], [4]]],
    )
    assert results == [[[4, 3], [5]], [[6], [4]]]
    b0, b1 = bytes(buffer0), bytes(buffer1)
    assert b0[0:4] == bytes(range(1, 5)) and b0[20:23] == bytes(range(30, 33))
    assert b0[8:13] == bytes(range(102, 107))
    assert b1[4:10] == bytes(range(100, 106)) and b1[16:20] == bytes(range(10, 14))
    store.unregister_buffer(buffer_ptr0)
    store.unregister_buffer(buffer_ptr1)


def test_get_into_ranges_errors(store, key, bufs):
    src, dst = bufs
    store.put(key, b"x" * 100)
    d = dst.ctypes.data
    # source overflow, destination overflow (against the registered region), missing key
    assert store.get_into_ranges([d], [[key]], [[[0, 0]]], [[[90, 0]]], [[[11, 10]]]) == [[[INVALID_PARAMS, 10]]]
    end = d + dst.nbytes - 8
    assert store.get_into_ranges([end], [[key]], [[[0, 4]]], [[[0, 0]]], [[[8, 8]]]) == [[[8, INVALID_PARAMS]]]
    assert store.get_into_ranges([d], [[key, key + "none"]], [[[0], [0]]], [[[0], [0]]], [[[1], [1]]]) == \
        [[[1], [OBJECT_NOT_FOUND]]]
    # unregistered buffer: every fragment of it
    other = np.zeros(64, dtype=np.uint8)
    assert store.get_into_ranges([other.ctypes.data, d], [[key], [key]], [[[0, 1]], [[0]]],
                                 [[[0, 1]], [[0]]], [[[1, 1]], [[2]]]) == [[[INVALID_PARAMS] * 2], [[2]]]
    # per-key fragment shape mismatch: that key only
    assert store.get_into_ranges([d], [[key, key]], [[[0, 1], [0]]], [[[0], [0]]], [[[1, 1], [3]]]) == \
        [[[INVALID_PARAMS, INVALID_PARAMS], [3]]]
    # top-level shape mismatch: everything
    assert store.get_into_ranges([d, d], [[key]], [[[0]]], [[[0]]], [[[1]]]) == [[[INVALID_PARAMS]], []]
    assert store.get_into_ranges([], [], [], [], []) == []


def test_zero_copy_before_setup():
    from mooncake.store import MooncakeDistributedStore
    s = MooncakeDistributedStore()
    a = np.zeros(16, dtype=np.uint8)
    assert s.register_buffer(a.ctypes.data, 16) == INVALID_PARAMS
    assert s.put_from("k", a.ctypes.data, 16) == INVALID_PARAMS
    assert s.get_into("k", a.ctypes.data, 16) == INVALID_PARAMS
    assert s.batch_put_from(["k"], [a.ctypes.data], [16]) == [INVALID_PARAMS]
    assert s.batch_get_into(["k"], [a.ctypes.data], [16]) == [INVALID_PARAMS]
    assert s.put_from_with_metadata("k", a.ctypes.data, a.ctypes.data, 8, 8) == -1
    assert s.batch_put_from_multi_buffers(["k"], [[a.ctypes.data]], [[16]]) == []
    assert s.get_into_ranges([a.ctypes.data], [["k"]], [[[0]]], [[[0]]], [[[1]]]) == [[[INVALID_PARAMS]]]


def test_seed_zero_copy_workflow(master):
    """The seeds' 'Complete zero-copy workflow' (store from the master fixture)."""
    store = make_store(master.addr, segment=512 * 1024 * 1024, local_buffer=16 * 1024 * 1024)
    original_data = np.random.randn(1000, 1000).astype(np.float32)
    buffer_ptr = original_data.ctypes.data
    size = original_data.nbytes
    assert store.register_buffer(buffer_ptr, size) == 0
    assert store.put_from("large_tensor_zc", buffer_ptr, size) == 0
    retrieved_data = np.empty((1000, 1000), dtype=np.float32)
    recv_buffer_ptr = retrieved_data.ctypes.data
    recv_size = retrieved_data.nbytes
    assert store.register_buffer(recv_buffer_ptr, recv_size) == 0
    assert store.get_into("large_tensor_zc", recv_buffer_ptr, recv_size) == size
    assert np.array_equal(original_data, retrieved_data)
    assert store.unregister_buffer(buffer_ptr) == 0
    assert store.unregister_buffer(recv_buffer_ptr) == 0
    store.close()
