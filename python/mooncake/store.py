"""mooncake.store: the Mooncake store client (upstream-compatible surface).

MooncakeDistributedStore, ReplicateConfig, BufferHandle and
MooncakeHostMemAllocator come from the C extension mooncake._store; this
module adds upstream's enums (values also exported at module level),
setup(dict) and bind_to_numa_node.
"""
import enum as _enum
import os as _os
import re as _re

from mooncake import _store
from mooncake._store import BufferHandle, MooncakeHostMemAllocator, ReplicateConfig, error_name
from mooncake._tensor import ParallelAxis, ReadTarget, TensorParallelism
from mooncake._tensor import TensorMixin as _TensorMixin
from mooncake._tensor import _deserialize_tensor, _serialize_tensor, _tensor_metadata_size  # noqa: F401

__all__ = [
    "MooncakeDistributedStore", "ReplicateConfig", "BufferHandle", "MooncakeHostMemAllocator",
    "ReplicaStatus", "TaskStatus", "TaskType", "SoftPinAction", "ObjectDataType",
    "ReplicaDescriptor", "MemoryDescriptor", "DiskDescriptor", "Descriptor", "QueryTaskResponse",
    "bind_to_numa_node", "error_name", "ParallelAxis", "TensorParallelism", "ReadTarget",
]


class ReplicaStatus(_enum.IntEnum):
    UNDEFINED = 0
    INITIALIZED = 1
    PROCESSING = 2
    COMPLETE = 3
    REMOVED = 4
    FAILED = 5


class TaskStatus(_enum.IntEnum):
    PENDING = 0
    PROCESSING = 1
    FAILED = 2
    SUCCESS = 3


class TaskType(_enum.IntEnum):
    REPLICA_COPY = 0
    REPLICA_MOVE = 1


class SoftPinAction(_enum.IntEnum):
    PRESERVE = 0
    ENABLE = 1
    DISABLE = 2


class ObjectDataType(_enum.IntEnum):
    UNKNOWN = 0
    KVCACHE = 1
    TENSOR = 2
    WEIGHT = 3
    SAMPLE = 4
    ACTIVATION = 5
    GRADIENT = 6
    OPTIMIZER_STATE = 7
    METADATA = 8
    GENERAL = 9


# pybind11's export_values(): enum members are module attributes too.
for _e in (ReplicaStatus, TaskType, ObjectDataType):
    globals().update(_e.__members__)
del _e

_UNITS = {"": 1, "B": 1, "K": 1 << 10, "KB": 1 << 10, "M": 1 << 20, "MB": 1 << 20,
          "G": 1 << 30, "GB": 1 << 30, "T": 1 << 40, "TB": 1 << 40}
_SIZE_RE = _re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")


def _parse_size(value):
    """'16MB', '16 MB', '1.5 GB', 'infinite', 1024 -> bytes; None if invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    text = str(value).strip()
    if text.lower() == "infinite":
        return (1 << 64) - 1
    m = _SIZE_RE.match(text)
    if not m or m.group(2).upper() not in _UNITS:
        return None
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


class MooncakeDistributedStore(_TensorMixin, _store.MooncakeDistributedStore):
    """A Mooncake store client. Methods and return conventions follow
    upstream's mooncake.store (spec store.md §8)."""

    def setup(self, *args, **kwargs):
        if len(args) == 1 and not kwargs and isinstance(args[0], dict):
            return self._setup_dict(args[0])
        return super().setup(*args, **kwargs)

    def get_replica_desc(self, key):
        """list[ReplicaDescriptor] of key's replicas; [] on any error."""
        return [ReplicaDescriptor(*t) for t in self._get_replica_desc(key)]

    def batch_get_replica_desc(self, keys):
        """{key: list[ReplicaDescriptor]}; keys that failed are omitted."""
        return {k: [ReplicaDescriptor(*t) for t in v] for k, v in self._batch_get_replica_desc(keys).items()}

    def query_task(self, task_id):
        """(QueryTaskResponse, 0) or (None, error code); -1400 for an unknown id."""
        raw, code = self._query_task(task_id)
        return (QueryTaskResponse(*raw) if raw is not None else None), code

    def _setup_dict(self, cfg):
        """setup({...}): keys as upstream's dict form (spec §6.1); values are
        stringified; sizes accept '16MB', '1.5 GB', 'infinite'."""
        if "local_hostname" not in cfg or "metadata_server" not in cfg:
            return -600
        seg = _parse_size(cfg.get("global_segment_size", 16 << 20))
        buf = _parse_size(cfg.get("local_buffer_size", 16 << 20))
        if seg is None or buf is None:
            return -600
        if (0 < seg < 1024) or (0 < buf < 1024) or buf > (1 << 40):
            return -600
        if seg == (1 << 64) - 1:
            return -600  # an infinite segment cannot be allocated
        return super().setup(str(cfg["local_hostname"]), str(cfg["metadata_server"]), seg, buf,
                             str(cfg.get("protocol", "tcp")), str(cfg.get("rdma_devices", "")),
                             str(cfg.get("master_server_addr", "127.0.0.1:50051")))


