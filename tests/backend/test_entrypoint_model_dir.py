"""MOSHI_MODEL_DIR: the entrypoint starts PersonaPlex from a local folder, offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenario6.backend import architecture
from scenario6.backend.entrypoint import BackendConfig, describe, main, server_argv, server_env
from scenario6.backend.model_folder import LM_WEIGHTS, MIMI_WEIGHTS, TOKENIZER, VOICES
from scenario6.bench.harness import free_port
from tests.support.audio import encode_messages, sweep
from tests.support.client import conversation
from tests.support.personaplex import PersonaPlexProcess, TinyPersonaPlex
from tests.support.personaplex.fixtures import tiny_personaplex

__all__ = ["tiny_personaplex"]

REPO = Path(__file__).resolve().parents[2]


def _folder(root: Path, *, sized: bool) -> Path:
    for name in (LM_WEIGHTS, MIMI_WEIGHTS, TOKENIZER):
        (root / name).write_bytes(b"")
    (root / VOICES).mkdir()
    if sized:
        architecture.dump(root / architecture.FILENAME, architecture.TINY)
    return root


def _flag_value(argv: list[str], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv else None


@pytest.mark.parametrize("sized", [True, False])
def test_a_model_folder_becomes_local_file_flags(tmp_path: Path, sized: bool) -> None:
    folder = _folder(tmp_path, sized=sized)
    argv = server_argv(BackendConfig.from_env({"MOSHI_MODEL_DIR": str(folder)}), python="py")
    assert argv[2] == "scenario6.backend.moshi_main"
    assert _flag_value(argv, "--moshi-weight") == str(folder / LM_WEIGHTS)
    assert _flag_value(argv, "--mimi-weight") == str(folder / MIMI_WEIGHTS)
    assert _flag_value(argv, "--tokenizer") == str(folder / TOKENIZER)
    assert _flag_value(argv, "--voice-prompt-dir") == str(folder / VOICES)
    assert argv.count("--voice-prompt-dir") == 1


def test_explicit_voices_win_over_the_folders_own(tmp_path: Path) -> None:
    env = {"MOSHI_MODEL_DIR": str(_folder(tmp_path, sized=False)), "MOSHI_VOICE_PROMPT_DIR": "/v"}
    argv = server_argv(BackendConfig.from_env(env), python="py")
    assert _flag_value(argv, "--voice-prompt-dir") == "/v"
    assert argv.count("--voice-prompt-dir") == 1


def test_the_server_runs_offline_and_names_the_architecture(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    folder = _folder(tmp_path / "model", sized=True)
    config = BackendConfig.from_env({"MOSHI_MODEL_DIR": str(folder)})
    env = server_env(config, {"HF_HOME": "/data/hf", "KEEP": "1"}, tmp_path / "hub")
    assert env["HF_HUB_OFFLINE"] == "1"
    assert env["MOSHI_ARCHITECTURE"] == str(folder / architecture.FILENAME)
    assert env["KEEP"] == "1" and env["HF_HOME"] == "/data/hf"  # the user's cache untouched
    assert Path(env["HF_HUB_CACHE"]).is_relative_to(tmp_path / "hub")
    without = server_env(BackendConfig.from_env({}), {"KEEP": "1"}, tmp_path / "unused")
    assert without == {"KEEP": "1"} and not (tmp_path / "unused").exists()


def test_the_log_line_says_offline_and_not_whether_a_token_is_set(tmp_path: Path) -> None:
    config = BackendConfig.from_env({"MOSHI_MODEL_DIR": str(tmp_path)})
    line = describe(config, {"HF_TOKEN": "hf_secret"})
    assert f"model_dir={tmp_path} (offline)" in line
    assert "HF_TOKEN" not in line and "hf_secret" not in line


def test_a_folder_without_its_files_stops_with_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / TOKENIZER).write_bytes(b"")
    assert main([], {"MOSHI_MODEL_DIR": str(tmp_path)}) == 2
    error = capsys.readouterr().err
    assert f"MOSHI_MODEL_DIR={tmp_path} lacks {LM_WEIGHTS}, {MIMI_WEIGHTS}, {VOICES}/" in error


async def test_the_real_server_starts_from_the_folder_with_an_empty_model_cache(
    tiny_personaplex: TinyPersonaPlex, tmp_path: Path
) -> None:
    """No Hugging Face cache and the Hub offline: everything comes from the folder."""
    port = free_port()
    env = {
        "MOSHI_MODEL_DIR": str(tiny_personaplex.model_dir),
        "MOSHI_DEVICE": "cpu",
        "MOSHI_PORT": str(port),
        "HF_HOME": str(tmp_path / "hf"),
        "TMPDIR": str(tmp_path / "tmp"),
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(REPO / "src"),
        "PYTHONUNBUFFERED": "1",
    }
    (tmp_path / "tmp").mkdir()
    argv = [str(tiny_personaplex.python), "-m", "scenario6.backend.entrypoint"]
    server = PersonaPlexProcess(argv, env, port, "http")
    try:
        server.wait_ready()
        sent = sweep(1.0)
        query = "?voice_prompt=NATM1.pt&text_prompt=Be%20brief."
        async with conversation(server.url + query) as talk:
            await talk.wait_for(talk.handshake.is_set, timeout=60)
            await talk.send_audio(encode_messages(sent))
            await talk.wait_for(lambda: len(talk.decoder.pcm) >= len(sent) * 0.6, timeout=60)
        assert not list((tmp_path / "hf").rglob("*.safetensors"))
    finally:
        server.stop()
