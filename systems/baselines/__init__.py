"""systems/baselines."""
