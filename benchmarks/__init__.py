"""Benchmarks: `python -m benchmarks.run [--only NAME ...]` prints one JSON object."""
