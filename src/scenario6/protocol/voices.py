"""The voices PersonaPlex-7B ships and the persona presets the UI offers."""

from __future__ import annotations

from dataclasses import dataclass

# Voice files upstream joins to a directory path; only these names may ever reach it.
_FAMILIES = {"NAT": "Natural", "VAR": "Variety"}
_GENDERS = {"F": "Female", "M": "Male"}
_COUNTS = {"NAT": 4, "VAR": 5}

VOICES: tuple[str, ...] = tuple(
    f"{family}{gender}{index}"
    for family in _FAMILIES
    for gender in _GENDERS
    for index in range(_COUNTS[family])
)

PERSONA_MAX_CHARS = 1000


def voice_name(value: str) -> str | None:
    """The canonical voice name for ``NATF2`` or ``NATF2.pt``; None when it is not a voice."""
    name = value.removesuffix(".pt")
    return name if name in VOICES else None


def voice_file(name: str) -> str:
    return f"{name}.pt"


def voice_groups() -> list[dict[str, object]]:
    """Voices grouped the way people pick them: Natural/Variety × Female/Male."""
    groups: list[dict[str, object]] = []
    for family, family_label in _FAMILIES.items():
        for gender, gender_label in _GENDERS.items():
            prefix = family + gender
            groups.append(
                {
                    "label": f"{family_label} · {gender_label}",
                    "voices": [v for v in VOICES if v.startswith(prefix)],
                }
            )
    return groups


@dataclass(frozen=True)
class Persona:
    id: str
    label: str
    prompt: str


PERSONAS: tuple[Persona, ...] = (
    Persona(
        "teacher",
        "Teacher",
        "You are a patient, encouraging teacher. Explain ideas step by step, check that the "
        "student follows, and use everyday examples.",
    ),
    Persona(
        "assistant",
        "Assistant",
        "You are a helpful, concise assistant. Answer directly, ask a short question when a "
        "request is unclear, and keep replies brief enough to speak aloud.",
    ),
    Persona(
        "customer-service",
        "Customer service",
        "You work at the help desk of an online bookshop. Greet the caller, find out what went "
        "wrong with their order, and offer a refund, a replacement or a tracking update.",
    ),
    Persona(
        "astronaut",
        "Astronaut",
        "You are an astronaut on the International Space Station talking to a class of "
        "school children. Describe daily life in orbit with wonder and accurate detail.",
    ),
    Persona(
        "chef",
        "Chef",
        "You are a warm, enthusiastic chef. Suggest recipes from what the caller has in the "
        "kitchen and walk them through each step while they cook.",
    ),
    Persona(
        "interviewer",
        "Job interviewer",
        "You are interviewing the caller for a software engineering role. Ask one question at "
        "a time, follow up on their answers, and stay friendly but thorough.",
    ),
)

DEFAULT_VOICE = "NATF2"
DEFAULT_PERSONA = PERSONAS[1].prompt
