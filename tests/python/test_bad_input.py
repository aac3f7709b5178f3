"""Bad input: wrong types (TypeError), mismatched lists, empty and huge
keys, bad configs, calls before setup (spec store.md §8: only argument
type errors raise; store errors are return codes)."""
import numpy as np
import pytest

from conftest import INVALID_PARAMS
from mooncake.store import MooncakeDistributedStore, ReplicateConfig

MAX_KEY = 1 << 20


@pytest.mark.parametrize("call", [
    lambda s: s.put(123, b"x"),
    lambda s: s.put("k", "a str is not a buffer"),
    lambda s: s.put("k", 42),
    lambda s: s.put("k", b"x", "not a config"),
    lambda s: s.put("k", b"x", config=1),
    lambda s: s.put("k", b"x", replica_num=2),          # unknown keyword
    lambda s: s.put("k"),                               # missing argument
    lambda s: s.get(None),
    lambda s: s.get_batch("not-a-list"),
    lambda s: s.get_batch([1, 2]),
    lambda s: s.put_batch(["a"], [1]),
    lambda s: s.put_batch("ab", [b"a", b"b"]),
    lambda s: s.is_exist(1.5),
    lambda s: s.batch_is_exist(None),
    lambda s: s.remove("k", force="yes"),
    lambda s: s.remove_by_regex(5),
    lambda s: s.remove_all(force=1),
    lambda s: s.register_buffer("0x1000", 10),
    lambda s: s.register_buffer(-1, 10),
    lambda s: s.register_buffer(1 << 70, 10),
    lambda s: s.register_buffer(4096, -1),
    lambda s: s.put_from("k", 1.0, 10),
    lambda s: s.get_into("k", 4096, "10"),
    lambda s: s.batch_put_from(["k"], ["x"], [1]),
    lambda s: s.batch_get_into(["k"], [4096], [None]),
    lambda s: s.get_into_ranges([4096], "k", [[[0]]], [[[0]]], [[[1]]]),
    lambda s: s.get_into_ranges([4096], [[1]], [[[0]]], [[[0]]], [[[1]]]),
    lambda s: s.get_into_ranges([4096], [["k"]], [[["0"]]], [[[0]]], [[[1]]]),
    lambda s: s.batch_put_from_multi_buffers(["k"], [4096], [[1]]),
    lambda s: s.setup(1, "P2PHANDSHAKE"),
    lambda s: s.setup("127.0.0.1", "P2PHANDSHAKE", "16MB"),
    lambda s: s.get_buffer(b"ok" if False else 3),
])
def test_wrong_types_raise_type_error(call):
    s = MooncakeDistributedStore()      # types are checked before the store state
    with pytest.raises(TypeError):
        call(s)


@pytest.mark.parametrize("attr,value", [
    ("replica_num", "2"), ("replica_num", -1), ("replica_num", 1.0), ("with_hard_pin", 1),
    ("with_soft_pin", "yes"), ("preferred_segment", None), ("preferred_segments", "a"),
    ("preferred_segments", [1]), ("group_ids", "g"), ("group_ids", [None]), ("soft_pin_ttl_ms", -1),
    ("soft_pin_ttl_ms", 1 << 64), ("soft_pin_ttl_ms", "1000"), ("soft_pin_action", 7),
])
def test_replicate_config_type_checks(attr, value):
    cfg = ReplicateConfig()
    with pytest.raises(TypeError):
        setattr(cfg, attr, value)


def test_replicate_config_defaults_and_fields():
    cfg = ReplicateConfig()
    assert cfg.replica_num == 1 and cfg.with_soft_pin is False and cfg.with_hard_pin is False
    assert cfg.preferred_segment == "" and cfg.prefer_alloc_in_same_node is False and cfg.group_ids is None
    assert cfg.soft_pin_ttl_ms is None
    cfg.replica_num = 3
    cfg.with_soft_pin = True
    cfg.with_hard_pin = True
    cfg.preferred_segment = "localhost:12345"
    cfg.prefer_alloc_in_same_node = "True"          # the seeds' docs assign a string
    cfg.group_ids = ["session-a", "", "session-b"]
    cfg.soft_pin_ttl_ms = 1000
    assert (cfg.replica_num, cfg.with_soft_pin, cfg.with_hard_pin) == (3, True, True)
    assert cfg.prefer_alloc_in_same_node is True and cfg.group_ids == ["session-a", "", "session-b"]
    assert cfg.soft_pin_ttl_ms == 1000 and cfg.soft_pin_action == 1
    cfg.group_ids = None
    assert "replica_num=3" in str(cfg)


def test_calls_before_setup_return_codes():
    s = MooncakeDistributedStore()
    assert s.put("k", b"v") == INVALID_PARAMS
    assert s.upsert("k", b"v") == INVALID_PARAMS
    assert s.put_parts("k", b"a") == INVALID_PARAMS
    assert s.put_batch(["k"], [b"v"]) == INVALID_PARAMS
    assert s.upsert_batch(["k"], [b"v"]) == INVALID_PARAMS
    assert s.get("k") == b""
    assert s.get_batch(["a", "b"]) == [b""]          # upstream quirk: one empty element
    assert s.get_buffer("k") is None
    assert s.batch_get_buffer(["a", "b"]) == [None, None]
    assert s.is_exist("k") == INVALID_PARAMS
    assert s.batch_is_exist(["a"]) == [INVALID_PARAMS]
    assert s.get_size("k") == INVALID_PARAMS
    assert s.remove("k") == INVALID_PARAMS
    assert s.remove_by_regex(".*") == INVALID_PARAMS
    assert s.remove_all() == INVALID_PARAMS
    assert s.batch_remove(["a"]) == [INVALID_PARAMS]
    assert s.unregister_buffer(4096) == INVALID_PARAMS
    assert s.health_check() == 1
    assert s.get_hostname() == ""
    assert s.close() == 0


