"""mooncake.pg: upstream's module name for the torch.distributed backend
"mooncake" (registered by importing it), its options and the membership
calls on a backend (a dist group such as dist.group.WORLD, or a
mooncake.ep.ProcessGroup); see mooncake.ep."""
from .ep import (APPLIED, APPLIED_WITH_DROPPED_RANKS, REJECTED, MooncakeBackendOptions,  # noqa: F401
                 MooncakeEPError)


def _group(backend):
    return getattr(backend, "mooncake_group", backend)


def get_active_ranks(backend):
    return _group(backend).get_active_ranks()


def get_num_synced_ranks(backend):
    return _group(backend).get_num_synced_ranks()


def get_peer_state(backend, ranks):
    return _group(backend).get_peer_state(ranks)


def get_current_epoch(backend):
    return _group(backend).get_current_epoch()


def recover_ranks(backend, ranks):
    return _group(backend).recover_ranks(ranks)


activate_ranks = recover_ranks


def deactivate_ranks(backend, ranks):
    return _group(backend).deactivate_ranks(ranks)


def join_group(backend, timeout_s=300):
    return _group(backend).join_group(timeout_s)


__all__ = ["MooncakeBackendOptions", "MooncakeEPError", "get_active_ranks", "get_num_synced_ranks",
           "get_peer_state", "get_current_epoch", "recover_ranks", "activate_ranks", "deactivate_ranks",
           "join_group", "REJECTED", "APPLIED", "APPLIED_WITH_DROPPED_RANKS"]
