"""The backend's TLS certificate: made once in a volume, reused afterwards, trusted via ca.pem.

Upstream's ``--ssl DIR`` wants ``DIR/cert.pem`` and ``DIR/key.pem`` and, when they are
missing, tries to download mkcert and otherwise serves plain HTTP without saying so. The
container entrypoint therefore always provides both files before the server starts.

A small private CA signs the server certificate instead of a bare self-signed one: clients
then trust ``ca.pem`` (the frontend's ``MOSHI_TLS_CA``), and strict X.509 checks (Python
3.13+ enables them by default) accept the chain.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from scenario6.facts.names import BACKEND

CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"
CA_FILE = "ca.pem"
DEFAULT_NAMES = ("localhost", "127.0.0.1", "::1")
VALIDITY = datetime.timedelta(days=825)
# A certificate this close to expiry is replaced at start rather than failing mid-run.
RENEW_BEFORE = datetime.timedelta(days=7)
_CA_NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{BACKEND} local CA")])


class CertificateError(RuntimeError):
    """The TLS files could not be created or read; the server must not start without them."""


@dataclass(frozen=True)
class CertificateFiles:
    """Where the server's certificate chain, its key and the CA to trust live.

    >>> CertificateFiles.in_dir(Path("/data/certs")).ca
    PosixPath('/data/certs/ca.pem')
    """

    cert: Path
    key: Path
    ca: Path

    @classmethod
    def in_dir(cls, directory: Path) -> CertificateFiles:
        return cls(directory / CERT_FILE, directory / KEY_FILE, directory / CA_FILE)


def subject_names(hostname: str, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The names the certificate must cover, in order, without duplicates or blanks."""
    names = [*DEFAULT_NAMES, hostname, *extra]
    seen: dict[str, None] = {}
    for name in names:
        name = name.strip().lower()
        if name:
            seen.setdefault(name, None)
    return tuple(seen)


def ensure_certificate(
    directory: Path, names: Sequence[str], *, now: datetime.datetime | None = None
) -> tuple[CertificateFiles, bool]:
    """Reuses the certificate in ``directory`` when it still fits, else writes a new one.

    Returns the files and whether they were (re)generated. A certificate this module made
    fits when all three files exist, the key belongs to it, its CA signed it, it covers
    every name in ``names`` and it is not about to expire. A certificate someone else put
    there (``cert.pem`` without our ``ca.pem``) is never replaced: it is used as it is, or
    ``CertificateError`` says why it cannot be.
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    files = CertificateFiles.in_dir(directory)
    if files.cert.exists() and not is_generated(files):
        _check_provided(files, now)
        return files, False
    if _still_fits(files, names, now):
        return files, False
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _generate(files, names, now)
    except OSError as exc:
        raise CertificateError(f"cannot write the TLS certificate to {directory}: {exc}") from exc
    return files, True


def is_generated(files: CertificateFiles) -> bool:
    """Whether ``ca.pem`` is a CA this module made (so its certificate may be replaced)."""
    try:
        ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
    except (OSError, ValueError):
        return False
    return ca.subject == _CA_NAME


def covered_names(cert_pem: bytes) -> set[str]:
    """The DNS names and IP addresses in a PEM certificate's subjectAltName, as strings."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = san.get_values_for_type(x509.DNSName)
    ips = san.get_values_for_type(x509.IPAddress)
    return {name.lower() for name in dns} | {str(ip) for ip in ips}


def _still_fits(files: CertificateFiles, names: Sequence[str], now: datetime.datetime) -> bool:
    try:
        chain = x509.load_pem_x509_certificates(files.cert.read_bytes())
        ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
        key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
    except (OSError, ValueError):
        return False
    leaf = chain[0]
    if key.public_key() != leaf.public_key():
        return False
    try:
        leaf.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    if leaf.not_valid_after_utc - RENEW_BEFORE < now:
        return False
    wanted = {_normalise(name) for name in names}
    return wanted <= covered_names(files.cert.read_bytes())


def _check_provided(files: CertificateFiles, now: datetime.datetime) -> None:
    try:
        leaf = x509.load_pem_x509_certificates(files.cert.read_bytes())[0]
        key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise CertificateError(
            f"the provided {files.cert} or {files.key} is unusable: {exc}"
        ) from exc
    if key.public_key() != leaf.public_key():
        raise CertificateError(f"the provided {files.key} does not belong to {files.cert}")
    if leaf.not_valid_after_utc < now:
        raise CertificateError(f"the provided {files.cert} expired on {leaf.not_valid_after_utc}")


def _normalise(name: str) -> str:
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name.lower()


def _san(names: Sequence[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _generate(files: CertificateFiles, names: Sequence[str], now: datetime.datetime) -> None:
    start = now - datetime.timedelta(minutes=5)  # tolerate clocks slightly behind ours
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _CA_NAME
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_san(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # The key first, the certificate last: a reader never sees a certificate without its key.
    _write(files.key, key_pem, 0o600)
    _write(files.ca, ca_cert.public_bytes(pem), 0o644)
    _write(files.cert, leaf.public_bytes(pem) + ca_cert.public_bytes(pem), 0o644)


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    # Written beside the target and renamed, so a crash never leaves half a PEM behind.
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
