"""Extra segments, copy/move tasks, query_task and batch_replica_clear
against a real master with two store processes: this test process (A)
and a peer process (B) that owns a segment and answers commands."""
import os
import time

import pytest

from conftest import INVALID_PARAMS, OBJECT_NOT_FOUND, TASK_NOT_FOUND, StoreProcess, lease_wait, make_store
from mooncake.store import ReplicateConfig, TaskStatus, TaskType


@pytest.fixture
def cluster(fresh_master):
    """(A: store in this process with a 1 MiB segment, B: peer process)."""
    peer = StoreProcess(fresh_master.addr, what="peer")  # 64 MiB segment
    a = make_store(fresh_master.addr, segment=1 << 20)
    yield a, peer
    a.close()
    peer.close()


def on(store, hostname):
    cfg = ReplicateConfig()
    cfg.preferred_segment = hostname
    return cfg


def payload(n, salt=0):
    return bytes((i * 7 + salt) & 0xFF for i in range(n))


def endpoints(store, key):
    return sorted(d.get_memory_descriptor().buffer_descriptor.transport_endpoint
                  for d in store.get_replica_desc(key))


def wait_task(store, task_id, timeout=15.0):
    """Polls query_task until the task is finished; returns the last response."""
    deadline = time.time() + timeout
    while True:
        resp, code = store.query_task(task_id)
        assert code == 0, code
        if resp.status in (TaskStatus.SUCCESS, TaskStatus.FAILED) or time.time() > deadline:
            return resp
        time.sleep(0.1)


def test_allocate_mount_and_put_into_it(cluster, key):
    a, peer = cluster
    res = a.allocate_and_mount_segment(16 << 20 | 5)
    assert res["ret"] == 0
    assert res["allocated_size"] == (16 << 20) + 4096  # rounded up to 4 KiB
    (seg_id,) = res["segment_ids"]
    hi, lo = seg_id.split("-")
    assert int(hi) >= 0 and int(lo) >= 0
    # 4 MiB cannot fit A's 1 MiB main segment: it lands in the mounted one
    value = payload(4 << 20)
    assert a.put(key, value, on(a, a.get_hostname())) == 0
    assert endpoints(a, key) == [a.get_hostname()]
    assert a.get(key) == value
    assert peer.get(key) == value  # read across processes from the mounted memory
    assert a.unmount_and_free_segment(res["segment_ids"]) == 0
    assert a.get(key) == b""       # only replica was there: gone with the segment
    assert a.unmount_and_free_segment(res["segment_ids"]) == -1  # no longer ours


def test_mount_file_segment(cluster, key, tmp_path):
    a, peer = cluster
    shm = os.path.isdir("/dev/shm")
    path = f"/dev/shm/mc_test_{os.getpid()}_{key}" if shm else str(tmp_path / "seg")
    with open(path, "wb") as f:
        f.truncate(4 << 20)  # shorter than the mapping: extended by mount_segment
    try:
        res = a.mount_segment(path, 8 << 20)
        assert res["ret"] == 0, res
        assert len(res["segment_ids"]) == 1
        value = payload(6 << 20, salt=3)
        assert a.put(key, value, on(a, a.get_hostname())) == 0
        assert peer.get(key) == value
        with open(path, "rb") as f:
            assert value in f.read()  # the bytes really live in the file mapping
        assert a.unmount_segment(res["segment_ids"]) == 0
        assert a.get(key) == b""
    finally:
        if os.path.exists(path):
            os.unlink(path)


def test_copy_task(cluster, key):
    a, peer = cluster
    value = payload(256 << 10, salt=1)
    assert a.put(key, value, on(a, a.get_hostname())) == 0
    task_id, code = a.create_copy_task(key, [peer.hostname])
    assert code == 0 and task_id != (0, 0)
    resp = wait_task(a, task_id)
    assert resp.status == TaskStatus.SUCCESS, resp.message
    assert resp.type == TaskType.REPLICA_COPY
    assert resp.id == task_id
    assert resp.message == ""
    assert resp.last_updated_at_ms_epoch >= resp.created_at_ms_epoch
    assert endpoints(a, key) == sorted([a.get_hostname(), peer.hostname])
    # drop A's replica: the copy on B alone must hold the bytes
    lease_wait()
    assert a.batch_replica_clear([key], a.get_hostname()) == [key]
    assert endpoints(a, key) == [peer.hostname]
    assert a.get(key) == value
    assert peer.get(key) == value


