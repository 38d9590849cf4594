"""Scenario 6: full-duplex voice conversations with NVIDIA PersonaPlex-7B."""

__version__ = "0.1.0"
