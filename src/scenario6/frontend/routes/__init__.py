"""HTTP and WebSocket routes of the frontend."""
