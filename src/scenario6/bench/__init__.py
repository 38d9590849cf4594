"""Benchmarks: each module has ``run(args) -> int`` and prints its figures."""
