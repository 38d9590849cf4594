"""Documentation generated from the code, so that it cannot drift from it.

``python -m scenario6.docsgen`` rewrites docs/configuration.md from ``FrontendSettings``;
``--check`` exits 1 when the file on disk differs (the test suite runs that check).
"""
