"""The browser client's JavaScript unit tests (Ogg, resampler, jitter buffer, latency,
session), and the client's agreement with the server on the protocol's close codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from scenario6.frontend.proxy import closes
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[2]
SESSION_JS = ROOT / "src/scenario6/frontend/static/js/session.js"


def test_node_unit_tests_pass() -> None:
    node = require_tool("node")
    result = subprocess.run(
        [node, "--test", "tests/js/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout


def test_the_client_explains_every_close_code_the_server_has() -> None:
    """The client takes the codes' numbers from /api/config and explains each by its name:
    a code without an explanation would reach people as a bare number, and an explanation
    of a name the server no longer has would never be shown. NORMAL needs none (the server's
    reason, if any, says it)."""
    node = require_tool("node")
    script = (
        f"import {{ CLOSES }} from {json.dumps(SESSION_JS.as_uri())};"
        "console.log(JSON.stringify(CLOSES));"
    )
    result = subprocess.run(
        [node, "--input-type=module", "--eval", script],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    explained = json.loads(result.stdout)
    assert set(explained) == set(closes.codes()) - {"NORMAL"}
    texts = [close["text"] for close in explained.values()]
    assert len(set(texts)) == len(texts), "two closes explained alike"
