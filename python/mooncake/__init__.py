"""Mooncake in C: Python bindings. See mooncake.store and mooncake.engine."""
