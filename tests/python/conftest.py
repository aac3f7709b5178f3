"""Fixtures for the mooncake.store pytest suites.

Run from a build tree (ctest does this):
    MC_BUILD_DIR=<build> PYTHONPATH=<build>/python /usr/bin/python3 -m pytest -q tests/python

The master is a real process on a free loopback port. Which binary plays
the store master is decided once per session (master_command):
  * mooncake_master, when its --help shows it is the store master
    (upstream flags: --port, --default_kv_lease_ttl, ...);
  * else mooncake_node --role store_master (the store master role while
    mooncake_master still runs only membership).
MC_TEST_MASTER=master|node forces one of them.
"""
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import uuid

import pytest

LEASE_TTL_MS = 500     # the master's default_kv_lease_ttl in these tests
CLIENT_TTL_S = 3       # the master's client_ttl (dead clients expire fast)
PYTHON = "/usr/bin/python3"

# Status codes the suites compare against (core/base/mc_status.h, upstream's ErrorCode).
INVALID_PARAMS = -600
OBJECT_NOT_FOUND = -704
TRANSFER_FAIL = -800
RPC_FAIL = -900
NOT_SUPPORTED = -1012
TASK_NOT_FOUND = -1400


def build_dir():
    env = os.environ.get("MC_BUILD_DIR")
    if env:
        return pathlib.Path(env)
    import mooncake._store as ext  # <build>/python/mooncake/_store*.so
    return pathlib.Path(ext.__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1"):
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def spawn_listening(cmd, log, ports, what, timeout=10.0):
    """Start cmd (stdout/stderr to the open file log) and wait until every
    port in ports accepts connections. RuntimeError (the process killed) if
    it exits or does not listen within timeout."""
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while not all(port_open(p) for p in ports):
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}; see {log.name}")
        if time.time() > deadline:
            proc.kill()
            proc.wait(timeout=10)
            raise RuntimeError(f"{what} did not listen on {ports} within {timeout}s; see {log.name}")
        time.sleep(0.05)
    return proc


def stop_process(proc, sig=signal.SIGTERM, timeout=10):
    """Send sig to a running proc and wait; SIGKILL after timeout. Returns
    the exit code (negative: the signal that ended it)."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


STORE_PROCESS = r"""
import sys
from mooncake.store import MooncakeDistributedStore
s = MooncakeDistributedStore()
rc = s.setup("127.0.0.1", "P2PHANDSHAKE", int(sys.argv[2]), int(sys.argv[3]), "tcp", "", sys.argv[1])
print(rc, s.get_hostname(), flush=True)
for line in sys.stdin:
    cmd, key, *rest = line.split()
    if cmd == "get":
        print(s.get(key).hex() or "-", flush=True)
    elif cmd == "put":
        print(s.put(key, bytes.fromhex(rest[0])), flush=True)
    elif cmd == "exist":
        print(s.is_exist(key), flush=True)
    elif cmd == "mount":                             # "mount SIZE": allocate_and_mount_segment
        print(s.allocate_and_mount_segment(int(key))["ret"], flush=True)
s.close()
"""


class StoreProcess:
    """A second store process (its own segment) driven over stdin/stdout:
    ask("get KEY") -> hex or "-", ask("put KEY HEX") -> rc,
    ask("exist KEY") -> is_exist, ask("mount SIZE") -> allocate_and_mount_segment's
    ret. Raises AssertionError if setup fails."""

    def __init__(self, master_addr, segment=64 << 20, local_buffer=64 << 20, what="store process"):
        self.p = subprocess.Popen([PYTHON, "-c", STORE_PROCESS, master_addr, str(segment), str(local_buffer)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        first = self.p.stdout.readline().split()
        if not first or first[0] != "0":
            self.kill()
            raise AssertionError(f"{what} setup failed: {first}")
        self.hostname = first[1]

    def ask(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def get(self, key):
        out = self.ask(f"get {key}")
        return b"" if out == "-" else bytes.fromhex(out)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(timeout=10)

    def close(self):
        """Orderly: end of input, the process closes its store and exits."""
        if self.p.poll() is None:
            self.p.stdin.close()
            try:
                self.p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def _help_text(binary):
    try:
        return subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def master_is_store_master(binary):
    """True once mooncake_master runs the store master (upstream flags)."""
    return "default_kv_lease_ttl" in _help_text(binary)


def master_has_http_metadata(binary):
    return "enable_http_metadata_server" in _help_text(binary)


def master_command(port, lease_ms=LEASE_TTL_MS, client_ttl_s=CLIENT_TTL_S):
    bdir = build_dir()
    master = bdir / "hw" / "mooncake_master"
    node = bdir / "hw" / "mooncake_node"
    choice = os.environ.get("MC_TEST_MASTER")
    if choice == "master" or (choice is None and master_is_store_master(master)):
        return [str(master), f"--port={port}", "--rpc_address=127.0.0.1",
                f"--default_kv_lease_ttl={lease_ms}", f"--client_ttl={client_ttl_s}"]
    return [str(node), "--role", "store_master", "--addr", f"127.0.0.1:{port}", "--no-stdin",
            "--conf", f"default_kv_lease_ttl={lease_ms}ms", "--conf", f"client_ttl={client_ttl_s}s"]


class Master:
    """A store master process on 127.0.0.1:port (restartable on the same port)."""

    def __init__(self, port=None, log_dir=None):
        self.port = port or free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.proc = None
        self.log_dir = pathlib.Path(log_dir or "/tmp")
        self.log = None

    def start(self, timeout=10.0):
        self.log = open(self.log_dir / f"mc_master_{self.port}.log", "ab")
        self.proc = spawn_listening(master_command(self.port), self.log, [self.port], "master", timeout)
        return self

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.log:
            self.log.close()
            self.log = None

    def stop(self):
        if self.proc:
            stop_process(self.proc)
        self.kill()


@pytest.fixture(scope="session")
def master(tmp_path_factory):
    m = Master(log_dir=tmp_path_factory.mktemp("master")).start()
    yield m
    m.stop()


@pytest.fixture
def fresh_master(tmp_path):
    """A master of the test's own (for killing and restarting)."""
    m = Master(log_dir=tmp_path).start()
    yield m
    m.stop()


def make_store(master_addr, segment=64 << 20, local_buffer=64 << 20, hostname="127.0.0.1"):
    from mooncake.store import MooncakeDistributedStore
    s = MooncakeDistributedStore()
    rc = s.setup(hostname, "http://127.0.0.1:8080/metadata", segment, local_buffer, "tcp", "", master_addr)
    assert rc == 0, f"setup against {master_addr} failed: {rc}"
    return s


@pytest.fixture
def store(master):
    s = make_store(master.addr)
    yield s
    s.close()


@pytest.fixture
def key():
    """A key no other test uses."""
    return f"k-{uuid.uuid4().hex}"


def lease_wait():
    """Reads take a lease; removal needs it expired."""
    time.sleep(LEASE_TTL_MS / 1000 + 0.2)


def run_python(code, env_extra=None, timeout=60):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, timeout=timeout, env=env)


sys.path.insert(0, str(pathlib.Path(__file__).parent))
