"""Two store processes: one owns the only segment, the other puts and gets
(bytes cross processes over the hw data transport)."""
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import PYTHON, make_store
from mooncake.store import error_name

TRANSFER_FAIL = -800
NOT_SUPPORTED = -1012

OWNER = r"""
import sys
from mooncake.store import MooncakeDistributedStore
s = MooncakeDistributedStore()
rc = s.setup("127.0.0.1", "P2PHANDSHAKE", 64 << 20, 16 << 20, "tcp", "", sys.argv[1])
print(rc, s.get_hostname(), flush=True)
for line in sys.stdin:
    cmd, key, *rest = line.split()
    if cmd == "get":
        print(s.get(key).hex() or "-", flush=True)
    elif cmd == "put":
        print(s.put(key, bytes.fromhex(rest[0])), flush=True)
    elif cmd == "exist":
        print(s.is_exist(key), flush=True)
s.close()
"""


class Owner:
    def __init__(self, master_addr):
        self.p = subprocess.Popen([PYTHON, "-c", OWNER, master_addr], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        first = self.p.stdout.readline().split()
        if not first or first[0] != "0":
            self.kill()
            raise AssertionError(f"owner process setup failed: {first}")
        self.hostname = first[1]

    def ask(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(timeout=10)

    def close(self):
        if self.p.poll() is None:
            self.p.stdin.close()
            self.p.wait(timeout=30)


@pytest.fixture
def pair(fresh_master, key):
    """(owner process, client store without a segment of its own). Skips
    while the store client cannot move bytes between processes."""
    owner = Owner(fresh_master.addr)
    client = make_store(fresh_master.addr, segment=0)
    rc = client.put(key + "-probe", b"probe")
    if rc in (TRANSFER_FAIL, NOT_SUPPORTED):
        client.close()
        owner.close()
        pytest.skip(f"cross-process transfers are not available yet: a put into another process's segment "
                    f"returns {rc} ({error_name(rc)}); hw/xport is not plugged into the store client")
    assert rc == 0
    yield owner, client
    client.close()
    owner.kill()


def test_client_puts_owner_reads(pair, key):
    owner, client = pair
    payload = bytes(range(256)) * 64
    assert client.put(key, payload) == 0
    assert owner.ask(f"get {key}") == payload.hex()
    assert client.get(key) == payload


def test_owner_puts_client_reads(pair, key):
    owner, client = pair
    assert owner.ask(f"put {key} {b'from-owner'.hex()}") == "0"
    assert client.get(key) == b"from-owner"
    assert client.get_batch([key, key + "none"]) == [b"from-owner", b""]


def test_zero_copy_across_processes(pair, key):
    owner, client = pair
    src = np.random.default_rng(3).integers(0, 256, 1 << 20, dtype=np.uint8)
    dst = np.zeros_like(src)
    assert client.register_buffer(src.ctypes.data, src.nbytes) == 0
    assert client.register_buffer(dst.ctypes.data, dst.nbytes) == 0
    assert client.put_from(key, src.ctypes.data, src.nbytes) == 0
    assert client.get_into(key, dst.ctypes.data, dst.nbytes) == src.nbytes
    assert np.array_equal(src, dst)
    keys = [f"{key}-{i}" for i in range(8)]
    assert client.batch_put_from(keys, [src.ctypes.data + i * 4096 for i in range(8)], [4096] * 8) == [0] * 8
    assert client.batch_get_into(keys, [dst.ctypes.data + i * 4096 for i in range(8)], [4096] * 8) == [4096] * 8
    client.unregister_buffer(src.ctypes.data)
    client.unregister_buffer(dst.ctypes.data)


def test_owner_death_loses_its_objects(pair, key):
    owner, client = pair
    assert client.put(key, b"on-owner") == 0
    owner.kill()
    deadline = time.time() + 15                      # client_ttl is 3 s in these tests
    while time.time() < deadline and client.is_exist(key) == 1:
        time.sleep(0.2)
    assert client.is_exist(key) == 0
    assert client.get(key) == b""
    assert client.put(key + "-nospace", b"x") == -200    # NO_AVAILABLE_HANDLE: no segment left
