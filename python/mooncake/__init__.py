"""Mooncake in C: Python bindings. See mooncake.store, mooncake.engine and
mooncake.ep (fault-tolerant process group, MoE Buffer)."""
