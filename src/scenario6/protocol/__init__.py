"""Facts about the PersonaPlex/moshi wire protocol shared by the frontend and the backends."""
