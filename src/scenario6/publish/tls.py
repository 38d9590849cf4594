"""The frontend's HTTPS certificate for a published app, and how to make a browser trust it.

Browsers grant the microphone only to secure origins, so the published frontend serves
HTTPS. Without a certificate of the user's own, one signed by a small local CA is made in
the published folder (the same code that makes the backend's) and reused while it fits.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from scenario6.extras import missing
from scenario6.facts.names import FRONTEND

from .options import PublishOptions


@dataclass(frozen=True)
class FrontendCertificate:
    cert: Path
    key: Path
    ca: Path | None
    created: bool

    def spki_hash(self) -> str:
        """Chromium's ``--ignore-certificate-errors-spki-list`` value for this certificate."""
        return spki_sha256(self.cert.read_bytes())

    def trust_hint(self, url: str) -> list[str]:
        if self.ca is None:
            return [f"HTTPS uses your certificate {self.cert}."]
        return [
            f"HTTPS uses a certificate from a local CA: {self.ca}",
            "Trust it once so the browser allows the microphone at " + url + ":",
            f"  Linux (system):  sudo cp {self.ca} /usr/local/share/ca-certificates/"
            "scenario6.crt && sudo update-ca-certificates",
            "  Chrome/Chromium: certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n scenario6 "
            f"-i {self.ca}",
            f"  Firefox:         Settings → Certificates → Authorities → Import {self.ca.name}",
            f"  macOS:           sudo security add-trusted-cert -d -k "
            f"/Library/Keychains/System.keychain {self.ca}",
            f"  One-off testing: chromium --ignore-certificate-errors-spki-list={self.spki_hash()}",
        ]


def prepare(folder: Path, options: PublishOptions) -> FrontendCertificate:
    """Copies the user's pair into ``folder``, or makes (or reuses) a local-CA one there."""
    folder.mkdir(parents=True, exist_ok=True)
    if options.tls_cert is not None and options.tls_key is not None:
        cert, key = folder / "cert.pem", folder / "key.pem"
        if options.tls_cert.resolve() != cert.resolve():
            shutil.copyfile(options.tls_cert, cert)
        if options.tls_key.resolve() != key.resolve():
            shutil.copyfile(options.tls_key, key)
            key.chmod(0o600)
        (folder / "ca.pem").unlink(missing_ok=True)
        return FrontendCertificate(cert, key, None, False)
    try:
        from scenario6.backend.certs import ensure_certificate, subject_names
    except ImportError as exc:  # cryptography comes with the tls extra
        raise RuntimeError(
            missing("making a certificate", "tls", exc.name)
            + "; or bring your own with --tls-cert/--tls-key, or use --no-https"
        ) from exc
    names = subject_names(socket.gethostname(), (FRONTEND, *options.tls_names))
    files, created = ensure_certificate(folder, names)
    return FrontendCertificate(files.cert, files.key, files.ca, created)


def spki_sha256(cert_pem: bytes) -> str:
    """Base64 SHA-256 of the first certificate's SubjectPublicKeyInfo (DER)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(cert_pem)
    der = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode()
