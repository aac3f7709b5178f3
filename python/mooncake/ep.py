"""mooncake.ep: fault-tolerant collectives and MoE dispatch/combine.

Upstream Mooncake's `mooncake.pg` backend and `mooncake.ep` Buffer
(shared/spec/ep.md), over libmooncake's EP rank (api/include/mooncake/ep.h,
core/ep). Data are numpy arrays or torch CPU tensors (float32/float64/
int32/int64; MoE activations float32), used in place when C-contiguous.

    from mooncake import ep
    coord = ep.Coordinator(world_size)          # or: mooncake_node --role ep_coord
    pg = ep.ProcessGroup(rank, world_size, coord.address)
    pg.all_reduce(t)                             # t is summed over the survivors
    pg.get_active_ranks()                        # int32 [world], 0 = failed rank
    pg.recover_ranks([3])                        # a replacement process joined

Every collective returns within 2 x timeout_us whatever happens to peers;
all ranks that succeed agree on the set of contributors (`last_set`). A
rank that was dropped from an operation gets MooncakeEPError (local
failure, as upstream's `local_success=False`).

Differences from upstream, from the core: ops are numbered per process
group (a replacement process continues at the survivors' next id: pass
`start_op_id` or call `set_next_op_id`; in a torch "mooncake" group
recover_ranks/join_group hand it over through the c10d store); combine applies the core's
reference expert y = x * (0.1 e + 1) on the owner rank (the `x` argument of
combine is not sent), with the weights given to dispatch; AVG and bf16/fp8
are not supported.
"""
import time

import numpy as np

from . import _ep

OK = _ep.OK

_DTYPES = {
    np.dtype(np.float32): 0,
    np.dtype(np.float64): 1,
    np.dtype(np.int32): 2,
    np.dtype(np.int64): 3,
}
_OPS = {"sum": 0, "max": 1, "min": 2, "product": 3, "prod": 3}

_ERRORS = {
    _ep.ERR_INVALID: "invalid arguments",
    _ep.ERR_INACTIVE: "rank is not active in this group",
    _ep.ERR_DROPPED: "this rank (or the root) was dropped from the operation",
    _ep.ERR_TIMEOUT: "no decision reached this rank in time",
    _ep.ERR_INTERNAL: "internal error",
    _ep.ERR_MIXED: "the chunks of this large operation agreed on different sets of ranks",
}

REJECTED, APPLIED, APPLIED_WITH_DROPPED_RANKS = 0, 1, 2
_NEXT_OP_KEY = "mooncake_ep_next_op"


class MooncakeEPError(RuntimeError):
    """An EP operation failed on this rank; `code` is the library's code."""

    def __init__(self, code, what):
        detail = _ep.last_error()
        super().__init__(f"{what}: {_ERRORS.get(code, code)}" + (f" ({detail})" if detail else ""))
        self.code = code


def _torch():
    try:
        import torch
        return torch
    except ImportError:  # numpy only
        return None


class _View:
    """A C-contiguous numpy view of an array/tensor; write_back() copies
    into the original when a copy had to be made."""

    def __init__(self, obj, writable=False):
        self.obj = obj
        torch = _torch()
        self.is_torch = torch is not None and isinstance(obj, torch.Tensor)
        if self.is_torch:
            if obj.device.type != "cpu":
                raise ValueError("only CPU tensors are supported")
            t = obj.detach()
            self.copied = not t.is_contiguous()
            self.arr = t.contiguous().numpy()
        elif isinstance(obj, np.ndarray):
            self.copied = not obj.flags.c_contiguous
            self.arr = np.ascontiguousarray(obj)
        else:
            raise TypeError(f"expected a numpy array or torch tensor, not {type(obj).__name__}")
        if writable and not self.copied and not self.arr.flags.writeable:
            raise ValueError("output array is read-only")

    @property
    def dtype_code(self):
        code = _DTYPES.get(self.arr.dtype)
        if code is None:
            raise TypeError(f"unsupported dtype {self.arr.dtype} (float32, float64, int32, int64)")
        return code

    def write_back(self):
        if not self.copied:
            return
        if self.is_torch:
            import torch
            self.obj.copy_(torch.from_numpy(self.arr))
        else:
            self.obj[...] = self.arr


