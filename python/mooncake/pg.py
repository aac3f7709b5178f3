"""mooncake.pg: upstream's module name for the torch.distributed backend
"mooncake" (registered by importing it) and its options; see mooncake.ep."""
from .ep import MooncakeBackendOptions, MooncakeEPError, get_active_ranks  # noqa: F401  (registers the backend)

__all__ = ["MooncakeBackendOptions", "MooncakeEPError", "get_active_ranks"]
