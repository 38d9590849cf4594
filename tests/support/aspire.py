"""A client of Aspire's resource service built from upstream's own ``dashboard_service.proto``
(vendored beside the repository), compiled at test time: the package never ships it."""

from __future__ import annotations

import hashlib
import importlib
import queue
import sys
import threading
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import grpc_tools
from grpc_tools import protoc

REPO = Path(__file__).resolve().parents[2]
VENDORED = REPO.parent / "shared" / "vendor" / "aspire" / "dashboard_service.proto"
VENDORED_SHA256 = "335a45f9e701d2864565a501e5b0455fde49aed9c387ff550f8bfbd6a15d485f"
KEY_HEADER = "x-resource-service-api-key"


@dataclass(frozen=True)
class Upstream:
    pb2: types.ModuleType  # the messages
    grpc: types.ModuleType  # DashboardServiceStub

    def stub(self, channel: grpc.Channel) -> Any:
        return self.grpc.DashboardServiceStub(channel)


def compile_upstream(folder: Path) -> Upstream:
    """protoc the vendored file into ``folder`` and import what it made (once per process)."""
    digest = hashlib.sha256(VENDORED.read_bytes()).hexdigest()
    assert digest == VENDORED_SHA256, f"{VENDORED} is not the documented upstream copy"
    if "dashboard_service_pb2" not in sys.modules:
        bundled = Path(grpc_tools.__file__).parent / "_proto"
        argv = ["protoc", f"-I{VENDORED.parent}", f"-I{bundled}", f"--python_out={folder}",
                f"--grpc_python_out={folder}", VENDORED.name]  # fmt: skip
        assert protoc.main(argv) == 0, "protoc failed on the vendored file"
        sys.path.insert(0, str(folder))  # the _grpc module imports the _pb2 one by name
        importlib.invalidate_caches()
    return Upstream(
        importlib.import_module("dashboard_service_pb2"),
        importlib.import_module("dashboard_service_pb2_grpc"),
    )


def with_key(key: str) -> tuple[tuple[str, str], ...]:
    return ((KEY_HEADER, key),)


@dataclass
class Watch:
    """``WatchResources`` read in a thread, as the dashboard keeps it open: every update lands
    in ``updates``; ``state`` follows each resource's latest message."""

    call: Any
    updates: queue.Queue[Any] = field(default_factory=queue.Queue)
    latest: dict[str, Any] = field(default_factory=dict)
    error: list[grpc.RpcError] = field(default_factory=list)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for update in self.call:
                self.updates.put(update)
        except grpc.RpcError as error:
            self.error.append(error)
        self.updates.put(None)

    def next(self, timeout: float = 30) -> list[Any]:
        """The resources of the next update (all of them in the first)."""
        update = self.updates.get(timeout=timeout)
        assert update is not None, f"the watch ended: {self.error}"
        if update.WhichOneof("kind") == "initial_data":
            resources = list(update.initial_data.resources)
        else:
            resources = [change.upsert for change in update.changes.value]
        for resource in resources:
            self.latest[resource.name] = resource
        return resources

    def until(self, name: str, test: Any, timeout: float = 60) -> list[Any]:
        """Read updates until resource ``name`` passes ``test``; its messages on the way."""
        seen: list[Any] = []
        deadline = time.monotonic() + timeout
        while not (seen and test(seen[-1])):
            left = deadline - time.monotonic()
            assert left > 0, f"{name} never got there; last: {self.latest.get(name)}"
            seen += [resource for resource in self.next(left) if resource.name == name]
        return seen
