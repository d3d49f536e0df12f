"""bench/metrics."""
