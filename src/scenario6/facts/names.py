"""The services' names and ports, and the name of the one secret.

The names are the app model's resource names, and so the Compose services, Kubernetes
objects, container names and the image names ``scenario6 publish`` tags; the ports are the
ones the services listen on inside their containers (and on 127.0.0.1 in run mode, unless
``FRONTEND_PORT``/``MOSHI_PORT`` say otherwise).
"""

from __future__ import annotations

from typing import Final

FRONTEND: Final = "scenario6-frontend"  # the web UI and session proxy
BACKEND: Final = "scenario6-moshi"  # the model server (or its stand-in)

# With several frontends (``publish --frontends N``): their shared state and the load balancer.
REDIS: Final = "scenario6-redis"
BALANCER: Final = "scenario6-lb"

FRONTEND_PORT: Final = 8010
REDIS_PORT: Final = 6379
# Where every frontend replica finds the shared state (queue, slot leases, limits).
REDIS_URL_ENV: Final = "REDIS_URL"
BACKEND_PORT: Final = 8998
# The frontend's readiness: it fails while a stopping frontend drains (orchestrators ask it).
FRONTEND_READY_PATH: Final = "/ready"

# The Hugging Face token the backend downloads the weights with: only ever the backend's.
TOKEN: Final = "HF_TOKEN"
# The older name huggingface_hub also reads: kept out of logs and children just the same.
TOKEN_ALIASES: Final = ("HUGGING_FACE_HUB_TOKEN",)

# The frontend's counts of live and queued sessions per backend, which the run dashboard reads.
SESSIONS_PATH: Final = "/api/sessions"
# Every service we own serves Prometheus metrics on a port of its own when this variable names
# one (off when unset or 0); the published files set it to METRICS_PORT and keep that port
# inside the deployment's network.
METRICS_ENV: Final = "METRICS_PORT"
METRICS_PORT: Final = 9464
