"""The control API of a running app: local HTTP with a per-run token, its state file, and the
client the CLI uses."""
