"""One container resource: built, created or reused (persistent), followed and stopped.

Every call goes through the engine's client (:class:`ContainerRuntime`), which keeps this
app's secrets out of the CLI's environment; only ``run`` is handed the resource's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from scenario6.apphost import ContainerResource, Lifetime
from scenario6.containers import ContainerRuntime, build_command, build_failure, labels

from .context import build_digest
from .process import LineSink, ManagedProcess, run_to_end
from .resolve import RunResolver


class ContainerError(Exception):
    """A build or run that failed; the message carries the engine's last lines."""


@dataclass(frozen=True)
class Existing:
    id: str
    state: str
    spec_hash: str


class ContainerRunner:
    """Drives ``docker``/``podman`` for one resource; ``outcome`` says what ``start`` did."""

    def __init__(
        self,
        resource: ContainerResource,
        runtime: ContainerRuntime,
        resolver: RunResolver,
        on_line: LineSink,
    ) -> None:
        self.resource = resource
        self.runtime = runtime
        self.resolver = resolver
        self.on_line = on_line
        self.name = resolver.container_name(resource)
        self.app_id = resolver.app.app_id
        self.outcome = ""
        self.container_id = ""

    @property
    def persistent(self) -> bool:
        return self.resource.lifetime is Lifetime.PERSISTENT

    async def prepare_image(self) -> str:
        """Build (or pull) the image; what identifies its content (build inputs, or its id)."""
        build = self.resource.build
        image = self.resource.image
        if build is not None:
            argv = build_command(self.runtime, image, build, host_network=self.runtime.host_network)
            self.on_line(f"building {image} from {build.dockerfile.name}…")
            code, last = await run_to_end(
                argv,
                env=self.runtime.environment(),
                on_line=lambda line: self.on_line(f"[build] {line}"),
            )
            if code != 0:
                raise ContainerError(
                    str(build_failure(image, build, code, last, self.resource.name))
                )
        code, image_id = await self.runtime.call("image", "inspect", "--format", "{{.Id}}", image)
        if code != 0:
            self.on_line(f"pulling {image}…")
            code, last = await run_to_end(
                self.runtime.command("pull", image),
                env=self.runtime.environment(),
                on_line=self.on_line,
            )
            if code != 0:
                raise ContainerError(f"pulling {image} failed:\n    " + "\n    ".join(last[-5:]))
            code, image_id = await self.runtime.call(
                "image", "inspect", "--format", "{{.Id}}", image
            )
        if build is not None:
            return "inputs:" + await asyncio.to_thread(build_digest, build)
        return image_id.splitlines()[-1] if image_id else image

    def run_spec(self, image_id: str) -> tuple[list[str], dict[str, str], str]:
        """(run arguments after the labels, secret variables, spec hash)."""
        resource = self.resource
        plain, secret = self.resolver.environment(resource)
        args: list[str] = []
        if self.runtime.host_network:
            args += ["--network", "host"]
            for endpoint in resource.endpoints.values():
                host = self.resolver.host_port(resource, endpoint)
                if endpoint.env is None and (endpoint.target_port or host) != host:
                    raise ContainerError(
                        f"{resource.name}: with host networking the container listens on "
                        f"port {host} itself; give endpoint {endpoint.name!r} an env= variable"
                    )
        else:
            args += ["--network", self.app_id, "--add-host", "host.docker.internal:host-gateway"]
            # Reachable by its resource name, as in Compose: the name its TLS certificate has.
            args += ["--network-alias", resource.name]
            for endpoint in resource.endpoints.values():
                host = self.resolver.host_port(resource, endpoint)
                target = self.resolver.listen_port(resource, endpoint)
                args += ["-p", f"127.0.0.1:{host}:{target}"]
        for key, value in sorted(plain.items()):
            args += ["-e", f"{key}={value}"]
        for key in sorted(secret):
            args += ["-e", key]  # the value travels in the CLI's environment, not its argv
        for volume in resource.volumes:
            source = volume.name if volume.source is None else str(volume.source)
            mount = f"{source}:{volume.target}" if source else volume.target
            args += ["-v", mount + (":ro" if volume.read_only else "")]
        if resource.gpus:
            args += self.runtime.gpu_args()
        args += resource.runtime_args
        if resource.entrypoint:
            args += ["--entrypoint", resource.entrypoint]
        args += [resource.image, *resource.args]
        fingerprint = {
            "image": image_id,  # for a built image: the digest of its build inputs
            "args": args,
            "secrets": {k: hashlib.sha256(v.encode()).hexdigest() for k, v in secret.items()},
        }
        digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()
        return args, secret, digest[:16]

    async def existing(self) -> Existing | None:
        code, out = await self.runtime.call(
            "ps", "-a", "--filter", f"name=^{self.name}$", "--format",
            "{{.ID}}\t{{.State}}\t{{.Label \"" + labels.SPEC_HASH + "\"}}",
        )  # fmt: skip
        if code != 0 or not out:
            return None
        container_id, state, spec_hash = [*out.splitlines()[0].split("\t"), "", ""][:3]
        return Existing(container_id, state, spec_hash)

    async def start(self, image_id: str) -> None:
        """Create, restart or reuse the container for ``image_id`` (from ``prepare_image``)."""
        if not self.runtime.host_network:
            await self.runtime.call(
                "network", "create", "--label", f"{labels.APP}={self.app_id}", self.app_id
            )
        args, secret, spec_hash = self.run_spec(image_id)
        found = await self.existing()
        if found is not None and self.persistent and found.spec_hash == spec_hash:
            if found.state == "running":
                self.outcome = "reused"
            else:
                code, out = await self.runtime.call("start", self.name)
                if code != 0:
                    raise ContainerError(f"restarting {self.name} failed: {out}")
                self.outcome = "restarted"
            self.container_id = found.id
            return
        if found is not None:
            reason = "its configuration changed" if self.persistent else "replacing it"
            self.on_line(f"removing container {self.name} ({reason})")
            await self.runtime.call("rm", "-f", self.name)
        marks = [
            "--label", f"{labels.APP}={self.app_id}",
            "--label", f"{labels.RESOURCE}={self.resource.name}",
            "--label", f"{labels.SPEC_HASH}={spec_hash}",
            "--label", f"{labels.LIFETIME}={self.resource.lifetime.value}",
        ]  # fmt: skip
        creating = asyncio.ensure_future(
            self.runtime.call("run", "-d", "--name", self.name, *marks, *args, secrets=secret)
        )
        try:
            code, text = await asyncio.shield(creating)
        except asyncio.CancelledError:
            # Interrupted: let the CLI finish, so the shutdown that follows finds (and removes)
            # the container rather than racing its creation.
            with contextlib.suppress(Exception):
                await creating
            raise
        if code != 0:
            hint = ""
            if self.resource.gpus and "gpu" in text.lower():
                hint = f"\n  GPU passthrough failed: {self.runtime.no_nvidia().fix}"
            raise ContainerError(f"starting {self.name} failed: {text}{hint}")
        self.container_id = text.splitlines()[-1][:12]
        self.outcome = "created"

    def follower(self, tail: str, since: float | None = None) -> ManagedProcess:
        """``logs -f``: the last ``tail`` lines, or those after ``since`` (a Unix time)."""
        args = ["logs", "-f", "--tail", tail]
        if since is not None:
            args += ["--since", f"{since:.3f}"]
        argv = self.runtime.command(*args, self.name)
        return ManagedProcess(argv, env=self.runtime.environment(), on_line=self.on_line)

    async def exit_code(self) -> int | None:
        code, out = await self.runtime.call(
            "inspect", "-f", "{{.State.Running}} {{.State.ExitCode}}", self.name
        )
        if code != 0:
            return -1
        running, _, exit_code = out.partition(" ")
        return None if running == "true" else int(exit_code or -1)

    async def export(self, source: str, destination: Path) -> None:
        """Copy ``source`` out of the running container (whoever owns it in there)."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        code, out = await self.runtime.call("cp", f"{self.name}:{source}", str(destination))
        if code != 0:
            raise ContainerError(f"copying {source} out of {self.name} failed: {out}")

    async def stop(self) -> None:
        """Stop the container; a persistent one stays, to be started again as it is."""
        if self.persistent:
            await self.runtime.call("stop", "-t", "5", self.name)
        else:
            await self.remove()

    async def remove(self) -> None:
        await self.runtime.call("stop", "-t", "5", self.name)
        await self.runtime.call("rm", "-f", self.name)
