"""The part of Aspire's resource-service contract (``aspire.v1.DashboardService``) that we
serve, described in code: its messages, enums and methods, as protobuf descriptors.

Field numbers, names and types follow upstream's ``dashboard_service.proto``; a test compiles
that file and compares. Fields we never set are left out: a reader skips what it does not
know, so the wire stays compatible.

>>> Resource = message("Resource"); Resource(name="web").name
'web'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    message_factory,
    struct_pb2,
    timestamp_pb2,
)

PACKAGE = "aspire.v1"
SERVICE = f"{PACKAGE}.DashboardService"
FILE = "scenario6/aspire/v1/dashboard_service.proto"  # our own name: no clash with upstream's

_Field = descriptor_pb2.FieldDescriptorProto
SCALARS = {"string": _Field.TYPE_STRING, "bool": _Field.TYPE_BOOL, "int32": _Field.TYPE_INT32}
WELL_KNOWN = {"Timestamp": "google.protobuf.Timestamp", "Value": "google.protobuf.Value"}


@dataclass(frozen=True)
class Field:
    """One field: ``kind`` is a scalar's name, or a message or enum of this contract (or
    Timestamp / Value); ``oneof`` names a real oneof, ``optional`` is proto3's keyword."""

    name: str
    number: int
    kind: str
    repeated: bool = False
    optional: bool = False
    oneof: str = ""


def _f(name: str, number: int, kind: str, *flags: str, oneof: str = "") -> Field:
    return Field(name, number, kind, "repeated" in flags, "optional" in flags, oneof)


ENUMS: dict[str, tuple[str, ...]] = {
    # Values in number order, from 0.
    "ResourceCommandState": ("ENABLED", "DISABLED", "HIDDEN"),
    "ResourceCommandResponseKind": ("UNDEFINED", "SUCCEEDED", "FAILED", "CANCELLED"),
    "HealthStatus": ("HEALTHY", "UNHEALTHY", "DEGRADED"),
}
_PREFIX = {
    "ResourceCommandState": "RESOURCE_COMMAND_STATE_",
    "ResourceCommandResponseKind": "RESOURCE_COMMAND_RESPONSE_KIND_",
    "HealthStatus": "HEALTH_STATUS_",
}

MESSAGES: dict[str, tuple[Field, ...]] = {
    "ApplicationInformationRequest": (),
    "ApplicationInformationResponse": (_f("application_name", 1, "string"),),
    "ResourceCommand": (
        _f("name", 1, "string"),
        _f("display_name", 2, "string"),
        _f("confirmation_message", 3, "string", "optional"),
        _f("is_highlighted", 5, "bool"),
        _f("icon_name", 6, "string", "optional"),
        _f("display_description", 8, "string", "optional"),
        _f("state", 9, "ResourceCommandState"),
    ),
    "ResourceCommandRequest": (
        _f("command_name", 1, "string"),
        _f("resource_name", 2, "string"),
        _f("resource_type", 3, "string"),
    ),
    "ResourceCommandResponse": (
        _f("kind", 1, "ResourceCommandResponseKind"),
        _f("error_message", 2, "string", "optional"),
    ),
    "ResourceType": (
        _f("unique_name", 1, "string"),
        _f("display_name", 2, "string", "optional"),
        _f("commands", 3, "ResourceCommand", "repeated"),
    ),
    "EnvironmentVariable": (
        _f("name", 1, "string"),
        _f("value", 2, "string", "optional"),
        _f("is_from_spec", 3, "bool"),
    ),
    "Url": (
        _f("endpoint_name", 1, "string", "optional"),
        _f("full_url", 2, "string"),
        _f("is_internal", 3, "bool"),
        _f("is_inactive", 4, "bool"),
        _f("display_properties", 5, "UrlDisplayProperties"),
    ),
    "UrlDisplayProperties": (_f("sort_order", 1, "int32"), _f("display_name", 2, "string")),
    "HealthReport": (
        _f("status", 1, "HealthStatus", "optional"),
        _f("key", 2, "string"),
        _f("description", 3, "string"),
        _f("exception", 4, "string"),
        _f("last_run_at", 5, "Timestamp", "optional"),
    ),
    "ResourceProperty": (
        _f("name", 1, "string"),
        _f("display_name", 2, "string", "optional"),
        _f("value", 3, "Value"),
        _f("is_sensitive", 4, "bool", "optional"),
    ),
    "Resource": (
        _f("name", 1, "string"),
        _f("resource_type", 2, "string"),
        _f("display_name", 3, "string"),
        _f("uid", 4, "string"),
        _f("state", 5, "string", "optional"),
        _f("created_at", 6, "Timestamp", "optional"),
        _f("environment", 7, "EnvironmentVariable", "repeated"),
        _f("commands", 11, "ResourceCommand", "repeated"),
        _f("properties", 12, "ResourceProperty", "repeated"),
        _f("urls", 13, "Url", "repeated"),
        _f("state_style", 14, "string", "optional"),
        _f("health_reports", 17, "HealthReport", "repeated"),
        _f("started_at", 18, "Timestamp", "optional"),
        _f("stopped_at", 19, "Timestamp", "optional"),
        _f("is_hidden", 21, "bool"),
    ),
    "InitialResourceData": (
        _f("resources", 1, "Resource", "repeated"),
        _f("resource_types", 2, "ResourceType", "repeated"),
    ),
    "ResourceDeletion": (_f("resource_name", 1, "string"), _f("resource_type", 2, "string")),
    "WatchResourcesChange": (
        _f("delete", 1, "ResourceDeletion", oneof="kind"),
        _f("upsert", 2, "Resource", oneof="kind"),
    ),
    "WatchResourcesChanges": (_f("value", 1, "WatchResourcesChange", "repeated"),),
    "WatchResourcesRequest": (_f("is_reconnect", 1, "bool", "optional"),),
    "WatchResourcesUpdate": (
        _f("initial_data", 1, "InitialResourceData", oneof="kind"),
        _f("changes", 2, "WatchResourcesChanges", oneof="kind"),
    ),
    "ConsoleLogLine": (
        _f("text", 1, "string"),
        _f("is_std_err", 2, "bool", "optional"),
        _f("line_number", 3, "int32"),
    ),
    "WatchResourceConsoleLogsRequest": (
        _f("resource_name", 1, "string"),
        _f("suppress_follow", 2, "bool"),
    ),
    "WatchResourceConsoleLogsUpdate": (_f("log_lines", 1, "ConsoleLogLine", "repeated"),),
}


