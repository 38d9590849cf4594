"""The session proxy: validates clients, queues them for a backend, relays frames unchanged."""
