"""Helpers shared by the test suite: real servers on free ports, real audio."""
