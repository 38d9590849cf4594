"""The slot count has one home, scenario6.facts.slots: its public names (the setting, the
option, the header, the label, the frontend's setting) are spelled nowhere else, and publish
hands the count it was given to the files it writes without reading it back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scenario6.facts import slots
from scenario6.facts.names import BACKEND, BACKEND_PORT
from scenario6.frontend.settings import FrontendSettings
from scenario6.publish import profile
from scenario6.publish.options import PublishOptions
from scenario6.publish.spec import Port, Service
from tests.support.appmodel import APPHOST

from .literals import spelled_outside

SRC = Path(__file__).resolve().parents[2] / "src" / "scenario6"
HOME = SRC / "facts" / "slots.py"
NAMES: dict[str, object] = {
    name: getattr(slots, name)
    for name in ("SLOTS_ENV", "SLOTS_OPTION", "SLOTS_HEADER", "SLOTS_LABEL", "SLOTS_SETTING")
}


def test_no_module_but_the_slots_home_spells_a_name_of_the_slot_count() -> None:
    found = spelled_outside(HOME, [APPHOST, *sorted(SRC.rglob("*.py"))], NAMES, SRC.parents[1])
    assert found == [], "import these from scenario6.facts.slots:\n" + "\n".join(found)


def test_the_frontends_setting_is_the_one_the_home_names() -> None:
    field = FrontendSettings.model_fields[slots.SLOTS_SETTING.lower()]
    assert field.default == 1


@pytest.mark.parametrize("count", [1, 3, slots.AUTO])
def test_publish_labels_the_backend_with_the_count_it_was_given(count: slots.Slots) -> None:
    # A backend whose environment says nothing of it: the count travels in the options.
    backend = Service(BACKEND, "moshi:test", None, ports=[Port("http", "http", BACKEND_PORT)])
    options = PublishOptions(backend="batched", slots=count)
    labelled = profile.apply({BACKEND: backend}, options)[BACKEND]
    assert labelled.labels[slots.SLOTS_LABEL] == str(count)
    assert options.overrides()[slots.SLOTS_ENV] == str(count)


def test_other_backends_get_no_slot_count() -> None:
    backend = Service(BACKEND, "moshi:test", None, ports=[Port("http", "http", BACKEND_PORT)])
    for kind in ("personaplex", "loopback"):
        options = PublishOptions(backend=kind)  # type: ignore[arg-type]
        assert slots.SLOTS_LABEL not in profile.apply({BACKEND: backend}, options)[BACKEND].labels
        assert slots.SLOTS_ENV not in options.overrides()
