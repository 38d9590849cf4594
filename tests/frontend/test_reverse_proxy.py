"""The frontend behind a real nginx, configured as docs/security.md shows.

The nginx block is taken from the docs (only its certificate paths and ports change), so the
worked example stays true: HTTPS and WebSocket through the proxy, each real client with its
own session limit, a client's own X-Forwarded-For not believed, a foreign Host refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus

from scenario6.frontend.proxy import closes
from tests.support.proxies import NAME, reverse_proxy, session_via
from tests.support.servers import frontend_process, loopback_server


async def test_behind_nginx_each_person_has_their_own_session_limit(tmp_path: Path) -> None:
    async with loopback_server() as lb:
        env = {
            "MOSHI_WS_URL": lb.url,
            "SERVER_NAMES": NAME,
            "TRUSTED_PROXIES": "127.0.0.1",
            "MAX_SESSIONS_PER_CLIENT": "1",
        }
        with (
            frontend_process(env) as (frontend, frontend_port),
            reverse_proxy("nginx", tmp_path, frontend_port) as proxy,
        ):
            async with (
                session_via(proxy, "127.0.0.2") as first,
                session_via(proxy, "127.0.0.3") as other_person,
                # Claiming to be someone else: nginx appends the real address, which counts.
                session_via(proxy, "127.0.0.2", X_Forwarded_For="127.0.0.4") as spoofer,
            ):
                assert await first.admitted()
                assert await other_person.admitted()  # queued behind the first: one backend
                assert not await spoofer.admitted()
                assert spoofer.close_code == closes.TOO_MANY_SESSIONS
            await first.wait_for(first.closed.is_set)
            # The frontend's log names the people, not the proxy.
            log = frontend.output()
            assert '127.0.0.3:0 - "WebSocket /api/chat' in log, log[-2000:]
            # A name the frontend does not serve is refused, even through the proxy.
            with pytest.raises(InvalidStatus) as refused:
                async with session_via(proxy, "127.0.0.2", host="evil.example"):
                    pass
            assert refused.value.response.status_code == 400
