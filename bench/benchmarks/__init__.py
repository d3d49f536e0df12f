"""Micro-benchmarks of the harness's own costs (``python -m bench.benchmarks.<name>``)."""