def test_move_task(cluster, key):
    a, peer = cluster
    value = payload(300 << 10, salt=2)
    assert a.put(key, value, on(a, a.get_hostname())) == 0
    task_id, code = a.create_move_task(key, a.get_hostname(), peer.hostname)
    assert code == 0
    resp = wait_task(a, task_id)
    assert resp.status == TaskStatus.SUCCESS, resp.message
    assert resp.type == TaskType.REPLICA_MOVE
    assert endpoints(a, key) == [peer.hostname]
    assert a.get(key) == value
    assert peer.get(key) == value


def test_query_task_statuses(cluster, key):
    a, peer = cluster
    assert a.put(key, payload(64 << 10), on(a, a.get_hostname())) == 0
    task_id, code = a.create_copy_task(key, [peer.hostname])
    assert code == 0
    resp, code = a.query_task(task_id)
    assert code == 0
    assert resp.status in (TaskStatus.PENDING, TaskStatus.PROCESSING, TaskStatus.SUCCESS)
    assert isinstance(resp.assigned_client, tuple) and resp.assigned_client != (0, 0)
    assert wait_task(a, task_id).status == TaskStatus.SUCCESS
    assert a.query_task((task_id[0] ^ 1, task_id[1])) == (None, TASK_NOT_FOUND)


def test_unmount_with_grace_period(cluster, key):
    a, peer = cluster
    res = a.allocate_and_mount_segment(8 << 20)
    assert res["ret"] == 0
    value = payload(2 << 20, salt=4)
    assert a.put(key, value, on(a, a.get_hostname())) == 0
    assert a.unmount_and_free_segment(res["segment_ids"], grace_period_seconds=2) == 0
    assert a.get(key) == value  # still readable during the grace period
    # no new allocations there: a 2 MiB put preferring A goes elsewhere (B)
    assert a.put(key + "-2", value, on(a, a.get_hostname())) == 0
    assert endpoints(a, key + "-2") == [peer.hostname]
    time.sleep(3.5)
    assert a.get(key) == b""    # unmounted after the grace period
    assert a.get(key + "-2") == value


def test_bad_input(cluster, key):
    a, peer = cluster
    value = payload(64 << 10, salt=5)
    assert a.put(key, value, on(a, a.get_hostname())) == 0
    assert a.query_task((1, 2)) == (None, TASK_NOT_FOUND)
    assert a.create_copy_task(key + "-absent", [peer.hostname]) == ((0, 0), OBJECT_NOT_FOUND)
    assert a.create_copy_task(key, ["127.0.0.1:1"]) == ((0, 0), INVALID_PARAMS)  # unknown segment
    assert a.create_copy_task(key, []) == ((0, 0), INVALID_PARAMS)
    assert a.create_move_task(key, a.get_hostname(), a.get_hostname()) == ((0, 0), INVALID_PARAMS)
    assert a.create_move_task(key, peer.hostname, a.get_hostname()) == ((0, 0), INVALID_PARAMS)  # no replica there
    # copy to the source's own segment: a no-op task, nothing created or lost
    task_id, code = a.create_copy_task(key, [a.get_hostname()])
    assert code == 0
    assert wait_task(a, task_id).status == TaskStatus.SUCCESS
    assert endpoints(a, key) == [a.get_hostname()]
    assert a.get(key) == value
    assert a.unmount_segment(["1-2"]) == -1
    assert a.unmount_segment(["not-an-id"]) == -1
    assert a.mount_segment("/nonexistent/dir/seg", 1 << 20) == {"ret": INVALID_PARAMS, "segment_ids": []}
    assert a.allocate_and_mount_segment(0)["ret"] == INVALID_PARAMS
    with pytest.raises(TypeError):
        a.unmount_segment("1-2")
    with pytest.raises(TypeError):
        a.query_task("task")
    assert a.batch_replica_clear([key + "-absent", ""]) == []
    assert a.get(key) == value
