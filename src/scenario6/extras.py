"""The optional parts of the install (pyproject.toml's extras), and what to say when one is missing.

The base install is what the frontend image holds, so a command that needs more names the
extra that brings it. ``python3 setup_scenario6.py`` installs every extra (``dev`` holds the
others); a pip install from the checkout names them (README.md, "Installing with pip").

>>> missing("making a certificate", "tls", "cryptography")  # doctest: +ELLIPSIS
"making a certificate needs the 'tls' extra (cryptography is missing): pip install ..."
"""

from __future__ import annotations


def install_hint(extra: str) -> str:
    """How to add ``extra`` to an install made from the checkout."""
    return (
        f"pip install -c requirements.lock '.[{extra}]' in the checkout "
        "(python3 setup_scenario6.py installs every extra)"
    )


def missing(what: str, extra: str, module: str | None) -> str:
    """One line: ``what`` needs ``extra``, the module found missing, and how to install it."""
    return f"{what} needs the '{extra}' extra ({module or 'a module'} is missing): " + (
        install_hint(extra)
    )


def from_extra(error: ImportError) -> bool:
    """Whether ``error`` is a third-party module missing; our own code broken or absent is
    not something an extra would mend."""
    return error.name is not None and error.name.split(".")[0] not in ("scenario6", "tests")
