"""The live resource model: what observers see while a real app starts, crashes and comes back."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import uuid
from pathlib import Path

from scenario6.apphost import Configuration, Operation, ParameterResolver, load_apphost
from scenario6.run.control.state import LOG_DIR, run_dir
from scenario6.run.logbook import KEEP
from scenario6.run.model import ResourceView
from scenario6.run.printer import Printer
from scenario6.run.starter import RunOptions
from scenario6.run.supervisor import Supervisor
from tests.support.apphost import write_web_app
from tests.support.servers import free_port
from tests.support.waiting import until

LINES = KEEP + 700
# Prints more lines than the model keeps, then idles: the bound and the file are both seen.
CHATTY = f"""
builder.add_executable(
    "chatty", sys.executable, ".",
    ["-c", "import time\\nfor i in range({LINES}): print('line', i)\\nprint('done', flush=True)\\n"
     "time.sleep(600)"],
).wait_for(web)"""


def supervisor_for(apphost: Path, secret: str) -> Supervisor:
    parameters = ParameterResolver(Configuration(environ={"API_KEY": secret}), prompt=None)
    return Supervisor(
        load_apphost(apphost, Operation.RUN),
        runtime=None,
        parameters=parameters,
        printer=Printer(io.StringIO()),
        options=RunOptions(control=False),
    )


async def observe(supervisor: Supervisor, seen: list[tuple[int, ResourceView]]) -> None:
    async for version, views in supervisor.model.watch():
        seen += [(version, view) for view in views]


def test_observers_see_start_health_crash_and_restart(tmp_path: Path) -> None:
    secret = f"s3cret-{uuid.uuid4().hex}"
    apphost = write_web_app(tmp_path, free_port(), CHATTY)
    supervisor = supervisor_for(apphost, secret)
    model = supervisor.model
    seen: list[tuple[int, ResourceView]] = []

    def web() -> ResourceView:
        view = model.get("web")
        assert view is not None
        return view

    async def scenario() -> None:
        assert [(v.name, v.state, v.aspire_state) for v in model.snapshot()] == [
            ("web", "waiting", "NotStarted"),
            ("chatty", "waiting", "NotStarted"),
        ]
        watcher = asyncio.create_task(observe(supervisor, seen))
        running = asyncio.create_task(supervisor.run())
        await until(lambda: supervisor.phase == "running", "every resource up", 60)
        first = web()
        assert (first.state, first.aspire_state, first.health) == ("running", "Running", "healthy")
        assert first.probe is not None and first.probe["ok"]
        assert first.endpoints[0].url.startswith("http://127.0.0.1:")
        assert first.pid is not None and first.restarts == 0 and first.started_at

        os.kill(first.pid, signal.SIGKILL)
        await until(lambda: web().restarts == 1 and web().health == "healthy", "a restart", 60)
        assert web().pid != first.pid
        await until(
            lambda: [x.text for x in model.logs["chatty"].tail(1)] == ["done"], "its end", 60
        )
        supervisor.request_stop()
        assert await running == 0
        await asyncio.wait_for(watcher, 10)  # the stream ends with the run

    asyncio.run(scenario())

    web_states = [(v.state, v.aspire_state, v.exit_code) for _, v in seen if v.name == "web"]
    assert web_states[0] == ("waiting", "NotStarted", None)
    crash = web_states.index(("restarting", "Exited", -signal.SIGKILL))
    assert ("starting", "Starting", None) in web_states[1:crash]
    assert ("running", "Running", None) in web_states[crash:]
    assert web_states[-1][0] == "stopped"
    chatty = [v for _, v in seen if v.name == "chatty"]
    assert ("web",) in [v.waiting_for for v in chatty]  # it said what it waited for
    snapshot, changes = seen[:2], [version for version, _ in seen[2:]]
    assert {version for version, _ in snapshot} == {0}  # watched before anything started
    assert changes == list(range(1, len(changes) + 1))  # one version per change, none lost

    # Secrets: masked in the model, and in nothing it shows or writes.
    shown = json.dumps([v.to_json() for _, v in seen])
    assert web().environment == {"API_KEY": "********", "PLAIN": "shown"}
    assert secret not in shown

    # The console log: the last KEEP lines in memory, every line in the resource's file.
    book = model.logs["chatty"].tail()
    assert len(book) == KEEP and book[-1].text == "done" and book[-1].seq == LINES + 1
    assert [line.seq for line in book] == list(range(LINES + 2 - KEEP, LINES + 2))
    written = (run_dir(tmp_path) / LOG_DIR / "chatty.log").read_text().splitlines()
    assert len(written) == LINES + 1 and written[0].endswith(" line 0")
    assert secret not in "".join(p.read_text() for p in (run_dir(tmp_path) / LOG_DIR).iterdir())
