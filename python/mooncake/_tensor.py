"""The tensor API family of mooncake.store (spec store.md §8.3, §8.5),
written over the store's byte and zero-copy methods.

Object format (§8.5, little-endian): a 304-byte TensorMetadata (40-byte
TensorObjectHeader + 264-byte layout) followed by the data in C order.
`pack_metadata`/`parse_metadata` are the only code that knows the layout;
every reader goes through `parse_metadata`'s full validation.

torch 1.13 (Debian) has no uint16/uint32/uint64 or float8 dtypes: tensors of
those types cannot exist here, and stored objects of those types read back
as None (their headers still validate).
"""
import ctypes as _ctypes
import json as _json
import os as _os
import struct as _struct
from collections import namedtuple as _namedtuple

import numpy as _np

try:
    import torch as _torch
except ImportError:  # the store works without torch; tensor calls then return errors
    _torch = None

INVALID_PARAMS = -600
FILE_NOT_FOUND = -1100
FILE_OPEN_FAIL = -1101
FILE_WRITE_FAIL = -1103

MAGIC = 0x4D4F4F4E
VERSION = 1
METADATA_SIZE = 304
MAX_DIMS = 8
MAX_AXES = 4
NR_DTYPES = 15
LAYOUT_FULL, LAYOUT_SHARD = 0, 1
AXIS_TP = 1

_HEADER = _struct.Struct("<IHHiiIIQQ")          # 40 bytes at 0
_LAYOUT = _struct.Struct("<8q8qII")             # 136 bytes at 40
_AXIS = _struct.Struct("<iiiiiiq")              # 32 bytes each, 4 at 176
assert _HEADER.size == 40 and _LAYOUT.size == 136 and _AXIS.size == 32
assert 40 + _LAYOUT.size + MAX_AXES * _AXIS.size == METADATA_SIZE

# TensorDtype code -> (element size, numpy storage dtype, torch dtype name).
# Half types travel as int16 and FP8 as uint8, then are re-viewed: torch 1.13
# cannot wrap numpy uint16 arrays.
_DTYPES = {
    0: (4, _np.float32, "float32"), 1: (8, _np.float64, "float64"),
    2: (1, _np.int8, "int8"), 3: (1, _np.uint8, "uint8"),
    4: (2, _np.int16, "int16"), 5: (2, _np.uint16, "uint16"),
    6: (4, _np.int32, "int32"), 7: (4, _np.uint32, "uint32"),
    8: (8, _np.int64, "int64"), 9: (8, _np.uint64, "uint64"),
    10: (1, _np.bool_, "bool"), 11: (2, _np.int16, "float16"),
    12: (2, _np.int16, "bfloat16"), 13: (1, _np.uint8, "float8_e4m3fn"),
    14: (1, _np.uint8, "float8_e5m2"),
}
_REVIEW = {11, 12, 13, 14}   # storage array is re-viewed as the real dtype


def _torch_dtype(code):
    return getattr(_torch, _DTYPES[code][2], None) if _torch is not None else None


def dtype_code(dtype):
    """TensorDtype code of a torch dtype, or None if unsupported."""
    for code, (_, _, name) in _DTYPES.items():
        td = getattr(_torch, name, None)
        if td is not None and td == dtype:
            return code
    return None


Axis = _namedtuple("Axis", "kind axis_index shard_rank shard_count split_dim reserved0 reserved1")
Metadata = _namedtuple("Metadata", "dtype ndim layout_kind data_offset data_bytes global_shape local_shape axes")


def pack_metadata(dtype, global_shape, local_shape, layout_kind=LAYOUT_FULL, axes=(), data_bytes=None):
    """The 304 metadata bytes; data_bytes defaults to numel(local) * size."""
    ndim = len(local_shape)
    assert ndim == len(global_shape) and ndim <= MAX_DIMS and len(axes) <= MAX_AXES
    if data_bytes is None:
        data_bytes = _numel(local_shape) * _DTYPES[dtype][0]
    pad = [-1] * (MAX_DIMS - ndim)
    out = bytearray(METADATA_SIZE)
    _HEADER.pack_into(out, 0, MAGIC, VERSION, METADATA_SIZE, dtype, ndim, layout_kind, 0,
                      METADATA_SIZE, data_bytes)
    _LAYOUT.pack_into(out, 40, *(list(global_shape) + pad), *(list(local_shape) + pad), len(axes), 0)
    for i, ax in enumerate(axes):
        _AXIS.pack_into(out, 176 + i * 32, *ax)
    return bytes(out)


def parse_metadata(head, total):
    """Validate the first METADATA_SIZE bytes `head` of an object of `total`
    bytes (spec §8.5 reader rules). Returns Metadata; ValueError if invalid."""
    if total < METADATA_SIZE or len(head) < METADATA_SIZE:
        raise ValueError("tensor object shorter than its metadata")
    magic, version, hsize, dtype, ndim, kind, _flags, off, nbytes = _HEADER.unpack_from(head, 0)
    if magic != MAGIC or version != VERSION or hsize != METADATA_SIZE:
        raise ValueError("bad tensor header (magic/version/header_size)")
    if not 0 <= dtype < NR_DTYPES or not 0 <= ndim <= MAX_DIMS or kind > LAYOUT_SHARD:
        raise ValueError("bad dtype, ndim or layout kind")
    layout = _LAYOUT.unpack_from(head, 40)
    gshape, lshape, axis_count = layout[:8], layout[8:16], layout[16]
    if axis_count > MAX_AXES:
        raise ValueError("bad axis count")
    if not METADATA_SIZE <= off <= total or nbytes != total - off:
        raise ValueError("bad data offset or size")
    for shape in (gshape, lshape):
        if any(d < 0 for d in shape[:ndim]) or any(d != -1 for d in shape[ndim:]):
            raise ValueError("bad shape")
    if nbytes != _numel(lshape[:ndim]) * _DTYPES[dtype][0]:
        raise ValueError("data size does not match shape and dtype")
    axes = []
    for i in range(axis_count):
        ax = Axis(*_AXIS.unpack_from(head, 176 + i * 32))
        if not (0 <= ax.kind <= 4 and ax.shard_count > 0 and 0 <= ax.shard_rank < ax.shard_count
                and -1 <= ax.split_dim < ndim):
            raise ValueError("bad layout axis")
        axes.append(ax)
    return Metadata(dtype, ndim, kind, off, nbytes, tuple(gshape[:ndim]), tuple(lshape[:ndim]), tuple(axes))