def _like(ref, arr):
    """arr as the same kind of object as ref (torch tensor or numpy)."""
    torch = _torch()
    if torch is not None and isinstance(ref, torch.Tensor):
        return torch.from_numpy(arr)
    return arr


def _mask(ranks, world):
    """A mask from an int32 active-ranks vector / list of 0/1 (None: all)."""
    if ranks is None:
        return 0
    vals = ranks.tolist() if hasattr(ranks, "tolist") else list(ranks)
    if len(vals) < world:
        raise ValueError(f"active_ranks has {len(vals)} entries, need {world}")
    m = 0
    for r, v in enumerate(vals[:world]):
        if v:
            m |= 1 << r
    return m


def _write_mask(ranks, mask, world):
    """Write the final set back into a caller's active_ranks vector."""
    if ranks is None:
        return
    for r in range(world):
        ranks[r] = 1 if mask >> r & 1 else 0


class Coordinator:
    """The group coordinator (membership, heartbeats, per-op agreement), run
    in this process. Standalone: `mooncake_node --role ep_coord --addr
    HOST:PORT --conf world=N`."""

    def __init__(self, world_size, listen="127.0.0.1:0", hb_timeout_ms=1000):
        self._c = _ep.Coordinator(world_size, listen, hb_timeout_ms)
        self.address = self._c.address

    def stop(self):
        self._c.stop()


class MooncakeBackendOptions:
    """pg_options: an int32 active_ranks vector the group keeps updated
    (overwritten on every operation), as upstream; timeout_us is the
    collective timeout of the torch.distributed backend."""

    def __init__(self, active_ranks=None, is_extension=False, max_group_size=None, timeout_us=5_000_000):
        self.active_ranks = active_ranks
        self.is_extension = is_extension
        self.max_group_size = max_group_size
        self.timeout_us = timeout_us


