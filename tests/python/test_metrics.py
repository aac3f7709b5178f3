"""mooncake_master's metrics endpoint (Prometheus text on --metrics_port)
and its clean shutdown on SIGTERM / SIGINT."""
import re
import signal
import time
import urllib.request

import pytest

from conftest import build_dir, free_port, make_store, spawn_listening, stop_process

SEGMENT = 64 << 20


class MetricsMaster:
    def __init__(self, tmp_path, extra=()):
        self.port, self.mport = free_port(), free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.log_path = tmp_path / f"master_{self.port}.log"
        self.log = open(self.log_path, "wb")
        self.proc = spawn_listening(
            [str(build_dir() / "hw" / "mooncake_master"), f"--port={self.port}", "--rpc_address=127.0.0.1",
             f"--metrics_port={self.mport}", "--metrics_host=127.0.0.1", "--default_kv_lease_ttl=500",
             "--client_ttl=3", *extra],
            self.log, [self.port, self.mport], "master")

    def log_text(self):
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def fetch(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.mport}{path}", timeout=5) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()

    def stop(self, sig=signal.SIGTERM):
        rc = stop_process(self.proc, sig, timeout=20)
        self.log.close()
        return rc


def parse(text):
    """{name: value} of the samples (comments skipped)."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = int(value)
    return out


def wait_metrics(m, expect, timeout=10.0):
    """The endpoint serves a snapshot refreshed every 200 ms: poll until
    every expected sample has its value, then return all samples."""
    deadline = time.time() + timeout
    while True:
        status, ctype, text = m.fetch("/metrics")
        assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
        got = parse(text)
        if all(got.get(k) == v for k, v in expect.items()) or time.time() > deadline:
            return got


@pytest.fixture
def mm(tmp_path):
    m = MetricsMaster(tmp_path)
    yield m
    m.stop()


def test_metrics_count_puts_gets_and_errors(mm, key):
    s = make_store(mm.addr, segment=SEGMENT)
    try:
        for i in range(3):
            assert s.put(f"{key}-{i}", bytes([i]) * 4096) == 0
        assert s.get(f"{key}-0") == bytes([0]) * 4096
        assert s.get(f"{key}-1") == bytes([1]) * 4096
        assert s.get(f"{key}-absent") == b""
        assert s.remove(f"{key}-absent") == -704
        expect = {
            "master_put_start_requests_total": 3,
            "master_put_start_failures_total": 0,
            "master_put_end_requests_total": 3,
            "master_get_replica_list_requests_total": 3,
            "master_get_replica_list_failures_total": 1,
            "master_remove_requests_total": 1,
            "master_remove_failures_total": 1,
            "master_key_count": 3,
            "master_allocated_bytes": 3 * 4096,
            "master_total_capacity_bytes": SEGMENT,
            "master_active_clients": 1,
            "master_segment_count": 1,
        }
        got = wait_metrics(mm, expect)
        assert {k: got.get(k) for k in expect} == expect
        assert got["master_remount_segments_requests_total"] >= 1
        assert got["master_ping_requests_total"] >= 1
        assert got["master_evicted_key_count"] == 0
        status, _, summary = mm.fetch("/metrics/summary")
        assert status == 200
        assert re.search(r"Keys: 3\b", summary) and "Clients: 1" in summary, summary
        with pytest.raises(urllib.error.HTTPError) as e:
            mm.fetch("/nope")
        assert e.value.code == 404
    finally:
        s.close()
    # close unmounts the segment: its objects and capacity are gone
    got = wait_metrics(mm, {"master_key_count": 0, "master_total_capacity_bytes": 0})
    assert got["master_key_count"] == 0 and got["master_total_capacity_bytes"] == 0


def test_periodic_summary_is_logged(tmp_path):
    m = MetricsMaster(tmp_path)
    try:
        deadline = time.time() + 15
        while "Master Metrics: Storage:" not in m.log_text():
            assert time.time() < deadline, m.log_text()
            time.sleep(0.2)
    finally:
        assert m.stop() == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_clean_shutdown_on_signal(tmp_path, key, sig):
    m = MetricsMaster(tmp_path, extra=("--enable_metric_reporting=false",))
    s = make_store(m.addr, segment=SEGMENT)
    assert s.put(key, b"x" * 1000) == 0
    wait_metrics(m, {"master_key_count": 1})
    s.close()
    assert m.stop(sig) == 0, m.log_text()
    log = m.log_text()
    assert "shutting down" in log
    assert "ERROR: AddressSanitizer" not in log and "LeakSanitizer" not in log, log
