"""mooncake.engine: the transfer engine (upstream-compatible surface).

TransferEngine comes from the C extension mooncake._engine (libmooncake's
transfer-engine handle); this module adds TransferOpcode (also exported as
module-level Read/Write) and TransferNotify, and upstream's SUPPORT_* flags.
"""
import enum as _enum

from mooncake import _engine
from mooncake._engine import TransferEngine

__all__ = ["TransferEngine", "TransferOpcode", "TransferNotify", "Read", "Write",
           "SUPPORT_EFA", "SUPPORT_HIP", "SUPPORT_MNNVL", "SUPPORT_MUSA",
           "SUPPORT_INTRA_NVLINK", "SUPPORT_CUDA"]

# This build moves host memory over TCP and shared memory only.
SUPPORT_EFA = False
SUPPORT_HIP = False
SUPPORT_MNNVL = False
SUPPORT_MUSA = False
SUPPORT_INTRA_NVLINK = False
SUPPORT_CUDA = False


class TransferOpcode(_enum.IntEnum):
    Read = 0
    Write = 1
    # the docs spell them in capitals
    READ = 0
    WRITE = 1


Read = TransferOpcode.Read
Write = TransferOpcode.Write


class TransferNotify:
    """A notification {name, msg} delivered to the target once a transfer
    completed (transfer_sync / batch_transfer_sync notify=...)."""

    __slots__ = ("name", "msg")

    def __init__(self, name="", msg=""):
        self.name = name
        self.msg = msg

    def __repr__(self):
        return f"TransferNotify(name={self.name!r}, msg={self.msg!r})"

    def __eq__(self, other):
        return isinstance(other, TransferNotify) and (self.name, self.msg) == (other.name, other.msg)

    def __hash__(self):
        return hash((self.name, self.msg))


_engine._set_notify_type(TransferNotify)
