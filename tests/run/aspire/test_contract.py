"""Our description of Aspire's resource-service contract matches upstream's .proto: each message
and field we use has the number, name, type and presence of the vendored file's, each enum
value its number, and each method its message types and streaming."""

from __future__ import annotations

from typing import Any

from scenario6.run.aspire import contract
from tests.support.aspire import Upstream


def _shape(field: Any) -> tuple[object, ...]:
    kind = field.message_type or field.enum_type
    oneof = field.containing_oneof
    real_oneof = oneof.name if oneof is not None and not oneof.name.startswith("_") else ""
    return (field.name, field.number, field.type, field.is_repeated, field.has_presence,
            kind.full_name if kind else "", real_oneof)  # fmt: skip


def test_every_message_we_use_matches_upstream(upstream: Upstream) -> None:
    ours = contract.pool().FindFileByName(contract.FILE)
    theirs = upstream.pb2.DESCRIPTOR
    assert ours.package == theirs.package == "aspire.v1"
    compared = 0
    for name, message in ours.message_types_by_name.items():
        assert name in theirs.message_types_by_name, f"upstream has no message {name}"
        upstream_fields = theirs.message_types_by_name[name].fields_by_number
        for field in message.fields:
            assert field.number in upstream_fields, f"{name}.{field.name}: no such number"
            assert _shape(field) == _shape(upstream_fields[field.number]), f"{name}.{field.name}"
            compared += 1
    assert compared >= 60, compared  # a vacuous pass would compare nothing


def test_enum_values_match_upstream(upstream: Upstream) -> None:
    ours = contract.pool().FindFileByName(contract.FILE)
    for name, enum in ours.enum_types_by_name.items():
        upstream_enum = upstream.pb2.DESCRIPTOR.enum_types_by_name[name]
        values = {value.name: value.number for value in enum.values}
        assert values == {value.name: value.number for value in upstream_enum.values}, name


def test_every_upstream_method_is_served_with_its_types(upstream: Upstream) -> None:
    ours = contract.pool().FindServiceByName(contract.SERVICE)
    theirs = upstream.pb2.DESCRIPTOR.services_by_name["DashboardService"]
    assert ours.full_name == theirs.full_name
    assert set(ours.methods_by_name) == set(theirs.methods_by_name)
    for name, method in theirs.methods_by_name.items():
        mine = ours.methods_by_name[name]
        assert (mine.input_type.full_name, mine.output_type.full_name) == (
            method.input_type.full_name,
            method.output_type.full_name,
        ), name
        assert (mine.client_streaming, mine.server_streaming) == (
            method.client_streaming,
            method.server_streaming,
        ), name


def test_a_resource_we_encode_reads_back_with_upstream_classes(upstream: Upstream) -> None:
    resource = contract.message("Resource")(name="web", resource_type="Project", uid="web")
    resource.created_at.seconds = 1_700_000_000
    url = resource.urls.add(endpoint_name="http", full_url="http://127.0.0.1:8010")
    url.display_properties.SetInParent()
    resource.properties.add(name="executable.pid").value.number_value = 42
    read = upstream.pb2.Resource.FromString(resource.SerializeToString())
    assert (read.name, read.resource_type, read.created_at.seconds) == ("web", "Project", 1.7e9)
    assert read.urls[0].HasField("display_properties")
    assert read.properties[0].value.number_value == 42
