"""Mooncake in C: Python bindings. See mooncake.store."""
