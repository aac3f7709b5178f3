"""Master failures: down at setup (clear error, no crash) and killed then
restarted mid-run (clear errors, then the client re-mounts by itself;
master state is volatile, spec store.md §10.8)."""
import time

import pytest

from conftest import RPC_FAIL, free_port, make_store, run_python


def test_setup_with_master_down():
    port = free_port()
    code = f"""
from mooncake.store import MooncakeDistributedStore
s = MooncakeDistributedStore()
rc = s.setup("127.0.0.1", "P2PHANDSHAKE", 16 << 20, 16 << 20, "tcp", "", "127.0.0.1:{port}")
print(rc, s.health_check(), s.put("k", b"v"), s.get("k"), s.close())
"""
    t0 = time.time()
    r = run_python(code, env_extra={"MC_RPC_CONNECT_TIMEOUT_MS": "1500"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(RPC_FAIL), "1", "-600", "b''", "0"]
    assert f"127.0.0.1:{port}" in r.stderr and "did not acknowledge" in r.stderr
    assert time.time() - t0 < 30


def test_setup_with_unresolvable_master():
    r = run_python("""
from mooncake.store import MooncakeDistributedStore
s = MooncakeDistributedStore()
print(s.setup("127.0.0.1", "P2PHANDSHAKE", 16 << 20, 16 << 20, "tcp", "", "no-such-host.invalid:50051"))
""", env_extra={"MC_RPC_CONNECT_TIMEOUT_MS": "1500"})
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) < 0


def wait_for(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


def test_master_restart_mid_run(fresh_master, key):
    s = make_store(fresh_master.addr)
    try:
        assert s.put(key, b"before") == 0
        assert s.get(key) == b"before"
        fresh_master.kill()
        t0 = time.time()
        rc = s.put(key + "-down", b"x")
        assert rc < 0                                   # a clear error, not a hang
        assert s.get(key) == b""
        assert s.is_exist(key) < 0
        assert time.time() - t0 < 30
        assert wait_for(lambda: s.health_check() == 2, 10)
        fresh_master.start()
        # the client reconnects and re-mounts its segment on its own
        assert wait_for(lambda: s.health_check() == 0 and s.put(key + "-after", b"after") == 0, 30)
        assert s.get(key + "-after") == b"after"
        assert s.get(key) == b""                        # the restarted master starts empty
        assert s.put(key, b"again") == 0 and s.get(key) == b"again"
    finally:
        s.close()


def test_close_with_master_down(fresh_master):
    s = make_store(fresh_master.addr)
    fresh_master.kill()
    t0 = time.time()
    assert s.close() == 0
    assert time.time() - t0 < 15
    assert s.health_check() == 1
