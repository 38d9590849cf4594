"""The frontend's sessions for the dashboard: asked of the frontend itself, over loopback.

The frontend keeps the counts (``/api/sessions``: live, queued, per backend slots and
active); the run supervisor has no hook into it and needs none. The frontend answers only this
machine and only past its access gate, so with the gate on the dashboard says so instead.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from scenario6.facts.names import FRONTEND, SESSIONS_PATH
from scenario6.run.model import ResourceModel

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
TIMEOUT_S = 2.0


def frontend_url(model: ResourceModel) -> str | None:
    """The frontend's own HTTP(S) address on this machine, when the run has one."""
    view = model.get(FRONTEND)
    if view is None:
        return None
    for endpoint in view.endpoints:
        parts = urlsplit(endpoint.url)
        if parts.scheme in ("http", "https") and parts.hostname in LOCAL_HOSTS:
            return endpoint.url.rstrip("/")
    return None


def _fetch(url: str) -> tuple[int, Any]:
    # The frontend's certificate in run mode is one made for development; what is read is
    # a few counts from this machine, and nothing secret is sent.
    context = None
    if url.startswith("https:"):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S, context=context) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, None


async def frontend_sessions(model: ResourceModel) -> dict[str, Any]:
    """``{"resource", "url", "available", ...}``: the frontend's counts, or why there are none."""
    base = frontend_url(model)
    answer: dict[str, Any] = {"resource": FRONTEND, "url": base, "available": False}
    if base is None:
        return answer | {"reason": "this run has no frontend with a local HTTP endpoint"}
    try:
        status, body = await asyncio.to_thread(_fetch, base + SESSIONS_PATH)
    except (OSError, ValueError) as error:
        return answer | {"reason": f"the frontend does not answer ({error})"}
    if status == 401:
        return answer | {"reason": "the frontend's access gate is on: sessions are not shown"}
    if status != 200 or not isinstance(body, dict):
        return answer | {"reason": f"the frontend answered {status}"}
    return answer | {"available": True, **body}