class ProcessGroup:
    """One rank of a fault-tolerant process group."""

    def __init__(self, rank, world_size, coordinator, listen_host="127.0.0.1", slot_bytes=0,
                 timeout_us=5_000_000, pg_options=None, wait_active_ms=30_000, start_op_id=None):
        self.rank = rank
        self.world_size = world_size
        self.timeout_us = timeout_us
        self.options = pg_options
        self.last_set = 0
        self._store = None  # the c10d store of a torch "mooncake" group
        self._r = _ep.Rank(rank, world_size, coordinator, listen_host, slot_bytes)
        if start_op_id is not None:
            self._r.set_next_op_id(start_op_id)
        if wait_active_ms:
            rc = self._r.wait_active(wait_active_ms)
            if rc != OK:
                self._r.close()
                raise MooncakeEPError(rc, "joining the group")
        self._sync_options()

    # ---- membership ----
    def _sync_options(self):
        if self.options is not None and self.options.active_ranks is not None:
            _write_mask(self.options.active_ranks, self._r.active_ranks(), self.world_size)

    def get_active_ranks(self):
        """int32 [world]: 1 = active in the last applied view."""
        m = self._r.active_ranks()
        arr = np.array([1 if m >> r & 1 else 0 for r in range(self.world_size)], dtype=np.int32)
        torch = _torch()
        return torch.from_numpy(arr) if torch is not None else arr

    def get_num_synced_ranks(self):
        return self._r.num_synced_ranks()

    def get_peer_state(self, ranks):
        return [bool(self._r.peer_state(r)) for r in ranks]

    def get_current_epoch(self):
        return self._r.epoch()

    def recover_ranks(self, ranks):
        """Activate `ranks` (they must have joined): APPLIED,
        APPLIED_WITH_DROPPED_RANKS or REJECTED."""
        return self._propose(ranks, True)

    activate_ranks = recover_ranks

    def deactivate_ranks(self, ranks):
        return self._propose(ranks, False)

    def _propose(self, ranks, activate):
        mask = 0
        for r in ranks:
            if not 0 <= r < self.world_size:
                raise ValueError(f"rank {r} outside the group")
            mask |= 1 << r
        if activate and self._store is not None:
            # the joiner continues at our next op id (join_group reads it)
            self._store.set(_NEXT_OP_KEY, str(self._r.next_op_id()))
        rc = self._r.propose(mask, activate)
        if rc < 0:
            raise MooncakeEPError(rc, "recover_ranks" if activate else "deactivate_ranks")
        self._sync_options()
        return rc

    def join_group(self, timeout_s=300):
        """A replacement (or deactivated) rank: wait until a survivor's
        recover_ranks made it active (upstream join_group, <= 300 s). In a
        torch "mooncake" group it then continues at the op id the
        recovering rank published in the c10d store."""
        deadline = time.monotonic() + timeout_s
        while not self._r.active_ranks() >> self.rank & 1:
            if time.monotonic() >= deadline:
                raise MooncakeEPError(_ep.ERR_TIMEOUT, "join_group")
            time.sleep(0.01)
        if self._store is not None:
            self._r.set_next_op_id(int(self._store.get(_NEXT_OP_KEY).decode()))
        self._sync_options()

    def next_op_id(self):
        return self._r.next_op_id()

    def set_next_op_id(self, op_id):
        self._r.set_next_op_id(op_id)

    def close(self):
        self._r.close()

    # ---- collectives ----
    def _done(self, res, what, p2p=False):
        rc, mask = res
        if not p2p:  # send/recv report no set (it is {self, peer} on success)
            self.last_set = mask
        self._sync_options()
        if rc != OK:
            raise MooncakeEPError(rc, what)
        return mask

    def _tmo(self, timeout_us):
        return self.timeout_us if timeout_us is None else timeout_us

    def all_reduce(self, tensor, op="sum", timeout_us=None):
        """In place: tensor = reduction over the agreed set of ranks."""
        v = _View(tensor, writable=True)
        opc = _OPS.get(op.lower() if isinstance(op, str) else str(op).split(".")[-1].lower())
        if opc is None:
            raise ValueError(f"unsupported reduction {op!r} (sum, max, min, product)")
        src = v.arr.copy()
        self._done(self._r.all_reduce(src, v.arr, v.arr.size, v.dtype_code, opc, self._tmo(timeout_us)),
                   "all_reduce")
        v.write_back()
        return tensor

    def all_gather(self, tensor_list, tensor, timeout_us=None):
        """tensor_list[r] = rank r's tensor (zeros for ranks outside the
        agreed set). tensor_list None: a new list is returned."""
        v = _View(tensor)
        out = np.empty((self.world_size,) + v.arr.shape, dtype=v.arr.dtype)
        self._done(self._r.all_gather(v.arr, out, v.arr.size, v.dtype_code, self._tmo(timeout_us)), "all_gather")
        if tensor_list is None:
            return [_like(tensor, out[r].copy()) for r in range(self.world_size)]
        for r in range(self.world_size):
            tensor_list[r][...] = _like(tensor, out[r])
        return tensor_list

    def broadcast(self, tensor, src=0, timeout_us=None):
        v = _View(tensor, writable=True)
        self._done(self._r.broadcast(v.arr, v.arr.size, v.dtype_code, src, self._tmo(timeout_us)), "broadcast")
        v.write_back()
        return tensor

    def reduce_scatter(self, output, input, op="sum", timeout_us=None):
        """input holds world blocks of output's size; output = reduction of
        block `rank` over the agreed set."""
        vi, vo = _View(input), _View(output, writable=True)
        if vi.arr.size != vo.arr.size * self.world_size:
            raise ValueError("input must hold world_size blocks of output's size")
        self._done(self._r.reduce_scatter(vi.arr, vo.arr, vo.arr.size, vo.dtype_code, _OPS[op],
                                          self._tmo(timeout_us)), "reduce_scatter")
        vo.write_back()
        return output

    def all_to_all_single(self, output, input, timeout_us=None):
        vi, vo = _View(input), _View(output, writable=True)
        if vi.arr.size != vo.arr.size or vi.arr.size % self.world_size:
            raise ValueError("input and output must have equal sizes divisible by world_size")
        self._done(self._r.all_to_all(vi.arr, vo.arr, vi.arr.size // self.world_size, vi.dtype_code,
                                      self._tmo(timeout_us)), "all_to_all")
        vo.write_back()
        return output

    def barrier(self, timeout_us=None):
        self._done(self._r.barrier(self._tmo(timeout_us)), "barrier")

    def send(self, tensor, dst, timeout_us=None):
        """Blocking send; the peer's matching recv is the same operation."""
        v = _View(tensor)
        self._done(self._r.send(v.arr, v.arr.size, v.dtype_code, dst, self._tmo(timeout_us)), "send", True)

    def recv(self, tensor, src, timeout_us=None):
        v = _View(tensor, writable=True)
        self._done(self._r.recv(v.arr, v.arr.size, v.dtype_code, src, self._tmo(timeout_us)), "recv", True)
        v.write_back()
        return tensor


