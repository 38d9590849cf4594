"""Several frontends (``publish --frontends N``): their replica count and the Redis they share.

Pure, like the publishers. One frontend keeps its state in memory and needs nothing here;
with more, every replica reads ``REDIS_URL``: the address of a Redis service added to the
deployment (a named volume, a ``redis-cli ping`` probe), or with ``redis_url_secret`` a
Redis of the user's own, whose URL comes from ``.env`` or a Kubernetes Secret.
"""

from __future__ import annotations

from dataclasses import replace

from scenario6.apphost import Parameter
from scenario6.facts.names import FRONTEND, REDIS, REDIS_PORT, REDIS_URL_ENV

from .options import PublishOptions
from .spec import Health, Mount, Placeholder, Port, Service

REDIS_IMAGE = "redis:7-alpine"
REDIS_IMAGE_ENV = "SCENARIO6_REDIS_IMAGE"
REDIS_VOLUME = f"{REDIS}-data"
REDIS_URL = Parameter(
    "redis-url",
    secret=True,
    description="the Redis every frontend replica shares, e.g. redis://:PASSWORD@HOST:6379/0",
    env=REDIS_URL_ENV,
)


def apply(services: dict[str, Service], options: PublishOptions) -> dict[str, Service]:
    """``services`` with N frontend replicas and their Redis (a new dict; inputs unchanged)."""
    frontend = services.get(FRONTEND)
    if not options.replicated or frontend is None:
        return services
    result = dict(services)
    if options.redis_url_secret:
        url: str | Placeholder = Placeholder(REDIS_URL)
        depends = list(frontend.depends_on)
    else:
        result[REDIS] = redis_service()
        url = f"redis://{REDIS}:{REDIS_PORT}/0"
        depends = [*frontend.depends_on, REDIS]
    result[FRONTEND] = replace(
        frontend,
        replicas=options.frontends,
        env={**frontend.env, REDIS_URL_ENV: url},
        depends_on=depends,
    )
    return result


def redis_service() -> Service:
    """Redis with its data on a volume: appendonly, so a restart keeps the leases' state."""
    health = Health(
        REDIS_PORT, argv=("redis-cli", "ping"), start_period_s=10, interval_s=5, retries=5
    )
    return Service(
        REDIS,
        REDIS_IMAGE,
        None,
        ports=[Port("redis", "tcp", REDIS_PORT)],
        mounts=[Mount(REDIS_VOLUME, "/data")],
        health=health,
        labels={"org.scenario6.role": "state"},
        args=["redis-server", "--appendonly", "yes", "--dir", "/data"],
        image_env=REDIS_IMAGE_ENV,
    )