@dataclass(frozen=True)
class Method:
    request: str
    response: str
    client_streaming: bool = False
    server_streaming: bool = False


METHODS: dict[str, Method] = {
    "GetApplicationInformation": Method(
        "ApplicationInformationRequest", "ApplicationInformationResponse"
    ),
    "WatchResources": Method("WatchResourcesRequest", "WatchResourcesUpdate", False, True),
    "WatchResourceConsoleLogs": Method(
        "WatchResourceConsoleLogsRequest", "WatchResourceConsoleLogsUpdate", False, True
    ),
    "ExecuteResourceCommand": Method("ResourceCommandRequest", "ResourceCommandResponse"),
    # Interactions (prompts shown by the dashboard) are not offered: the handler refuses.
    "WatchInteractions": Method(
        "WatchInteractionsRequestUpdate", "WatchInteractionsResponseUpdate", True, True
    ),
}
# Messages of methods we only refuse: named for the method table, never built.
UNSERVED = {"WatchInteractionsRequestUpdate", "WatchInteractionsResponseUpdate"}


def _type_name(kind: str) -> str:
    return "." + WELL_KNOWN.get(kind, f"{PACKAGE}.{kind}")


def _field(spec: Field, oneofs: list[str]) -> descriptor_pb2.FieldDescriptorProto:
    field = _Field(name=spec.name, number=spec.number, json_name=_json_name(spec.name))
    field.label = _Field.LABEL_REPEATED if spec.repeated else _Field.LABEL_OPTIONAL
    if spec.kind in SCALARS:
        field.type = SCALARS[spec.kind]
    else:
        field.type = _Field.TYPE_ENUM if spec.kind in ENUMS else _Field.TYPE_MESSAGE
        field.type_name = _type_name(spec.kind)
    if spec.oneof:
        field.oneof_index = oneofs.index(spec.oneof)
    return field


def _json_name(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _message(name: str, fields: tuple[Field, ...]) -> descriptor_pb2.DescriptorProto:
    message = descriptor_pb2.DescriptorProto(name=name)
    # Real oneofs first; then one synthetic oneof per proto3 ``optional`` field.
    oneofs = list(dict.fromkeys(f.oneof for f in fields if f.oneof))
    for spec in fields:
        field = _field(spec, oneofs)
        if spec.optional:
            field.proto3_optional = True
            oneofs.append(f"_{spec.name}")
            field.oneof_index = len(oneofs) - 1
        message.field.append(field)
    message.oneof_decl.extend(descriptor_pb2.OneofDescriptorProto(name=n) for n in oneofs)
    return message


def file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    """The contract as one ``.proto`` file's descriptor."""
    file = descriptor_pb2.FileDescriptorProto(name=FILE, package=PACKAGE, syntax="proto3")
    file.dependency.extend(["google/protobuf/struct.proto", "google/protobuf/timestamp.proto"])
    for name, values in ENUMS.items():
        enum = file.enum_type.add(name=name)
        for number, value in enumerate(values):
            enum.value.add(name=_PREFIX[name] + value, number=number)
    for name, fields in MESSAGES.items():
        file.message_type.append(_message(name, fields))
    for name in sorted(UNSERVED):
        file.message_type.add(name=name)
    service = file.service.add(name=SERVICE.rsplit(".", 1)[1])
    for name, method in METHODS.items():
        service.method.add(
            name=name,
            input_type=_type_name(method.request),
            output_type=_type_name(method.response),
            client_streaming=method.client_streaming,
            server_streaming=method.server_streaming,
        )
    return file


@functools.cache
def pool() -> descriptor_pool.DescriptorPool:
    """A pool of our own, so that upstream's generated code may share the process."""
    found = descriptor_pool.DescriptorPool()
    for known in (struct_pb2.DESCRIPTOR, timestamp_pb2.DESCRIPTOR):
        found.AddSerializedFile(known.serialized_pb)
    found.Add(file_descriptor())
    return found


@functools.cache
def message(name: str) -> Any:
    """The message class ``name`` of this contract (e.g. ``message("Resource")``)."""
    return message_factory.GetMessageClass(pool().FindMessageTypeByName(f"{PACKAGE}.{name}"))


def enum(name: str, value: str) -> int:
    """The number of enum ``name``'s ``value`` (its name without the prefix)."""
    return ENUMS[name].index(value)
