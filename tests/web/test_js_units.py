"""The browser client's JavaScript unit tests (Ogg, resampler, jitter buffer, latency,
session), and the client's agreement with the server and docs/protocol.md on close codes."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from scenario6.frontend.proxy import closes
from scenario6.protocol.messages import Kind
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[2]
SESSION_JS = ROOT / "src/scenario6/frontend/static/js/session.js"
PROTOCOL_MD = ROOT / "docs" / "protocol.md"
# A row of the close-code table: | code | reason | meaning | reconnect? |
CLOSE_ROW = re.compile(r"^\| (\d{4}) \|.*\| (yes|no)\b[^|]*\|$", re.M)


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
    of a name the server no longer has would never be shown."""
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
    assert set(explained) == set(closes.codes())
    texts = [close["text"] for close in explained.values()]
    assert len(set(texts)) == len(texts), "two closes explained alike"


def test_the_client_reconnects_exactly_where_the_protocol_table_says() -> None:
    """Each close code ends a live session in the client as the "reconnect?" column of
    docs/protocol.md says: "yes" retries on its own, "no" stops and shows why."""
    node = require_tool("node")
    documented = {int(code): retry for code, retry in CLOSE_ROW.findall(PROTOCOL_MD.read_text())}
    assert set(documented) == set(closes.codes().values())
    protocol = {"kinds": {kind.name: kind.value for kind in Kind}, "closes": closes.codes()}
    result = subprocess.run(
        [node, "tests/js/tools/closes.mjs"],
        cwd=ROOT,
        input=json.dumps(protocol),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    done = {int(code): state for code, state in json.loads(result.stdout).items()}
    expected = {
        code: "reconnecting" if retry == "yes" else "error" for code, retry in documented.items()
    }
    assert done == expected
