"""The seeds' Hello World (shared/seeds/store-python-api.md, Quick Start),
run as a separate Python process exactly as a user would."""
import subprocess
import time

import pytest

from conftest import PYTHON, build_dir, master_has_http_metadata, master_is_store_master, port_open, run_python

# Verbatim from the seeds (Quick Start > Hello World Example).
HELLO_WORLD = '''from mooncake.store import MooncakeDistributedStore

# 1. Create store instance
store = MooncakeDistributedStore()

# 2. Setup with all required parameters
store.setup(
    "localhost",           # Your node's address
    "http://localhost:8080/metadata",    # HTTP metadata server
    512*1024*1024,          # 512MB segment size
    128*1024*1024,          # 128MB local buffer
    "tcp",                             # Use TCP (RDMA for high performance)
    "",                            # Leave empty; Mooncake auto-picks RDMA devices when needed
    "localhost:50051"        # Master service
)

# 3. Store data
store.put("hello_key", b"Hello, Mooncake Store!")

# 4. Retrieve data
data = store.get("hello_key")
print(data.decode())  # Output: Hello, Mooncake Store!

# 5. Clean up
store.close()
'''

# Verbatim from the seeds (P2P Hello World (preview)).
P2P_HELLO_WORLD = '''from mooncake.store import MooncakeDistributedStore

store = MooncakeDistributedStore()
store.setup(
    "localhost",           # Your node's ip address
    "P2PHANDSHAKE",              # P2P handshake (no HTTP metadata)
    512*1024*1024,                # 512MB segment size
    128*1024*1024,                # 128MB local buffer
    "tcp",                       # Use TCP (RDMA for high performance)
    "",                          # Leave empty; Mooncake auto-picks RDMA devices when needed
    "localhost:50051"           # Master service
)

store.put("hello_key", b"Hello, Mooncake Store!")
print(store.get("hello_key").decode())
store.close()
'''


def with_master_port(code, port):
    """The only change: the master's address."""
    assert code.count("localhost:50051") == 1
    return code.replace("localhost:50051", f"localhost:{port}")


@pytest.mark.parametrize("code", [HELLO_WORLD, P2P_HELLO_WORLD], ids=["hello", "p2p-hello"])
def test_hello_world(master, code):
    r = run_python(with_master_port(code, master.port))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Hello, Mooncake Store!\n"


def test_hello_world_literal_on_50051():
    """The literal file against `mooncake_master --enable_http_metadata_server=true`
    on the default port 50051 (issue 5 acceptance)."""
    master = build_dir() / "hw" / "mooncake_master"
    if not (master_is_store_master(master) and master_has_http_metadata(master)):
        pytest.skip("mooncake_master does not run the store master with --enable_http_metadata_server yet "
                    "(the lead switches it from the membership role)")
    if port_open(50051) or port_open(8080):
        pytest.skip("ports 50051/8080 are in use on this machine")
    proc = subprocess.Popen([str(master), "--enable_http_metadata_server=true",
                             "--http_metadata_server_host=0.0.0.0", "--http_metadata_server_port=8080"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while not port_open(50051) and time.time() < deadline:
            time.sleep(0.05)
        r = subprocess.run([PYTHON, "-c", HELLO_WORLD], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout == "Hello, Mooncake Store!\n"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
