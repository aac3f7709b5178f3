"""The torch.distributed backend "mooncake" (mooncake.pg): 4 processes run
dist.init_process_group(backend="mooncake", pg_options=
MooncakeBackendOptions(active_ranks)) with the coordinator inside rank 0,
then all_reduce / all_gather / broadcast / reduce_scatter / barrier and
Buffer(group=dist.group.WORLD) dispatch/combine; rank 3 is SIGKILLed and
the survivors' dist.all_reduce sums exactly ranks 0-2 while active_ranks
shows rank 3 as 0. A replacement process for rank 3 then runs
dist.init_process_group again (is_extension=True), rank 0 recovers it
(pg.recover_ranks), it calls pg.join_group, and a dist.all_reduce over all
four sums 1..4. Results come back over per-rank pipes (test_ep_harness)."""
import multiprocessing as mp
import socket
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.distributed as dist  # noqa: E402
from test_ep_harness import Results  # noqa: E402

WORLD = 4
CTX = mp.get_context("spawn")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_main(rank, port, q, ev_killed, ev_joined):
    try:
        import os
        os.environ["MC_EP_HB_TIMEOUT_MS"] = "3000"  # ASan builds under load are slow
        from mooncake import ep, pg
        active = torch.ones(WORLD, dtype=torch.int32)
        dist.init_process_group(backend="mooncake", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                                world_size=WORLD, pg_options=pg.MooncakeBackendOptions(active, timeout_us=1_000_000))
        res = {"backend": dist.get_backend()}
        t = torch.full((100,), float(rank + 1))
        dist.all_reduce(t)
        res["sum"] = t[0].item()
        outs = [torch.zeros(3, dtype=torch.int64) for _ in range(WORLD)]
        dist.all_gather(outs, torch.arange(3, dtype=torch.int64) + 10 * rank)
        res["gather"] = [o.tolist() for o in outs]
        b = torch.tensor([7.0, 8.0]) if rank == 2 else torch.zeros(2)
        dist.broadcast(b, src=2)
        res["bcast"] = b.tolist()
        rs = torch.zeros(2)
        dist.reduce_scatter(rs, [torch.full((2,), float(i * rank)) for i in range(WORLD)])
        res["rs"] = rs.tolist()
        t = torch.full((4,), 2.0 + rank)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        res["max"] = t[0].item()
        dist.barrier()
        res["active"] = active.tolist()
        q.send((rank, "phase1", res))
        if rank == 3:
            time.sleep(3600)  # SIGKILLed here
        ev_killed.wait(60)
        t = torch.full((100,), float(rank + 1))
        dist.all_reduce(t)  # rank 3 dead: returns within 2 x timeout over 0-2
        mg = dist.group.WORLD.mooncake_group
        res = {"sum": t[0].item(), "set": mg.last_set}
        # the coordinator deactivates the dead rank once its heartbeats stop
        deadline = time.monotonic() + 60
        while mg.get_active_ranks().tolist() != [1, 1, 1, 0] and time.monotonic() < deadline:
            time.sleep(0.02)
        dist.barrier()
        res["active"] = active.tolist()
        # MoE over the dist group: 8 experts, experts of rank 3 contribute nothing
        buf = ep.Buffer(group=dist.group.WORLD,
                        num_ep_buffer_bytes=ep.Buffer.get_ep_buffer_size_hint(4, 8, WORLD, 8))
        x = torch.ones(4, 8) * (rank + 1)
        idx = torch.tensor([[t_, 6] for t_ in range(4)], dtype=torch.int64)  # expert 6 lives on rank 3
        w = torch.full((4, 2), 0.5)
        recv_x, recv_count, handle, _, _ = buf.dispatch(x, idx, active, 4, 8, 1_000_000, topk_weights=w)
        out, _, _ = buf.combine(recv_x, idx, w, active, 1_000_000, handle)
        want = np.array([[0.5 * (rank + 1) * (0.1 * t_ + 1)] * 8 for t_ in range(4)], np.float32)
        res["moe"] = bool(np.allclose(out.numpy(), want, rtol=1e-5))
        res["moe_active"] = active.tolist()
        q.send((rank, "phase2", res))
        # a replacement rank 3 re-runs init_process_group; rank 0 recovers it
        deadline = time.monotonic() + 60
        while pg.get_peer_state(dist.group.WORLD, [3]) != [True] and time.monotonic() < deadline:
            time.sleep(0.02)
        ev_joined.wait(60)
        if rank == 0:
            q.send((rank, "recover", pg.recover_ranks(dist.group.WORLD, [3])))
        deadline = time.monotonic() + 60
        while pg.get_active_ranks(dist.group.WORLD).tolist() != [1] * WORLD and time.monotonic() < deadline:
            time.sleep(0.02)
        rejoined(rank, q, active)
    except Exception as e:
        q.send((rank, "error", repr(e)))


def rejoined(rank, q, active):
    """Every rank, old or replacement, after the recovery: one all_reduce
    over all four, then leave together (rank 0 hosts store and coordinator)."""
    t = torch.full((8,), float(rank + 1))
    dist.all_reduce(t)
    q.send((rank, "phase3", (t[0].item(), dist.group.WORLD.mooncake_group.last_set, active.tolist())))
    dist.barrier()


def replacement_main(rank, port, q, ev_joined):
    try:
        from mooncake import pg
        active = torch.zeros(WORLD, dtype=torch.int32)
        dist.init_process_group(backend="mooncake", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                                world_size=WORLD,
                                pg_options=pg.MooncakeBackendOptions(active, is_extension=True, timeout_us=1_000_000))
        q.send((rank, "joined", active.tolist()[rank]))  # not active before the recovery
        ev_joined.set()
        pg.join_group(dist.group.WORLD, 60)
        rejoined(rank, q, active)
    except Exception as e:
        q.send((rank, "error", repr(e)))


def test_dist_backend_kill_one_and_rejoin():
    port = free_port()
    res = Results(CTX)
    ev_killed, ev_joined = CTX.Event(), CTX.Event()
    procs = [res.spawn(rank_main, (r, port, Results.PIPE, ev_killed, ev_joined)) for r in range(WORLD)]
    try:
        p1 = res.by("phase1", range(WORLD))
        for r in range(WORLD):
            assert p1[r] == {"backend": "mooncake", "sum": 10.0,
                             "gather": [[0, 1, 2], [10, 11, 12], [20, 21, 22], [30, 31, 32]],
                             "bcast": [7.0, 8.0], "rs": [6.0 * r] * 2, "max": 5.0, "active": [1, 1, 1, 1]}
        procs[3].kill()
        procs[3].join(10)
        ev_killed.set()
        p2 = res.by("phase2", [0, 1, 2])
        for r in range(3):
            assert p2[r] == {"sum": 6.0, "set": 0x7, "active": [1, 1, 1, 0], "moe": True,
                             "moe_active": [1, 1, 1, 0]}, p2[r]
        procs.append(res.spawn(replacement_main, (3, port, Results.PIPE, ev_joined)))
        assert res.by("joined", [3]) == {3: 0}
        assert res.by("recover", [0]) == {0: 1}  # APPLIED
        p3 = res.by("phase3", range(WORLD))
        for r in range(WORLD):
            assert p3[r] == (10.0, 0xF, [1, 1, 1, 1]), p3
        for p in procs[:3] + procs[4:]:
            p.join(30)
            assert p.exitcode == 0
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
