"""The frontend service: web UI, configuration API and the session proxy."""
