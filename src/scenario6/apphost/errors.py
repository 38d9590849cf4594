"""The one error type an invalid app model raises."""

from __future__ import annotations


class AppModelError(ValueError):
    """An app model that cannot be run or published; the message names what to fix.

    >>> str(AppModelError("bad port", resource="web", field="port"))
    "resource 'web', field 'port': bad port"
    """

    def __init__(self, message: str, *, resource: str | None = None, field: str | None = None):
        where = []
        if resource is not None:
            where.append(f"resource {resource!r}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.resource = resource
        self.field = field