def _numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


# ---- tensor <-> bytes ----

def _is_tensor(t):
    return _torch is not None and isinstance(t, _torch.Tensor)


def tensor_bytes(t):
    """(code, contiguous CPU tensor, uint8 numpy view of its data) or None
    when t is not a tensor or its dtype/rank is unsupported."""
    if not _is_tensor(t):
        return None
    code = dtype_code(t.dtype)
    if code is None or t.dim() > MAX_DIMS:
        return None
    c = t.detach().cpu().contiguous()
    raw = c.reshape(-1).view(_torch.uint8).numpy() if c.numel() else _np.empty(0, _np.uint8)
    return code, c, raw


def serialize(t, global_shape=None, layout_kind=LAYOUT_FULL, axes=()):
    """Object bytes (bytearray) of tensor t; None if unsupported."""
    tb = tensor_bytes(t)
    if tb is None:
        return None
    code, c, raw = tb
    shape = tuple(c.shape)
    meta = pack_metadata(code, shape if global_shape is None else global_shape, shape, layout_kind, axes,
                         raw.nbytes)
    out = bytearray(METADATA_SIZE + raw.nbytes)
    out[:METADATA_SIZE] = meta
    out[METADATA_SIZE:] = raw.data
    return out


def tensor_from(buf, meta, copy):
    """Tensor of meta's dtype/local shape over buf[data_offset:] (a writable
    buffer object); copy=False views buf. None if torch lacks the dtype."""
    td = _torch_dtype(meta.dtype)
    if td is None:
        return None
    shape = meta.local_shape
    if meta.data_bytes == 0:
        return _torch.empty(shape, dtype=td)
    _, np_storage, _ = _DTYPES[meta.dtype]
    arr = _np.frombuffer(buf, dtype=np_storage, count=_numel(shape), offset=meta.data_offset)
    if copy:
        arr = arr.copy()
    t = _torch.from_numpy(arr.reshape(shape))
    return t.view(td) if meta.dtype in _REVIEW else t


def deserialize(data, copy=True):
    """Tensor of an object held in a bytes-like `data` (a view of it when
    copy=False and data is writable); None if malformed."""
    try:
        mv = memoryview(data).cast("B")
    except TypeError:
        return None
    try:
        meta = parse_metadata(mv[:METADATA_SIZE], mv.nbytes)
    except ValueError:
        return None
    return tensor_from(mv, meta, copy or mv.readonly)


def _address_view(ptr, size):
    """A writable ctypes array over [ptr, ptr+size) (caller's memory)."""
    return (_ctypes.c_ubyte * size).from_address(ptr)


def read_memory(ptr, size):
    """Copy of [ptr, ptr+size) of this process, or None when the range is not
    readable: reading /proc/self/mem fails with an error instead of faulting
    on a bad caller pointer."""
    if not isinstance(ptr, int) or not isinstance(size, int) or ptr <= 0 or size < 0 or ptr + size >= 1 << 63:
        return None
    try:
        fd = _os.open("/proc/self/mem", _os.O_RDONLY)
    except OSError:
        return None
    try:
        out, got = bytearray(size), 0
        while got < size:
            chunk = _os.pread(fd, min(size - got, 1 << 30), ptr + got)
            if not chunk:
                return None
            out[got:got + len(chunk)] = chunk
            got += len(chunk)
        return out
    except OSError:
        return None
    finally:
        _os.close(fd)


def write_memory(ptr, data):
    """Copy data to [ptr, ptr+len) of this process; False (nothing written
    past the failure) when the range is not mapped, instead of faulting."""
    if not isinstance(ptr, int) or ptr <= 0 or ptr + len(data) >= 1 << 63:
        return False
    try:
        fd = _os.open("/proc/self/mem", _os.O_WRONLY)
    except OSError:
        return False
    try:
        mv, done = memoryview(data), 0
        while done < len(mv):
            n = _os.pwrite(fd, mv[done:done + (1 << 30)], ptr + done)
            if n <= 0:
                return False
            done += n
        return True
    except OSError:
        return False
    finally:
        _os.close(fd)


def parse_at(ptr, size):
    """Metadata of the object [ptr, ptr+size) of caller memory; None if the
    memory is unreadable or the object invalid."""
    head = read_memory(ptr, METADATA_SIZE) if size >= METADATA_SIZE else None
    if head is None:
        return None
    try:
        return parse_metadata(head, size)
    except ValueError:
        return None


def tp_shards(t, tp_size, split_dim):
    """[(shard tensor, axes)] of a uniform TP split; None if impossible."""
    if not _is_tensor(t) or dtype_code(t.dtype) is None or t.dim() > MAX_DIMS:
        return None
    if isinstance(split_dim, bool) or not isinstance(split_dim, int) or not 0 <= split_dim < t.dim():
        return None
    dim = t.shape[split_dim]
    if dim % tp_size:
        return None
    step = dim // tp_size
    return [(t.narrow(split_dim, r * step, step), (Axis(AXIS_TP, 0, r, tp_size, split_dim, 0, step),))
            for r in range(tp_size)]


