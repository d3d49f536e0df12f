"""systems/seflow."""
