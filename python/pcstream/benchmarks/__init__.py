"""Benchmarks reachable from the ``pcstream bench`` command."""
