"""A Python resource's venv is created when missing and installed only when its deps change."""

from __future__ import annotations

from pathlib import Path

from scenario6.apphost import PythonAppResource, PythonEntry
from scenario6.run import venv


async def test_venv_created_then_installed_only_on_change(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("# nothing yet\n")
    resource = PythonAppResource("web", tmp_path, PythonEntry("module", "http.server")).with_pip()
    lines: list[str] = []

    python = await venv.prepare(resource, lines.append)
    assert python == tmp_path / ".venv" / "bin" / "python" and python.exists()
    assert any(line.startswith("creating virtual environment") for line in lines)
    assert any("pip install --disable-pip-version-check -r requirements.txt" in ln for ln in lines)

    lines.clear()
    await venv.prepare(resource, lines.append)
    assert lines == []  # nothing changed: no install

    (tmp_path / "requirements.txt").write_text("# nothing yet\n# still nothing\n")
    await venv.prepare(resource, lines.append)
    assert any(line.startswith("installing dependencies") for line in lines)
