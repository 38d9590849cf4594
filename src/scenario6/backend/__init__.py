"""Backends: the loopback stand-in for the GPU model, and the container entrypoint."""