def test_empty_keys(store):
    assert store.put("", b"v") == INVALID_PARAMS
    assert store.upsert("", b"v") == INVALID_PARAMS
    assert store.get("") == b""
    assert store.is_exist("") == INVALID_PARAMS
    assert store.get_size("") == INVALID_PARAMS
    assert store.remove("") == INVALID_PARAMS
    assert store.get_buffer("") is None
    assert store.batch_is_exist(["", "x-absent"]) == [INVALID_PARAMS, 0]
    assert store.batch_remove([""]) == [INVALID_PARAMS]
    a = np.zeros(8, dtype=np.uint8)
    store.register_buffer(a.ctypes.data, 8)
    assert store.put_from("", a.ctypes.data, 8) == INVALID_PARAMS
    assert store.get_into("", a.ctypes.data, 8) == INVALID_PARAMS
    store.unregister_buffer(a.ctypes.data)


def test_large_keys(store, key):
    big = key + "k" * (MAX_KEY - len(key))
    assert len(big.encode()) == MAX_KEY
    assert store.put(big, b"v") == 0
    assert store.get(big) == b"v"
    assert store.remove(big, force=True) == 0
    too_big = big + "x"
    assert store.put(too_big, b"v") == INVALID_PARAMS
    assert store.get(too_big) == b""
    assert store.is_exist(too_big) == INVALID_PARAMS
    assert store.put_batch([too_big, key], [b"v", b"w"]) == INVALID_PARAMS
    assert store.get(key) == b"w"


def test_non_ascii_and_bytes_keys(store, key):
    k = key + "-ключ-鍵-🔑"
    assert store.put(k, b"unicode") == 0
    assert store.get(k) == b"unicode"
    assert store.get(k.encode()) == b"unicode"       # bytes keys name the same UTF-8 bytes
    assert store.put(key.encode() + b"\x00\xff", b"binary") == 0
    assert store.get(key.encode() + b"\x00\xff") == b"binary"


def test_config_errors(store, key):
    cfg = ReplicateConfig()
    cfg.replica_num = 0
    assert store.put(key, b"v", cfg) == INVALID_PARAMS
    cfg = ReplicateConfig()
    cfg.group_ids = ["a", "b"]                        # one id per key
    assert store.put(key, b"v", cfg) == INVALID_PARAMS
    assert store.put_batch([key + "1", key + "2"], [b"1", b"2"], cfg) == 0
    cfg.group_ids = ["a"]
    assert store.put(key, b"v", cfg) == 0
    cfg = ReplicateConfig()
    cfg.soft_pin_ttl_ms = 1000                        # a TTL needs soft_pin_action ENABLE
    assert store.upsert(key + "sp", b"v", cfg) == INVALID_PARAMS
    cfg.soft_pin_action = 2
    assert store.upsert(key + "sp", b"v", cfg) == INVALID_PARAMS
    cfg.soft_pin_action = 1
    assert store.upsert(key + "sp", b"v", cfg) == 0
    cfg = ReplicateConfig()
    cfg.replica_num = 2                               # best effort with one segment
    assert store.put(key + "r2", b"v", cfg) == 0
    cfg = ReplicateConfig()
    cfg.nof_replica_num = 1
    assert store.put(key + "nof", b"v", cfg) == INVALID_PARAMS


def test_buffers_too_small(store, key):
    store.put(key, b"x" * 1000)
    a = np.zeros(999, dtype=np.uint8)
    store.register_buffer(a.ctypes.data, a.nbytes)
    assert store.get_into(key, a.ctypes.data, a.nbytes) == INVALID_PARAMS
    assert store.batch_get_into([key], [a.ctypes.data], [a.nbytes]) == [INVALID_PARAMS]
    assert store.batch_get_into_multi_buffers([key], [[a.ctypes.data]], [[a.nbytes]]) == [INVALID_PARAMS]
    assert store.get_into(key, a.ctypes.data, 2000) == INVALID_PARAMS   # larger than the registration
    store.unregister_buffer(a.ctypes.data)


def test_prefer_alloc_in_same_node_only_for_multi_buffers(store, key):
    cfg = ReplicateConfig()
    cfg.prefer_alloc_in_same_node = True
    a = np.arange(64, dtype=np.uint8)
    store.register_buffer(a.ctypes.data, 64)
    assert store.put(key, b"v", cfg) == INVALID_PARAMS
    assert store.put_batch([key], [b"v"], cfg) == INVALID_PARAMS
    assert store.put_from(key, a.ctypes.data, 64, cfg) == INVALID_PARAMS
    assert store.batch_put_from([key], [a.ctypes.data], [64], cfg) == [INVALID_PARAMS]
    assert store.is_exist(key) == 0
    assert store.batch_put_from_multi_buffers([key], [[a.ctypes.data]], [[64]], cfg) == [0]
    store.unregister_buffer(a.ctypes.data)
