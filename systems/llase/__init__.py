"""systems/llase."""
