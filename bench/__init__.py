"""sebench: a benchmark and evaluation harness for speech enhancement."""

__version__ = "0.1.0"