class QueryTaskResponse:
    """A copy/move task's state (query_task). Timestamps are the master's
    monotonic clock in ms (upstream: wall-clock epoch ms)."""

    __slots__ = ("id", "type", "status", "created_at_ms_epoch", "last_updated_at_ms_epoch",
                 "assigned_client", "message")

    def __init__(self, task_id, ttype, status, created, updated, assigned, message):
        self.id = task_id
        self.type = TaskType(ttype)
        self.status = TaskStatus(status)
        self.created_at_ms_epoch = created
        self.last_updated_at_ms_epoch = updated
        self.assigned_client = assigned
        self.message = message

    def __repr__(self):
        return (f"<QueryTaskResponse id={self.id} type={self.type.name} status={self.status.name} "
                f"message={self.message!r}>")


class Descriptor:
    """A memory replica's buffer: size, buffer_address (in the owning
    process), transport_endpoint (the owner's segment name)."""

    def __init__(self, size, buffer_address, transport_endpoint):
        self.size = size
        self.buffer_address = buffer_address
        self.transport_endpoint = transport_endpoint

    def __repr__(self):
        return (f"<Descriptor size={self.size} buffer_address={self.buffer_address} "
                f"transport_endpoint={self.transport_endpoint}>")


class MemoryDescriptor:
    def __init__(self, buffer_descriptor):
        self.buffer_descriptor = buffer_descriptor


class DiskDescriptor:
    def __init__(self, file_path="", object_size=0):
        self.file_path = file_path
        self.object_size = object_size


class ReplicaDescriptor:
    """One replica of an object (get_replica_desc)."""

    _MEMORY, _DISK, _LOCAL_DISK = 0, 1, 2

    def __init__(self, status, rtype, buffer_address, size, endpoint):
        self._status = ReplicaStatus(status)
        self._type = rtype
        self._mem = MemoryDescriptor(Descriptor(size, buffer_address, endpoint))

    @property
    def status(self):
        return self._status

    def is_memory_replica(self):
        return self._type == self._MEMORY

    def is_disk_replica(self):
        return self._type == self._DISK

    def is_local_disk_replica(self):
        return self._type == self._LOCAL_DISK

    def get_memory_descriptor(self):
        if not self.is_memory_replica():
            raise RuntimeError("not a memory replica")
        return self._mem

    def get_disk_descriptor(self):
        if not self.is_disk_replica():
            raise RuntimeError("not a disk replica")
        return DiskDescriptor()

    def __repr__(self):
        return f"<ReplicaDescriptor status={self._status.name} {self._mem.buffer_descriptor!r}>"


def _check_types(*pairs):
    for typ, value in zip(pairs[::2], pairs[1::2]):
        if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
            raise TypeError(f"expected {typ.__name__}, got {type(value).__name__}")


def bind_to_numa_node(node):
    """Run the calling thread on the CPUs of NUMA node `node` (Linux sysfs)."""
    if not isinstance(node, int) or isinstance(node, bool):
        raise TypeError("node must be an int")
    path = f"/sys/devices/system/node/node{node}/cpulist"
    try:
        with open(path) as f:
            spec = f.read().strip()
    except OSError:
        return
    cpus = set()
    for part in spec.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            cpus.update(range(int(lo), int(hi) + 1))
        elif part:
            cpus.add(int(part))
    if cpus:
        _os.sched_setaffinity(0, cpus)
