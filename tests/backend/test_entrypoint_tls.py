"""The backend's TLS certificate: created once, reused, trusted through ca.pem."""

from __future__ import annotations

import asyncio
import datetime
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from scenario6.backend.certs import (
    CertificateError,
    covered_names,
    ensure_certificate,
    subject_names,
)
from scenario6.backend.entrypoint import BackendConfig, prepare_tls, server_argv
from scenario6.backend.healthcheck import check
from tests.support.servers import free_port, loopback_server


def test_names_cover_localhost_the_host_and_extras_once() -> None:
    names = subject_names("c0ffee", ["moshi.example.org", "LOCALHOST", " ", "10.0.0.7"])
    assert names == ("localhost", "127.0.0.1", "::1", "c0ffee", "moshi.example.org", "10.0.0.7")


def test_certificate_is_created_once_then_reused(tmp_path: Path) -> None:
    names = subject_names("box", ["gpu.lan"])
    files, created = ensure_certificate(tmp_path, names)
    assert created
    first = files.cert.read_bytes()
    assert covered_names(first) >= {"localhost", "127.0.0.1", "::1", "box", "gpu.lan"}
    assert oct(files.key.stat().st_mode & 0o777) == "0o600"

    again, created = ensure_certificate(tmp_path, names)
    assert not created
    assert again.cert.read_bytes() == first


def test_certificate_is_replaced_when_a_new_name_is_needed(tmp_path: Path) -> None:
    files, _ = ensure_certificate(tmp_path, subject_names("box"))
    _, created = ensure_certificate(tmp_path, subject_names("box", ["new.name"]))
    assert created
    assert "new.name" in covered_names(files.cert.read_bytes())


def test_certificate_is_replaced_when_expiring_or_broken(tmp_path: Path) -> None:
    names = subject_names("box")
    files, _ = ensure_certificate(tmp_path, names)
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=824)
    assert ensure_certificate(tmp_path, names, now=later)[1]
    files.key.write_text("garbage")
    assert ensure_certificate(tmp_path, names)[1]


def test_tls_on_without_a_certificate_generates_one_before_the_server_starts(
    tmp_path: Path,
) -> None:
    certs = tmp_path / "certs"
    config = BackendConfig.from_env({"MOSHI_USE_SSL": "1", "MOSHI_SSL_DIR": str(certs)})
    line = prepare_tls(config, "moshi-host")
    assert "created" in line
    assert {p.name for p in certs.iterdir()} == {"cert.pem", "key.pem", "ca.pem"}
    assert "scenario6-moshi" in covered_names((certs / "cert.pem").read_bytes())
    assert "--ssl" in server_argv(config)
    assert "reusing" in prepare_tls(config, "moshi-host")


async def test_a_client_trusting_ca_pem_completes_a_verified_handshake(tmp_path: Path) -> None:
    files, _ = ensure_certificate(tmp_path, subject_names("box"))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(files.cert, files.key)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    client_context = ssl.create_default_context(cafile=str(files.ca))
    if hasattr(ssl, "VERIFY_X509_STRICT"):
        client_context.verify_flags |= ssl.VERIFY_X509_STRICT
    async with server:
        for host in ("localhost", "127.0.0.1"):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=client_context, server_hostname=host
            )
            assert await reader.read() == b"hello"
            writer.close()
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.open_connection(
                "127.0.0.1", port, ssl=client_context, server_hostname="elsewhere.example"
            )


def test_entrypoint_module_generates_the_certificate_then_execs_the_server(
    tmp_path: Path,
) -> None:
    # The loopback server is replaced by a harmless one through the extra arguments:
    # "--help" makes it print usage and exit after the entrypoint did its work.
    certs = tmp_path / "certs"
    env = {
        **os.environ,
        "MOSHI_BACKEND": "loopback",
        "MOSHI_USE_SSL": "on",
        "MOSHI_SSL_DIR": str(certs),
        "MOSHI_CERT_NAMES": "voice.example.org",
    }
    result = subprocess.run(
        [sys.executable, "-m", "scenario6.backend.entrypoint", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--ssl-certfile" in result.stdout  # the loopback command's own help
    assert "TLS: created" in result.stderr
    assert "voice.example.org" in covered_names((certs / "cert.pem").read_bytes())


def _provided_pair(tmp_path: Path) -> Path:
    """A certificate and key as an operator would mount them: no ca.pem of ours beside them."""
    made, _ = ensure_certificate(tmp_path / "elsewhere", subject_names("voice.example.org"))
    target = tmp_path / "provided"
    target.mkdir()
    for source in (made.cert, made.key):
        (target / source.name).write_bytes(source.read_bytes())
    return target


def test_a_provided_certificate_is_used_and_never_replaced(tmp_path: Path) -> None:
    directory = _provided_pair(tmp_path)
    before = {p.name: p.read_bytes() for p in directory.iterdir()}
    _, created = ensure_certificate(directory, subject_names("other-host", ["new.name"]))
    assert not created
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before
    config = BackendConfig.from_env({"MOSHI_USE_SSL": "1", "MOSHI_SSL_DIR": str(directory)})
    assert prepare_tls(config, "other-host").startswith("TLS: using the provided")


def test_a_provided_key_that_does_not_match_stops_the_start(tmp_path: Path) -> None:
    directory = _provided_pair(tmp_path)
    other, _ = ensure_certificate(tmp_path / "other", subject_names("x"))
    (directory / "key.pem").write_bytes(other.key.read_bytes())
    with pytest.raises(CertificateError, match="does not belong"):
        ensure_certificate(directory, subject_names("x"))
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=900)
    (directory / "key.pem").write_bytes((tmp_path / "elsewhere" / "key.pem").read_bytes())
    with pytest.raises(CertificateError, match="expired"):
        ensure_certificate(directory, subject_names("x"), now=later)


@pytest.mark.parametrize("provided", [False, True])
async def test_health_probe_over_tls_with_our_or_a_provided_certificate(
    tmp_path: Path, provided: bool
) -> None:
    directory = _provided_pair(tmp_path) if provided else tmp_path / "ours"
    files, _ = ensure_certificate(directory, subject_names("box"))
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(files.cert, files.key)
    port = free_port()
    env = {
        "MOSHI_BACKEND": "loopback",
        "MOSHI_PORT": str(port),
        "MOSHI_USE_SSL": "1",
        "MOSHI_SSL_DIR": str(directory),
    }
    async with loopback_server(port=port, ssl_context=server_tls):
        healthy, seen = await asyncio.to_thread(check, BackendConfig.from_env(env))
    assert healthy, seen