def tp_key(key, rank):
    if isinstance(key, (bytes, bytearray)):
        return bytes(key) + b"_tp_%d" % rank
    return f"{key}_tp_{rank}"


# ---- safetensors (8-byte LE header length, JSON header, data) ----

_ST_NAMES = {0: "F32", 1: "F64", 2: "I8", 3: "U8", 4: "I16", 5: "U16", 6: "I32", 7: "U32", 8: "I64",
             9: "U64", 10: "BOOL", 11: "F16", 12: "BF16", 13: "F8_E4M3", 14: "F8_E5M2"}
_ST_CODES = {v: k for k, v in _ST_NAMES.items()}


def safetensors_bytes(name, t):
    tb = tensor_bytes(t)
    if tb is None:
        return None
    code, c, raw = tb
    if isinstance(name, (bytes, bytearray)):
        name = bytes(name).decode("utf-8", "replace")
    header = _json.dumps({name: {"dtype": _ST_NAMES[code], "shape": list(c.shape),
                                 "data_offsets": [0, raw.nbytes]}}, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)         # data starts 8-aligned, as the reference writer does
    return _struct.pack("<Q", len(header)) + header + raw.tobytes()


def safetensors_load(data, name=None):
    """(name, tensor) from safetensors bytes: `name` if present, else the
    first tensor (lowest data offset). None if the file is malformed: as the
    reference reader, every entry must be valid and the entries must tile
    the data section exactly (no gaps, overlaps or trailing bytes)."""
    if len(data) < 8:
        return None
    (hlen,) = _struct.unpack_from("<Q", data, 0)
    if hlen > len(data) - 8:
        return None
    try:
        header = _json.loads(bytes(data[8:8 + hlen]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(header, dict):
        return None
    entries = {}
    for k, e in header.items():
        if k == "__metadata__":
            continue
        try:
            code = _ST_CODES[e["dtype"]]
            shape = [int(d) for d in e["shape"]]
            lo, hi = (int(x) for x in e["data_offsets"])
        except (KeyError, TypeError, ValueError):
            return None
        if len(shape) > MAX_DIMS or any(d < 0 for d in shape) or hi - lo != _numel(shape) * _DTYPES[code][0]:
            return None
        entries[k] = (lo, hi, code, shape)
    end = 0
    for lo, hi, _, _ in sorted(entries.values()):
        if lo != end:
            return None
        end = hi
    if not entries or 8 + hlen + end != len(data):
        return None
    if name not in entries:
        name = min(entries, key=lambda k: entries[k][:2])
    lo, hi, code, shape = entries[name]
    base = 8 + hlen
    obj = bytearray(pack_metadata(code, shape, shape)) + data[base + lo:base + hi]
    t = deserialize(obj, copy=False)
    return None if t is None else (name, t)


# ---- the store methods ----

_CFG_FIELDS = ("replica_num", "with_hard_pin", "prefer_alloc_in_same_node", "preferred_segment",
               "preferred_segments", "soft_pin_action", "soft_pin_ttl_ms", "nof_replica_num",
               "dfs_replica_num", "preferred_nof_segments", "data_type")


def _config_for(config, i):
    """config for the i-th key of a batch written one key at a time: its
    group_ids narrowed to that key's id."""
    if config is None or getattr(config, "group_ids", None) is None:
        return config
    one = type(config)()
    for f in _CFG_FIELDS:
        setattr(one, f, getattr(config, f))
    ids = config.group_ids
    one.group_ids = [ids[i]] if i < len(ids) else list(ids)   # a wrong count stays wrong (-600)
    return one


def _sized(*seqs):
    """True when every argument is a sequence of the first one's length."""
    try:
        n = len(seqs[0])
        return all(len(s) == n for s in seqs[1:])
    except TypeError:
        return False


class LegacyTensorMixin:
    """Tensor methods of MooncakeDistributedStore (spec §8.3 "Tensor API").
    Status codes: 0 or a negative ErrorCode; -600 for bad input; reads
    return None per failed key."""

    # -- helpers over the byte API --

    def _write_objs(self, keys, objs, config, upsert):
        """Store objs[i] under keys[i] (None objs: -600). Per-key codes; one
        batch call, then per-key calls only if the batch reported an error
        (put keeps an existing key, upsert is idempotent)."""
        codes = [INVALID_PARAMS if o is None else 0 for o in objs]
        idx = [i for i, o in enumerate(objs) if o is not None]
        if not idx:
            return codes
        if len(idx) == len(objs) and (config is None or getattr(config, "group_ids", None) is None):
            batch = self.upsert_batch if upsert else self.put_batch
            if batch(list(keys), objs, config) == 0:
                return codes
        one = self.upsert if upsert else self.put
        for i in idx:
            codes[i] = one(keys[i], objs[i], _config_for(config, i))
        return codes

    def _write_tp(self, base_keys, tensors, tp_size, split_dim, config, upsert):
        """Every TP shard of every tensor; per base key 0 or its first error."""
        keys, objs, owner = [], [], []
        codes = [0] * len(base_keys)
        for b, (key, t) in enumerate(zip(base_keys, tensors)):
            shards = tp_shards(t, tp_size, split_dim)
            if shards is None:
                codes[b] = INVALID_PARAMS
                continue
            for r, (shard, axes) in enumerate(shards):
                keys.append(tp_key(key, r))
                objs.append(serialize(shard, tuple(t.shape), LAYOUT_SHARD, axes))
                owner.append(b)
        for b, rc in zip(owner, self._write_objs(keys, objs, None if config is None else config, upsert)
                         if keys else []):
            if rc and not codes[b]:
                codes[b] = rc
        return codes

    def _read_objs(self, keys):
        """Tensor (a copy) or None per key."""
        out = []
        for h in self.batch_get_buffer(list(keys)) if keys else []:
            out.append(None if h is None else deserialize(h, copy=True))
            del h
        return out

    def _read_into(self, key, buffer_ptr, size):
        n = self.get_into(key, buffer_ptr, size)
        return self._view_of(buffer_ptr, n)

    @staticmethod
    def _view_of(buffer_ptr, n):
        """Tensor viewing the n object bytes get_into left at buffer_ptr."""
        if n < METADATA_SIZE:
            return None
        buf = _address_view(buffer_ptr, n)
        try:
            meta = parse_metadata(_ctypes.string_at(buffer_ptr, METADATA_SIZE), n)
        except ValueError:
            return None
        return tensor_from(buf, meta, copy=False)

    def _not_set_up(self):
        return self.get_hostname() == "" and self.health_check() == 1

    # -- whole tensors --

    def put_tensor(self, key, tensor):
        """Serialize tensor (made contiguous) and put it; int."""
        return self.pub_tensor(key, tensor, None)

    def pub_tensor(self, key, tensor, config=None):
        obj = serialize(tensor)
        return INVALID_PARAMS if obj is None else self.put(key, obj, config)

    def upsert_tensor(self, key, tensor):
        return self.upsert_pub_tensor(key, tensor, None)

    def upsert_pub_tensor(self, key, tensor, config=None):
        obj = serialize(tensor)
        return INVALID_PARAMS if obj is None else self.upsert(key, obj, config)

    def get_tensor(self, key):
        """The stored tensor (CPU, owns a copy) or None."""
        h = self.get_buffer(key)
        return None if h is None else deserialize(h, copy=True)

    def batch_put_tensor(self, keys, tensors_list):
        return self.batch_pub_tensor(keys, tensors_list, None)

    def batch_pub_tensor(self, keys, tensors_list, config=None):
        """list[int]; length mismatch: every entry -600."""
        if not _sized(keys, tensors_list):
            return [INVALID_PARAMS] * len(keys)
        return self._write_objs(keys, [serialize(t) for t in tensors_list], config, False)

    def batch_upsert_tensor(self, keys, tensors_list):
        return self.batch_upsert_pub_tensor(keys, tensors_list, None)

    def batch_upsert_pub_tensor(self, keys, tensors_list, config=None):
        if not _sized(keys, tensors_list):
            return [INVALID_PARAMS] * len(keys)
        return self._write_objs(keys, [serialize(t) for t in tensors_list], config, True)

    def batch_get_tensor(self, keys):
        """list[tensor or None]."""
        return self._read_objs(keys)

    # -- tensor parallelism (shards stored as key_tp_<rank>) --

    def put_tensor_with_tp(self, key, tensor, tp_rank=0, tp_size=1, split_dim=0):
        """tp_size <= 1: put_tensor. Else store all tp_size uniform shards
        along split_dim (tp_rank is ignored); not divisible: -600."""
        return self.pub_tensor_with_tp(key, tensor, None, tp_rank, tp_size, split_dim)

    def pub_tensor_with_tp(self, key, tensor, config=None, tp_rank=0, tp_size=1, split_dim=0):
        if tp_size <= 1:
            return self.pub_tensor(key, tensor, config)
        return self._write_tp([key], [tensor], tp_size, split_dim, config, False)[0]

    def batch_put_tensor_with_tp(self, base_keys, tensors_list, tp_rank=0, tp_size=1, split_dim=0):
        return self.batch_pub_tensor_with_tp(base_keys, tensors_list, None, tp_rank, tp_size, split_dim)

    def batch_pub_tensor_with_tp(self, base_keys, tensors_list, config=None, tp_rank=0, tp_size=1, split_dim=0):
        if tp_size <= 1:
            return self.batch_pub_tensor(base_keys, tensors_list, config)
        if not _sized(base_keys, tensors_list):
            return [INVALID_PARAMS] * len(base_keys)
        return self._write_tp(base_keys, tensors_list, tp_size, split_dim, config, False)

    def get_tensor_with_tp(self, key, tp_rank=0, tp_size=1, split_dim=0):
        return self.get_tensor(key if tp_size <= 1 else tp_key(key, tp_rank))

    def batch_get_tensor_with_tp(self, base_keys, tp_rank=0, tp_size=1):
        return self._read_objs(base_keys if tp_size <= 1 else [tp_key(k, tp_rank) for k in base_keys])

    # -- zero-copy reads: the tensor views the caller's buffer --

    def get_tensor_into(self, key, buffer_ptr, size):
        """get_into, then a tensor viewing buffer_ptr's data (no copy); None
        on any failure."""
        return self._read_into(key, buffer_ptr, size)

    def batch_get_tensor_into(self, keys, buffer_ptrs, sizes):
        """list of tensor/None; argument errors (lengths differ, not set up):
        a list of -600 per key."""
        if not _sized(keys, buffer_ptrs, sizes) or self._not_set_up():
            return [INVALID_PARAMS] * len(keys)
        if not keys:
            return []
        lens = self.batch_get_into(list(keys), list(buffer_ptrs), list(sizes))
        return [self._view_of(p, n) for p, n in zip(buffer_ptrs, lens)]

    def get_tensor_with_tp_into(self, key, buffer_ptr, size, tp_rank=0, tp_size=1, split_dim=0):
        return self._read_into(key if tp_size <= 1 else tp_key(key, tp_rank), buffer_ptr, size)

    def batch_get_tensor_with_tp_into(self, base_keys, buffer_ptrs, sizes, tp_rank=0, tp_size=1):
        keys = list(base_keys) if tp_size <= 1 else [tp_key(k, tp_rank) for k in base_keys]
        return self.batch_get_tensor_into(keys, buffer_ptrs, sizes)

    # -- zero-copy writes: buffers hold [TensorMetadata][data] --

    def put_tensor_from(self, key, buffer_ptr, size):
        """Validate the object at buffer_ptr (size = its exact length; -600
        if malformed) and put_from it."""
        if parse_at(buffer_ptr, size) is None:
            return INVALID_PARAMS
        return self.put_from(key, buffer_ptr, size)

    def upsert_tensor_from(self, key, buffer_ptr, size):
        if parse_at(buffer_ptr, size) is None:
            return INVALID_PARAMS
        return self.upsert_from(key, buffer_ptr, size)

    def batch_put_tensor_from(self, keys, buffer_ptrs, sizes):
        return self._batch_from(keys, buffer_ptrs, sizes, self.batch_put_from)

    def batch_upsert_tensor_from(self, keys, buffer_ptrs, sizes):
        return self._batch_from(keys, buffer_ptrs, sizes, self.batch_upsert_from)

    def _batch_from(self, keys, buffer_ptrs, sizes, call):
        if not _sized(keys, buffer_ptrs, sizes):
            return [INVALID_PARAMS] * len(keys)
        codes = [0 if parse_at(p, n) is not None else INVALID_PARAMS for p, n in zip(buffer_ptrs, sizes)]
        ok = [i for i, c in enumerate(codes) if c == 0]
        if ok:
            for i, rc in zip(ok, call([keys[i] for i in ok], [buffer_ptrs[i] for i in ok],
                                      [sizes[i] for i in ok])):
                codes[i] = rc
        return codes

    def put_tensor_with_tp_from(self, key, buffer_ptr, size, tp_rank=0, tp_size=1, split_dim=0):
        """The full tensor in the buffer is split into all tp_size shards."""
        if tp_size <= 1:
            return self.put_tensor_from(key, buffer_ptr, size)
        return self.batch_put_tensor_with_tp_from([key], [buffer_ptr], [size], tp_rank, tp_size, split_dim)[0]

    def batch_put_tensor_with_tp_from(self, base_keys, buffer_ptrs, sizes, tp_rank=0, tp_size=1, split_dim=0):
        if tp_size <= 1:
            return self.batch_put_tensor_from(base_keys, buffer_ptrs, sizes)
        if not _sized(base_keys, buffer_ptrs, sizes):
            return [INVALID_PARAMS] * len(base_keys)
        tensors = []
        for p, n in zip(buffer_ptrs, sizes):
            # a checked copy of the caller's object; shards are serialized copies anyway
            data = read_memory(p, n) if isinstance(n, int) and n >= METADATA_SIZE else None
            tensors.append(None if data is None else deserialize(data, copy=False))
        return self._write_tp(base_keys, tensors, tp_size, split_dim, None, False)

    # -- reads into existing tensors --

    def get_tensor_into_cuda(self, key, tensor):
        """Copy the stored tensor's data into `tensor` (same dtype and number
        of elements, contiguous; any device torch can copy to). Returns the
        bytes copied or a negative code (-600 bad destination, the read's
        error otherwise)."""
        return self.batch_get_tensor_into_cuda([key], [tensor])[0]

    def batch_get_tensor_into_cuda(self, keys, tensors_list):
        if not _sized(keys, tensors_list):
            return [INVALID_PARAMS] * len(keys)
        out = []
        for key, h, dst in zip(keys, self.batch_get_buffer(list(keys)) if keys else [], tensors_list):
            out.append(self._copy_into(key, h, dst))
            del h
        return out

    def _copy_into(self, key, handle, dst):
        if not _is_tensor(dst) or not dst.is_contiguous():
            return INVALID_PARAMS
        if handle is None:
            rc = self.get_size(key)            # why the read failed (-704 absent, ...)
            return rc if rc < 0 else INVALID_PARAMS
        src = deserialize(handle, copy=False)
        if src is None or src.dtype != dst.dtype or src.numel() != dst.numel():
            return INVALID_PARAMS
        dst.copy_(src.reshape(dst.shape))
        return src.numel() * src.element_size()

    # -- safetensors files --

    def save_tensor_to_safetensor(self, key, file_name=None):
        """Write get_tensor(key) to a safetensors file (default name: key);
        0, -1100 if key holds no tensor, -1101/-1103 on open/write errors."""
        t = self.get_tensor(key)
        name = key.decode("utf-8", "replace") if isinstance(key, (bytes, bytearray)) else key
        data = None if t is None else safetensors_bytes(name, t)
        if data is None:
            return FILE_NOT_FOUND
        try:
            f = open(key if file_name is None else file_name, "wb")
        except (OSError, TypeError, ValueError):
            return FILE_OPEN_FAIL
        try:
            with f:
                f.write(data)
        except OSError:
            return FILE_WRITE_FAIL
        return 0

    def load_tensor_from_safetensor(self, key=None, file_name=None):
        """Load `key`'s tensor (else the file's first) from a safetensors file
        and put it under key (default: file_name). The tensor or None.
        One positional argument is the file name."""
        if file_name is None:
            key, file_name = None, key
        if file_name is None:
            return None
        try:
            with open(file_name, "rb") as f:
                data = f.read()
        except (OSError, TypeError, ValueError):
            return None
        key = file_name if key is None else key
        got = safetensors_load(data, key)
        if got is None:
            return None
        t = got[1]
        return t if self.put_tensor(key, t) == 0 else None


# ---- module-level helpers (upstream's private exports) ----

def _serialize_tensor(t):
    """(metadata bytes, data pointer, nbytes, owner): the object is the
    metadata followed by nbytes at the pointer, kept alive by owner."""
    tb = tensor_bytes(t)
    if tb is None:
        raise ValueError("unsupported tensor")
    code, c, raw = tb
    meta = pack_metadata(code, tuple(c.shape), tuple(c.shape), data_bytes=raw.nbytes)
    return meta, (c.data_ptr() if raw.nbytes else 0), raw.nbytes, c


def _tensor_metadata_size():
    return METADATA_SIZE


def _deserialize_tensor(data):
    t = deserialize(data, copy=True)
    if t is None:
        raise ValueError("malformed tensor object")
    return t


# ---- unified parallel tensor IO (spec §8.3 [optional]) ----
#
# Storage keys: a single TP axis keeps the legacy key `<key>_tp_<rank>`
# (shard input, as put_tensor_with_tp's shards); any other layout is
# `<key>__<kind>_<rank>of<size>[_sd<d>][_eid<e>][_sid<s>]...` per axis in
# the given order; a writer_partition (rank, size, split_dim) of a full
# tensor is `<key>__writer_<rank>of<size>_sd<d>`. Layouts with a TP axis
# and other axes take the full tensor and store its uniform TP shard.

_KINDS = {"dp": 0, "tp": 1, "ep": 2, "pp": 3}
_KIND_NAMES = {v: k for k, v in _KINDS.items()}
_MODES = ("as_stored", "shard", "full")


class ParallelAxis:
    """One axis of a shard identity: kind ("tp", "dp", "ep", "pp"), rank,
    size, split_dim (TP), expert_id (EP), stage_id (PP)."""

    def __init__(self, kind="tp", rank=0, size=1, split_dim=None, expert_id=None, stage_id=None):
        self.kind, self.rank, self.size = kind, rank, size
        self.split_dim, self.expert_id, self.stage_id = split_dim, expert_id, stage_id

    def __repr__(self):
        return (f"ParallelAxis(kind={self.kind!r}, rank={self.rank}, size={self.size}, split_dim={self.split_dim}, "
                f"expert_id={self.expert_id}, stage_id={self.stage_id})")


class TensorParallelism:
    """Ordered list of ParallelAxis identifying a stored or requested shard."""

    def __init__(self, axes=None):
        self.axes = list(axes or [])

    def __repr__(self):
        return f"TensorParallelism(axes={self.axes!r})"


class ReadTarget:
    """mode: "as_stored" (default), "shard" (needs parallelism) or "full"."""

    def __init__(self, mode="as_stored", parallelism=None):
        self.mode, self.parallelism = mode, parallelism

    def __repr__(self):
        return f"ReadTarget(mode={self.mode!r}, parallelism={self.parallelism!r})"


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _axes_of(parallelism):
    """Validated [(kind code, rank, size, split_dim|None, id|None)] or None."""
    axes = getattr(parallelism, "axes", None)
    if not isinstance(axes, (list, tuple)) or not 1 <= len(axes) <= MAX_AXES:
        return None
    out, seen = [], set()
    for a in axes:
        kind = _KINDS.get(str(getattr(a, "kind", "")).lower())
        rank, size = getattr(a, "rank", None), getattr(a, "size", None)
        sd, eid, sid = getattr(a, "split_dim", None), getattr(a, "expert_id", None), getattr(a, "stage_id", None)
        if kind is None or kind in seen or not (_int(rank) and _int(size) and 0 <= rank < size):
            return None
        if any(v is not None and not _int(v) for v in (sd, eid, sid)):
            return None
        need = {0: (sd is None and eid is None and sid is None), 1: (sd is not None and eid is None and sid is None),
                2: (sd is None and eid is not None and sid is None), 3: (sd is None and sid is not None and eid is None)}
        if not need[kind]:
            return None
        seen.add(kind)
        out.append((kind, rank, size, sd, eid if kind == 2 else sid))
    return out


def _tp_index(axes):
    return next((i for i, a in enumerate(axes) if a[0] == AXIS_TP), None)


def _with_tp_rank(axes, rank):
    i = _tp_index(axes)
    return axes[:i] + [(axes[i][0], rank) + axes[i][2:]] + axes[i + 1:]


def _pkey(key, axes):
    if len(axes) == 1 and axes[0][0] == AXIS_TP:
        return tp_key(key, axes[0][1])
    parts = []
    for kind, rank, size, sd, xid in axes:
        s = f"__{_KIND_NAMES[kind]}_{rank}of{size}"
        s += "" if sd is None else f"_sd{sd}"
        s += "" if xid is None else (f"_eid{xid}" if kind == 2 else f"_sid{xid}")
        parts.append(s)
    return _join(key, "".join(parts))


def _join(key, suffix):
    return bytes(key) + suffix.encode() if isinstance(key, (bytes, bytearray)) else f"{key}{suffix}"


def _writer(wp):
    """(rank, size, split_dim) of a writer partition (tuple or object)."""
    if isinstance(wp, (tuple, list)) and len(wp) == 3:
        r, n, d = wp
    else:
        r, n, d = (getattr(wp, f, None) for f in ("rank", "size", "split_dim"))
    return (r, n, d) if all(_int(v) for v in (r, n, d)) and 0 <= r < n else None


def _layout_axes(axes, local_shape):
    return tuple(Axis(kind, i, rank, size, -1 if sd is None else sd, 0 if xid is None else xid,
                      0 if sd is None else local_shape[sd])
                 for i, (kind, rank, size, sd, xid) in enumerate(axes))


def _meta_axes(meta):
    """The stored layout as _axes_of tuples."""
    return [(a.kind, a.shard_rank, a.shard_count, None if a.split_dim < 0 else a.split_dim,
             a.reserved0 if a.kind in (2, 3) else None) for a in meta.axes]


def _uniform_shard(t, rank, size, sd):
    if not _is_tensor(t) or not _int(sd) or not 0 <= sd < t.dim() or t.shape[sd] % size:
        return None
    step = t.shape[sd] // size
    return t.narrow(sd, rank * step, step)


class ParallelMixin:
    """Unified parallel tensor IO: TensorParallelism writes, ReadTarget reads."""

    # -- writes --

    def _parallel_obj(self, key, tensor, parallelism, writer_partition):
        """(store key, object bytes) or None for bad input."""
        if parallelism is not None and writer_partition is not None:
            return None
        if writer_partition is not None:
            w = _writer(writer_partition)
            if w is None:
                return None
            r, n, d = w
            axes = [(AXIS_TP, r, n, d, None)]
            shard = _uniform_shard(tensor, r, n, d)
            if shard is None:
                return None
            return (_join(key, f"__writer_{r}of{n}_sd{d}"),
                    serialize(shard, tuple(tensor.shape), LAYOUT_SHARD, _layout_axes(axes, shard.shape)))
        if parallelism is None:
            return key, serialize(tensor)
        axes = _axes_of(parallelism)
        if axes is None or not _is_tensor(tensor):
            return None
        i = _tp_index(axes)
        if (i is not None and not 0 <= axes[i][3] < tensor.dim()) or tensor.dim() > MAX_DIMS:
            return None
        if i is None:                                  # shard input, stored as is
            shard, gshape = tensor, tuple(tensor.shape)
        elif len(axes) == 1:                           # plain TP: shard input (compatibility)
            shard, gshape = tensor, list(tensor.shape)
            gshape[axes[i][3]] *= axes[i][2]
        else:                                          # TP with other axes: full input
            shard, gshape = _uniform_shard(tensor, axes[i][1], axes[i][2], axes[i][3]), tuple(tensor.shape)
            if shard is None:
                return None
        return _pkey(key, axes), serialize(shard, tuple(gshape), LAYOUT_SHARD, _layout_axes(axes, shard.shape))

    def _put_parallel(self, key, tensor, parallelism, config, writer_partition, upsert):
        got = self._parallel_obj(key, tensor, parallelism, writer_partition)
        if got is None or got[1] is None:
            return INVALID_PARAMS
        return (self.upsert if upsert else self.put)(got[0], got[1], config)

    def put_tensor_with_parallelism(self, key, tensor, parallelism=None, config=None, writer_partition=None):
        """parallelism None: a full object; else the shard object of that
        layout (see the storage keys above). int."""
        return self._put_parallel(key, tensor, parallelism, config, writer_partition, False)

    def upsert_tensor_with_parallelism(self, key, tensor, parallelism=None, config=None, writer_partition=None):
        return self._put_parallel(key, tensor, parallelism, config, writer_partition, True)

    def _batch_parallel(self, keys, tensors, parallelisms, config, writer_partitions, one):
        n = len(keys)
        ps = [None] * n if parallelisms is None else parallelisms
        ws = [None] * n if writer_partitions is None else writer_partitions
        if not _sized(keys, tensors, ps, ws):
            return [INVALID_PARAMS] * n
        return [one(k, t, p, _config_for(config, i), w) for i, (k, t, p, w) in enumerate(zip(keys, tensors, ps, ws))]

    def batch_put_tensor_with_parallelism(self, keys, tensors, parallelisms=None, config=None,
                                          writer_partitions=None):
        return self._batch_parallel(keys, tensors, parallelisms, config, writer_partitions,
                                    self.put_tensor_with_parallelism)

    def batch_upsert_tensor_with_parallelism(self, keys, tensors, parallelisms=None, config=None,
                                             writer_partitions=None):
        return self._batch_parallel(keys, tensors, parallelisms, config, writer_partitions,
                                    self.upsert_tensor_with_parallelism)

    def _from_parallel(self, key, buffer_ptr, size, parallelism, config, writer_partition, upsert):
        if parallelism is None and writer_partition is None:
            if parse_at(buffer_ptr, size) is None:
                return INVALID_PARAMS
            return (self.upsert_from if upsert else self.put_from)(key, buffer_ptr, size, config)
        data = read_memory(buffer_ptr, size) if _int(size) and size >= METADATA_SIZE else None
        t = None if data is None else deserialize(data, copy=False)
        return self._put_parallel(key, t, parallelism, config, writer_partition, upsert)

    def put_tensor_with_parallelism_from(self, key, buffer_ptr, size, parallelism=None, config=None,
                                         writer_partition=None):
        """The buffer holds a serialized object (the full tensor, or the
        shard for shard-input layouts)."""
        return self._from_parallel(key, buffer_ptr, size, parallelism, config, writer_partition, False)

    def upsert_tensor_with_parallelism_from(self, key, buffer_ptr, size, parallelism=None, config=None,
                                            writer_partition=None):
        return self._from_parallel(key, buffer_ptr, size, parallelism, config, writer_partition, True)

    def _batch_from_parallel(self, keys, ptrs, sizes, parallelisms, config, writer_partitions, upsert):
        n = len(keys)
        ps = [None] * n if parallelisms is None else parallelisms
        ws = [None] * n if writer_partitions is None else writer_partitions
        if not _sized(keys, ptrs, sizes, ps, ws):
            return [INVALID_PARAMS] * n
        return [self._from_parallel(k, p, s, q, _config_for(config, i), w, upsert)
                for i, (k, p, s, q, w) in enumerate(zip(keys, ptrs, sizes, ps, ws))]

    def batch_put_tensor_with_parallelism_from(self, keys, buffer_ptrs, sizes, parallelisms=None, config=None,
                                               writer_partitions=None):
        return self._batch_from_parallel(keys, buffer_ptrs, sizes, parallelisms, config, writer_partitions, False)

    def batch_upsert_tensor_with_parallelism_from(self, keys, buffer_ptrs, sizes, parallelisms=None,
                                                  config=None, writer_partitions=None):
        return self._batch_from_parallel(keys, buffer_ptrs, sizes, parallelisms, config, writer_partitions, True)

    # -- reads --

    def _get_meta(self, key):
        """(tensor copy, Metadata) of key, or (None, None)."""
        h = self.get_buffer(key)
        if h is None:
            return None, None
        with memoryview(h) as mv:
            try:
                meta = parse_metadata(bytes(mv[:METADATA_SIZE]), mv.nbytes)
            except ValueError:
                return None, None
        t = deserialize(h, copy=True)
        return (None, None) if t is None else (t, meta)

    def _gather(self, key, axes, keyf):
        """The full tensor from every TP rank's shard of layout axes (keys by
        keyf(rank axes)); None unless all are present and consistent."""
        i = _tp_index(axes)
        n, d = axes[i][2], axes[i][3]
        parts, gshape = [], None
        for r in range(n):
            want = _with_tp_rank(axes, r)
            t, meta = self._get_meta(keyf(want))
            if t is None or meta.layout_kind != LAYOUT_SHARD or _meta_axes(meta) != want:
                return None
            if gshape is None:
                gshape = meta.global_shape
            if meta.global_shape != gshape or parts and t.dtype != parts[0].dtype:
                return None
            parts.append(t)
        full = _torch.cat(parts, d)
        return full if tuple(full.shape) == tuple(gshape) else None

    def _full(self, key, axes):
        t = self.get_tensor(key)
        if t is not None:
            return t
        if axes is None:                                   # learn the layout from rank 0's legacy shard
            _, meta = self._get_meta(tp_key(key, 0))
            if meta is None or len(meta.axes) != 1 or meta.axes[0].kind != AXIS_TP:
                return None
            axes = _meta_axes(meta)
        i = _tp_index(axes)
        if i is None:
            return self.get_tensor(_pkey(key, axes))      # no split axis: the shard is the tensor
        for layout in (axes, None):
            if layout is None:                             # stored with another TP size?
                _, meta = self._get_meta(_pkey(key, _with_tp_rank(axes, 0)))
                if meta is None or len(meta.axes) != len(axes):
                    return None
                layout = _meta_axes(meta)
                if _tp_index(layout) != i or layout == axes:
                    return None
            full = self._gather(key, layout, lambda a: _pkey(key, a))
            if full is None and len(layout) == 1:
                full = self._gather(key, layout, lambda a: _join(key, f"__writer_{a[0][1]}of{a[0][2]}_sd{a[0][3]}"))
            if full is not None:
                return full
        return None

    def _resolve(self, key, target):
        """(mode, axes) of a ReadTarget; None if invalid."""
        mode = "as_stored" if target is None else getattr(target, "mode", None)
        p = None if target is None else getattr(target, "parallelism", None)
        if mode not in _MODES:
            return None
        axes = None if p is None else _axes_of(p)
        if (p is not None and axes is None) or (mode == "shard" and axes is None):
            return None
        return mode, axes

    def get_tensor_with_parallelism(self, key, target=None):
        """as_stored: the object stored for (key, target.parallelism);
        shard: that shard (from the stored shard, a writer partition, or
        cut from the full tensor); full: the full tensor (stored whole or
        reassembled from TP shards). None on any failure."""
        r = self._resolve(key, target)
        if r is None:
            return None
        mode, axes = r
        if mode == "as_stored":
            return self.get_tensor(key if axes is None else _pkey(key, axes))
        if mode == "full":
            return self._full(key, axes)
        t, meta = self._get_meta(_pkey(key, axes))
        if t is not None and _meta_axes(meta) == axes:
            return t
        i = _tp_index(axes)
        if i is None:
            return None
        if len(axes) == 1:
            a = axes[0]
            t, meta = self._get_meta(_join(key, f"__writer_{a[1]}of{a[2]}_sd{a[3]}"))
            if t is not None:
                return t
        full = self._full(key, axes)
        shard = _uniform_shard(full, axes[i][1], axes[i][2], axes[i][3])
        return None if shard is None else shard.contiguous()

    def batch_get_tensor_with_parallelism(self, keys, targets=None):
        ts = [None] * len(keys) if targets is None else targets
        if not _sized(keys, ts):
            return [None] * len(keys)
        return [self.get_tensor_with_parallelism(k, t) for k, t in zip(keys, ts)]

    def get_tensor_with_parallelism_into(self, key, buffer_ptr, size, target=None):
        """As get_tensor_with_parallelism; the object lands in the buffer and
        the tensor views it (stored objects come straight from get_into;
        derived shards and reassembled tensors are written there)."""
        r = self._resolve(key, target)
        if r is None:
            return None
        mode, axes = r
        direct = key if axes is None else _pkey(key, axes)
        if mode == "as_stored" or (mode == "full" and axes is None):
            t = self._read_into(direct, buffer_ptr, size)
            if t is not None or mode == "as_stored":
                return t
        elif mode == "shard":
            n = self.get_into(direct, buffer_ptr, size)
            t = self._view_of(buffer_ptr, n)
            if t is not None and _meta_axes(parse_metadata(_ctypes.string_at(buffer_ptr, METADATA_SIZE), n)) == axes:
                return t
        t = self.get_tensor_with_parallelism(key, target)
        obj = None if t is None else serialize(t)
        if obj is None or not _int(size) or len(obj) > size or not write_memory(buffer_ptr, obj):
            return None
        return self._view_of(buffer_ptr, len(obj))

    def batch_get_tensor_with_parallelism_into(self, keys, buffer_ptrs, sizes, targets=None):
        ts = [None] * len(keys) if targets is None else targets
        if not _sized(keys, buffer_ptrs, sizes, ts):
            return [INVALID_PARAMS] * len(keys)
        return [self.get_tensor_with_parallelism_into(k, p, s, t) for k, p, s, t in zip(keys, buffer_ptrs, sizes, ts)]


class TensorMixin(LegacyTensorMixin, ParallelMixin):
    """Every tensor method (mixed into MooncakeDistributedStore)."""