def get_active_ranks(pg):
    """pg: a ProcessGroup or a torch "mooncake" dist group."""
    return getattr(pg, "mooncake_group", pg).get_active_ranks()


class _DispatchHandle:
    def __init__(self, op_id, cfg, src_info, layout_range, weights, tokens):
        self.op_id, self.cfg = op_id, cfg
        self.src_info, self.layout_range = src_info, layout_range
        self.weights, self.tokens = weights, tokens


class Buffer:
    """MoE expert-parallel buffer over a ProcessGroup (CPU reference path)."""

    def __init__(self, group, num_ep_buffer_bytes=0):
        group = getattr(group, "mooncake_group", group)  # a torch.distributed "mooncake" group
        if not isinstance(group, ProcessGroup):
            raise TypeError("group must be a mooncake.ep.ProcessGroup or a 'mooncake' torch.distributed group")
        self.group = group
        self.num_ep_buffer_bytes = num_ep_buffer_bytes

    @staticmethod
    def get_ep_buffer_size_hint(num_max_dispatch_tokens_per_rank, hidden, num_ranks, num_experts):
        return _ep.get_ep_buffer_size_hint(num_max_dispatch_tokens_per_rank, hidden, num_ranks, num_experts)

    def dispatch(self, x, topk_idx, active_ranks=None, num_max_dispatch_tokens_per_rank=None, num_experts=None,
                 timeout_us=-1, topk_weights=None, **_unused):
        """x float32 [T, H], topk_idx int64 [T, K]. Returns (recv_x
        [E_l, N*T_max*K, H], recv_count [E_l], handle, None, None); the
        caller's active_ranks is overwritten with the agreed set."""
        g = self.group
        vx, vi = _View(x), _View(topk_idx)
        if vx.arr.dtype != np.float32 or vi.arr.dtype != np.int64 or vx.arr.ndim != 2 or vi.arr.ndim != 2:
            raise TypeError("x must be float32 [T, H] and topk_idx int64 [T, K]")
        tokens, hidden = vx.arr.shape
        topk = vi.arr.shape[1]
        t_max = num_max_dispatch_tokens_per_rank or tokens
        if num_experts is None:
            raise ValueError("num_experts is required")
        w = np.ones((tokens, topk), np.float32) if topk_weights is None else \
            np.ascontiguousarray(_View(topk_weights).arr, dtype=np.float32)
        cfg = (t_max, hidden, num_experts, topk)
        el, rows = num_experts // g.world_size, g.world_size * t_max * topk
        recv_x = np.zeros((el, rows, hidden), np.float32)
        recv_count = np.zeros(el, np.int32)
        src_info = np.zeros((el, rows), np.int32)
        layout = np.zeros((el, g.world_size), np.int64)
        tmo = g.timeout_us if timeout_us is None or timeout_us < 0 else timeout_us
        rc, op_id, mask = g._r.dispatch(vx.arr, vi.arr, w, tokens, _mask(active_ranks, g.world_size), cfg, tmo,
                                        recv_x, recv_count, src_info, layout)
        g.last_set = mask
        _write_mask(active_ranks, mask, g.world_size)
        if rc != OK:
            raise MooncakeEPError(rc, "dispatch")
        h = _DispatchHandle(op_id, cfg, _like(x, src_info), _like(x, layout), w, tokens)
        return _like(x, recv_x), _like(x, recv_count), h, None, None

    def combine(self, x, topk_idx, topk_weights, active_ranks, timeout_us, handle, **_unused):
        """Returns (combined_x [T, H], None, None): sum over k of
        w[t,k] * expert_{e_k}(x_t) for experts of ranks in the agreed set
        (weights not renormalized). topk_weights must be those given to
        dispatch."""
        g = self.group
        if not isinstance(handle, _DispatchHandle):
            raise TypeError("handle must come from Buffer.dispatch")
        if topk_weights is not None:
            w = np.asarray(_View(topk_weights).arr, dtype=np.float32)
            if w.shape != handle.weights.shape or not np.array_equal(w, handle.weights):
                raise ValueError("combine: topk_weights differ from the ones given to dispatch")
        t_max, hidden = handle.cfg[0], handle.cfg[1]
        out = np.zeros((t_max, hidden), np.float32)
        tmo = g.timeout_us if timeout_us is None or timeout_us < 0 else timeout_us
        rc, mask = g._r.combine(handle.op_id, _mask(active_ranks, g.world_size), handle.cfg, tmo, out)
        g.last_set = mask
        _write_mask(active_ranks, mask, g.world_size)
        if rc != OK:
            raise MooncakeEPError(rc, "combine")
        ref = topk_idx if topk_idx is not None else x
        return _like(ref, out[:handle.tokens]), None, None


