"""README.id.md stands on its own: it is linked from the top of README.md, and every command
line of its examples names commands and options that exist."""

from __future__ import annotations

import re
import shlex

import typer.main

from emeterai.cli import app
from tests.support.common import PROJECT_ROOT


def _command_lines(text: str) -> list[list[str]]:
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    lines = []
    for block in blocks:
        for line in block.splitlines():
            line = line.lstrip("> ").split("#", 1)[0].strip()
            if line.startswith("emeterai "):
                lines.append(shlex.split(line)[1:])
    return lines


def test_readme_md_links_the_indonesian_guide_at_the_top():
    head = (PROJECT_ROOT / "README.md").read_text().splitlines()[:5]
    assert any("[README.id.md](README.id.md)" in line for line in head)


def test_every_command_of_the_indonesian_guide_exists_with_its_options():
    lines = _command_lines((PROJECT_ROOT / "README.id.md").read_text())
    assert len(lines) >= 10
    root = typer.main.get_command(app)
    for words in lines:
        command = root
        rest = list(words)
        while rest and hasattr(command, "commands") and rest[0] in command.commands:
            command = command.commands[rest.pop(0)]
        assert not hasattr(command, "commands"), f"no such command: emeterai {' '.join(words)}"
        known = {opt for param in command.params for opt in param.opts}
        for word in rest:
            if word.startswith("--"):
                assert word.split("=")[0] in known, f"emeterai {' '.join(words)}: {word}?"
