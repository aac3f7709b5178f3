"""mooncake.ep over 4 real processes on loopback (torch CPU tensors and
numpy): collectives and MoE dispatch/combine, a SIGKILLed rank, the
survivors' results over exactly the survivors, and a replacement process
that rejoins through recover_ranks.

The coordinator runs in the pytest process; ranks are spawned processes
that report results over their own pipes (test_ep_harness.Results: a
shared queue's writer lock can die with the killed rank) and wait on
events.
"""
import multiprocessing as mp
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from mooncake import ep  # noqa: E402
from test_ep_harness import Results  # noqa: E402

WORLD = 4
TMO_US = 1_000_000           # data-phase timeout: every op returns within 2 s
T, H, E, K = 6, 16, 8, 2     # tokens, hidden, experts (2 per rank), top-k
CTX = mp.get_context("spawn")
HB_MS = 1000                 # heartbeat timeout of the coordinator


def moe_inputs(rank):
    x = np.array([[rank * 10 + t + 0.125 * h for h in range(H)] for t in range(T)], np.float32)
    idx = np.array([[(t + rank) % E, (t + rank + 3) % E] for t in range(T)], np.int64)
    w = np.array([[0.625, 0.375]] * T, np.float32)
    return x, idx, w


def combine_expected(rank, alive):
    """sum_k w * x * (0.1 e + 1) over experts whose owner is alive."""
    x, idx, w = moe_inputs(rank)
    out = np.zeros((T, H), np.float32)
    for t in range(T):
        for k in range(K):
            e = int(idx[t, k])
            if (e // (E // WORLD)) in alive:
                out[t] += w[t, k] * x[t] * np.float32(0.1 * e + 1)
    return out


def recv_count_expected(rank, alive):
    el = E // WORLD
    cnt = [0] * el
    for src in alive:
        _, idx, _ = moe_inputs(src)
        for e in idx.flatten():
            if e // el == rank:
                cnt[e % el] += 1
    return cnt


def do_moe(pg, rank, alive):
    buf = ep.Buffer(pg, ep.Buffer.get_ep_buffer_size_hint(T, H, WORLD, E))
    x, idx, w = moe_inputs(rank)
    active = torch.ones(WORLD, dtype=torch.int32)
    recv_x, recv_count, handle, _, _ = buf.dispatch(torch.from_numpy(x), torch.from_numpy(idx), active, T, E,
                                                    TMO_US, topk_weights=torch.from_numpy(w))
    disp_active = active.tolist()
    out, _, _ = buf.combine(recv_x, torch.from_numpy(idx), torch.from_numpy(w), active, TMO_US, handle)
    ok_out = bool(np.allclose(out.numpy(), combine_expected(rank, alive), rtol=1e-5, atol=1e-4))
    return {"recv_count": recv_count.tolist(), "want_count": recv_count_expected(rank, alive),
            "dispatch_active": disp_active, "combine_active": active.tolist(), "combine_ok": ok_out}


def rank_main(rank, coord, q, ev_killed, ev_recovered, replacement):
    try:
        if replacement:
            # continues at the survivors' next op id; active only once recovered
            pg = ep.ProcessGroup(rank, WORLD, coord, timeout_us=TMO_US, wait_active_ms=0, start_op_id=5)
            q.send((rank, "joined", None))
            deadline = time.monotonic() + 60
            while pg.get_active_ranks().tolist()[rank] != 1 and time.monotonic() < deadline:
                time.sleep(0.02)
        else:
            pg = ep.ProcessGroup(rank, WORLD, coord, timeout_us=TMO_US)
            # op 1: everyone, torch float32 all_reduce
            t = torch.full((256,), float(rank + 1))
            pg.all_reduce(t)
            q.send((rank, "op1", (t.tolist()[:3], pg.last_set)))
            if rank == 3:
                time.sleep(3600)  # SIGKILLed here
            ev_killed.wait(60)
            # op 2: rank 3 is dead
            t = torch.full((256,), float(rank + 1))
            pg.all_reduce(t)
            q.send((rank, "op2", (t.tolist()[0], pg.last_set)))
            deadline = time.monotonic() + 30
            while pg.get_active_ranks().tolist() != [1, 1, 1, 0] and time.monotonic() < deadline:
                time.sleep(0.02)
            q.send((rank, "active", (pg.get_active_ranks().tolist(), pg.get_peer_state([3]),
                                   pg.get_num_synced_ranks())))
            # ops 3, 4: dispatch/combine over the survivors
            q.send((rank, "moe", do_moe(pg, rank, {0, 1, 2})))
            ev_recovered.wait(60)
            if rank == 0:
                q.send((rank, "recover", pg.recover_ranks([3])))
            deadline = time.monotonic() + 60
            while pg.get_active_ranks().tolist() != [1] * WORLD and time.monotonic() < deadline:
                time.sleep(0.02)
        # op 5: everyone again (numpy float64)
        a = np.full(64, float(rank + 1))
        pg.all_reduce(a)
        g = pg.all_gather(None, np.arange(3, dtype=np.int64) + 100 * rank)
        q.send((rank, "op5", (float(a[0]), pg.last_set, [x.tolist() for x in g])))
        # 2.5 MiB: three chunks of one slot (1 MiB), ids 7, 8, 9 on every rank
        big = torch.arange(655360, dtype=torch.float32) * (rank + 1)
        pg.all_reduce(big)
        q.send((rank, "big", (bool(torch.equal(big, torch.arange(655360, dtype=torch.float32) * 10)),
                             pg.last_set, pg.next_op_id())))
        pg.close()
    except Exception as e:  # reported, asserted by the test
        q.send((rank, "error", repr(e)))


@pytest.mark.parametrize("hb_ms", [HB_MS, 3000])
def test_ep_collectives_kill_and_rejoin(hb_ms):
    """hb_ms 3000: the dead rank stays in the view for longer than op2's
    bound (2 x 1 s), so op2 ends through the coordinator's window alone."""
    coord = ep.Coordinator(WORLD, hb_timeout_ms=hb_ms)
    res = Results(CTX)
    ev_killed, ev_recovered = CTX.Event(), CTX.Event()
    procs = [res.spawn(rank_main, (r, coord.address, Results.PIPE, ev_killed, ev_recovered, False))
             for r in range(WORLD)]
    try:
        op1 = res.by("op1", range(WORLD))
        for r in range(WORLD):
            assert op1[r] == ([10.0, 10.0, 10.0], 0xF)
        procs[3].kill()  # SIGKILL
        procs[3].join(10)
        assert procs[3].exitcode == -9
        ev_killed.set()
        survivors = [0, 1, 2]
        op2 = res.by("op2", survivors)
        for r in survivors:
            assert op2[r] == (6.0, 0x7), op2  # 1 + 2 + 3, rank 3's block not counted
        act = res.by("active", survivors)
        for r in survivors:
            assert act[r] == ([1, 1, 1, 0], [False], 3)
        moe = res.by("moe", survivors)
        for r in survivors:
            m = moe[r]
            assert m["dispatch_active"] == [1, 1, 1, 0] and m["combine_active"] == [1, 1, 1, 0]
            assert m["recv_count"] == m["want_count"]
            assert m["combine_ok"]
        # a replacement process for rank 3 joins; rank 0 recovers it
        repl = res.spawn(rank_main, (3, coord.address, Results.PIPE, ev_killed, ev_recovered, True))
        procs.append(repl)
        assert res.by("joined", [3]) == {3: None}
        ev_recovered.set()
        assert res.by("recover", [0]) == {0: ep.APPLIED}
        op5 = res.by("op5", range(WORLD))
        for r in range(WORLD):
            assert op5[r] == (10.0, 0xF, [[0, 1, 2], [100, 101, 102], [200, 201, 202], [300, 301, 302]])
        assert res.by("big", range(WORLD)) == {r: (True, 0xF, 10) for r in range(WORLD)}
        for p in procs[:3] + [repl]:
            p.join(30)
            assert p.exitcode == 0
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
        coord.stop()


def _bad_input_main(coord, q):
    try:
        pg = ep.ProcessGroup(0, 1, coord, timeout_us=TMO_US)
        res = []
        try:
            pg.all_reduce(np.zeros(4, np.float16))
        except TypeError:
            res.append("dtype")
        try:
            pg.all_reduce(torch.zeros(4), op="avg")
        except ValueError:
            res.append("avg")
        try:
            pg.recover_ranks([5])
        except ValueError:
            res.append("rank")
        try:
            pg.all_gather(None, np.zeros(1 << 20, np.float64))  # 8 MiB > slot_bytes (all_reduce would chunk)
        except ep.MooncakeEPError as e:
            res.append(("big", e.code))
        # a world of one still works after the rejected calls
        t = torch.arange(5, dtype=torch.int64)
        pg.all_reduce(t, op="max")
        res.append(t.tolist())
        nc = torch.arange(12, dtype=torch.float32).reshape(3, 4).t()  # not contiguous
        pg.broadcast(nc, 0)
        res.append(nc.tolist() == torch.arange(12, dtype=torch.float32).reshape(3, 4).t().tolist())
        pg.close()
        q.put(res)
    except Exception as e:
        q.put(repr(e))


def test_ep_bad_input_single_rank():
    coord = ep.Coordinator(1)
    q = CTX.Queue()
    p = CTX.Process(target=_bad_input_main, args=(coord.address, q))
    p.start()
    try:
        res = q.get(timeout=60)
        assert res == ["dtype", "avg", "rank", ("big", ep._ep.ERR_INVALID), [0, 1, 2, 3, 4], True], res
        p.join(30)
        assert p.exitcode == 0
    finally:
        if p.is_alive():
            p.kill()
        coord.stop()


def test_buffer_size_hint():
    assert ep.Buffer.get_ep_buffer_size_hint(128, 7168, 8, 256) == 16 * 256 + 4 * 256 * 128 * (32 + 2 * 7168)


def _two_rank_main(rank, coord, q):
    try:
        pg = ep.ProcessGroup(rank, 2, coord, timeout_us=TMO_US)
        t = torch.tensor([1.5, -2.0], dtype=torch.float64) * (rank + 1)
        pg.all_reduce(t, op="product")
        if rank == 0:
            pg.send(torch.arange(4, dtype=torch.int32), 1)
            got = None
        else:
            got = torch.zeros(4, dtype=torch.int32)
            pg.recv(got, 0)
            got = got.tolist()
        q.put((rank, (t.tolist(), got, pg.last_set)))
        pg.close()
    except Exception as e:
        q.put((rank, repr(e)))


def test_ep_external_coordinator_process():
    """The coordinator as its own process: mooncake_node --role ep_coord."""
    import subprocess
    from conftest import build_dir, free_port
    binary = build_dir() / "hw" / "mooncake_node"
    if not binary.exists():
        pytest.skip(f"{binary} not built")
    addr = f"127.0.0.1:{free_port()}"
    node = subprocess.Popen([str(binary), "--role", "ep_coord", "--addr", addr,
                             "--conf", "world=2", "--no-stdin"], stdout=subprocess.DEVNULL)
    q = CTX.Queue()
    procs = [CTX.Process(target=_two_rank_main, args=(r, addr, q)) for r in range(2)]
    try:
        for p in procs:
            p.start()
        res = dict(q.get(timeout=60) for _ in range(2))
        # product of [1.5, -2] and [3, -4]; send/recv is one op (set = both)
        assert res[0] == ([4.5, 8.0], None, 0x3), res
        assert res[1] == ([4.5, 8.0], [0, 1, 2, 3], 0x3), res
        for p in procs:
            p.join(30)
            assert p.exitcode == 0
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
        node.terminate()
        assert node.wait(15) == 0