# ---- torch.distributed backend "mooncake" ----
#
# dist.init_process_group(backend="mooncake", rank=r, world_size=n,
#                         pg_options=MooncakeBackendOptions(active_ranks))
# Rank 0 runs the coordinator in its process (as upstream) and publishes its
# address in the c10d store; MC_EP_COORDINATOR names an external one
# instead (mooncake_node --role ep_coord), MC_EP_HOST the host ranks listen
# on (default 127.0.0.1), MC_EP_HB_TIMEOUT_MS the heartbeat timeout of the
# coordinator rank 0 runs (default 1000). Ops run synchronously and return completed works;
# a failed op raises MooncakeEPError from the dist call.
#
# Rejoin (as upstream): a replacement process for rank r != 0 runs
# init_process_group(..., pg_options=MooncakeBackendOptions(active_ranks,
# is_extension=True)) against the same store, the survivors see
# pg.get_peer_state(group, [r]) turn True and one of them calls
# pg.recover_ranks(group, [r]) (it publishes its next op id in the store),
# the replacement calls pg.join_group(group) (waits until active, takes
# that op id); from then on all ranks run the same collectives. torch's
# store barrier in init_process_group counts arrivals up to world_size
# once: a joiner takes its own arrival back first, so the barrier passes
# with the founders' count. Rank 0 cannot be replaced (it hosts the store
# and the coordinator, as upstream's rank 0).

_KEEP = []  # the Python halves of backend objects (torch holds only the C++ side)


