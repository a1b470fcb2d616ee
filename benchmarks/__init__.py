"""Benchmarks: run as ``python benchmarks/x.py`` or ``python -m benchmarks.x``."""
