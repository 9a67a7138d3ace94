"""The README's quickstart: its CLI command and its Python snippet print the same segments, the
printed output in the README is what the command prints, and the plot command writes outside
the repository."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import warnings
from pathlib import Path

import pytest

from skelloc.cli import run
from skelloc.errors import FrameRateAssumedWarning

REPO = Path(__file__).resolve().parents[1]


def quickstart() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("## Quickstart")
    return text[start:text.index("\n## ", start + 3)]


def blocks(section: str, lang: str) -> list[str]:
    """The fenced code blocks of ``section`` whose info string is ``lang`` ("" for none)."""
    out: list[str] = []
    current: list[str] | None = None
    info = ""
    for line in section.splitlines():
        if line.startswith("```"):
            if current is None:
                current, info = [], line[3:].strip()
            else:
                if info == lang:
                    out.append("\n".join(current) + "\n")
                current = None
        elif current is not None:
            current.append(line)
    return out


def cli_commands(section: str) -> list[list[str]]:
    """The ``skelloc ...`` command lines of the section's bash blocks, as argument lists."""
    out = []
    for block in blocks(section, "bash"):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("skelloc "):
                out.append(shlex.split(line)[1:])
    return out


def printed(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FrameRateAssumedWarning)
        assert run(argv) == 0
    return capsys.readouterr().out


def test_cli_and_python_quickstarts_print_the_same_segments(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO)
    section = quickstart()
    command = cli_commands(section)[0]
    assert command[0] == "localize" and "--min-score" not in command  # the model's default
    doc = json.loads(printed([*command, "--format", "json"], capsys))
    cli = [f"{s['label']:35s} {s['start_s']:6.2f}-{s['end_s']:6.2f}s  {s['score']:.2f}"
           for s in doc[0]["segments"]]
    code = blocks(section, "python")[0]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), warnings.catch_warnings():
        warnings.simplefilter("ignore", FrameRateAssumedWarning)
        exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - the README's own snippet
    assert buf.getvalue().splitlines() == cli
    assert 4 <= len(cli) <= 12  # a usable default output, not every proposal


def test_readme_shows_what_the_cli_prints(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO)
    section = quickstart()
    out = printed(cli_commands(section)[0], capsys)
    shown = blocks(section, "")  # the untagged block holds the printed output
    assert any(block.strip() == out.strip() for block in shown), out


def test_plot_command_leaves_the_repository_untouched(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(REPO)
    plots = [c for c in cli_commands(quickstart()) if "--plot" in c]
    assert plots, "the quickstart has a plot command"
    target = Path(plots[0][plots[0].index("--plot") + 1])
    assert target.is_absolute() and REPO not in target.parents
    before = target.stat().st_mtime if target.exists() else None
    printed(plots[0], capsys)
    assert target.is_file() and target.stat().st_mtime != before
    if os.access(target, os.W_OK):
        target.unlink()