def _register_torch_backend():
    torch = _torch()
    if torch is None:
        return
    import torch.distributed as dist
    if not dist.is_available() or hasattr(dist.Backend, "MOONCAKE"):
        return
    c10d = torch._C._distributed_c10d

    class _Work(dist._Work):
        def __init__(self, result):
            super().__init__()
            self._result = result

        def wait(self, timeout=None):
            return True

        def is_completed(self):
            return True

        def is_success(self):
            return True

        def result(self):
            return self._result

    red = {c10d.ReduceOp.SUM: "sum", c10d.ReduceOp.MAX: "max", c10d.ReduceOp.MIN: "min",
           c10d.ReduceOp.PRODUCT: "product"}

    class MooncakeProcessGroup(dist.ProcessGroup):
        def __init__(self, pg):
            super().__init__(pg.rank, pg.world_size)
            self.mooncake_group = pg

        def getBackendName(self):
            return "mooncake"

        def allreduce(self, tensors, opts=None):
            op = red.get(opts.reduceOp) if opts is not None else "sum"
            if op is None:
                raise ValueError(f"mooncake backend: unsupported reduction {opts.reduceOp}")
            for t in tensors:
                self.mooncake_group.all_reduce(t, op)
            return _Work(tensors)

        def allgather(self, output_tensors, input_tensors, opts=None):
            for outs, t in zip(output_tensors, input_tensors):
                self.mooncake_group.all_gather(outs, t)
            return _Work(output_tensors)

        def broadcast(self, tensors, opts=None):
            for t in tensors:
                self.mooncake_group.broadcast(t, opts.rootRank if opts is not None else 0)
            return _Work(tensors)

        def barrier(self, opts=None):
            self.mooncake_group.barrier()
            return _Work(None)

        def reduce_scatter(self, output_tensors, input_tensors, opts=None):
            for out, ins in zip(output_tensors, input_tensors):
                self.mooncake_group.reduce_scatter(out, torch.stack(list(ins)),
                                                   red[opts.reduceOp] if opts is not None else "sum")
            return _Work(output_tensors)

        def send(self, tensors, dst, tag=0):
            for t in tensors:
                self.mooncake_group.send(t, dst)
            return _Work(None)

        def recv(self, tensors, src, tag=0):
            for t in tensors:
                self.mooncake_group.recv(t, src)
            return _Work(tensors)

    def create(dist_opts, pg_options):
        import os
        rank, size, store = dist_opts.group_rank, dist_opts.group_size, dist_opts.store
        opts = pg_options if isinstance(pg_options, MooncakeBackendOptions) else MooncakeBackendOptions()
        addr = os.environ.get("MC_EP_COORDINATOR", "")
        host = os.environ.get("MC_EP_HOST", "127.0.0.1")
        coord = None
        if not addr:
            if rank == 0:
                coord = Coordinator(size, f"{host}:0", int(os.environ.get("MC_EP_HB_TIMEOUT_MS", "1000")))
                store.set("mooncake_ep_coordinator", coord.address)
            addr = store.get("mooncake_ep_coordinator").decode()
        if opts.is_extension:
            if rank == 0:
                raise ValueError("mooncake backend: rank 0 hosts the store and the coordinator and cannot rejoin")
            _barrier_take_back(store)
        pg = ProcessGroup(rank, size, addr, listen_host=host, timeout_us=opts.timeout_us, pg_options=opts,
                          wait_active_ms=0 if opts.is_extension else 30_000)
        pg.coordinator = coord
        pg._store = store
        obj = MooncakeProcessGroup(pg)
        _KEEP.append(obj)
        return obj

    def _barrier_take_back(store):
        """init_process_group's store barrier (torch 1.13 _store_based_barrier)
        waits until key store_based_barrier_key:<group count> on the
        default_pg store equals world_size; the founders brought it there.
        A joiner subtracts its arrival up front so its own add lands on
        world_size again."""
        c10d_mod = dist.distributed_c10d
        under = getattr(store, "underlying_store", None)
        prefix = getattr(c10d_mod, "STORE_BASED_BARRIER_PREFIX", None)
        if under is None or prefix is None or not hasattr(c10d_mod, "_group_count"):
            raise RuntimeError("mooncake backend: this torch's init barrier is unknown; rejoin via "
                               "mooncake.ep.ProcessGroup instead")
        under.add(f"{prefix}:{c10d_mod._group_count}", -1)

    dist.Backend.register_backend("mooncake", create, extended_api=True)


_register_torch_backend()

__all__ = ["Coordinator", "ProcessGroup", "MooncakeBackendOptions", "Buffer", "MooncakeEPError",
           "get_active_ranks", "REJECTED", "APPLIED", "APPLIED_WITH_DROPPED_RANKS"]
