"""``emeterai.cli._tree``: the command tree built on first lookup says exactly what Typer's eager
tree says (every help screen and parse error, in both languages), and builds only what a run
uses. The contract test for the Typer names it replaces."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import typer.main
from typer import _click

from emeterai.cli import _tree, app

# In a fresh process per language (help texts are made at import): every path's help and a set
# of parse errors, once through the lazy tree and once through Typer's eager one.
_COMPARE = """
import json, sys
import typer.main
from typer.testing import CliRunner
from emeterai.cli import _tree, app

def paths(command, prefix):
    yield prefix
    for name, sub in getattr(command, "commands", {}).items():
        yield from paths(sub, [*prefix, name])

_tree.uninstall()
every = list(paths(typer.main.get_command(app), []))
_tree.install()
errors = [["stmp"], ["wallet", "lst"], ["serial", "check"], ["verify"], ["stamp", "--size", "x"],
          ["stamp", "a.pdf", "--jobs", "0"], ["--lang", "xx", "verify", "a.pdf"], []]
asks = [[*p, "--help"] for p in every] + [[*p, "--no-such-option"] for p in every] + errors
out = {}
for mode in ("eager", "lazy"):
    (_tree.uninstall if mode == "eager" else _tree.install)()
    runner = CliRunner()
    out[mode] = [
        [ask, r.exit_code, r.stdout, r.stderr]
        for ask in asks
        for r in [runner.invoke(app, ask, prog_name="emeterai")]
    ]
json.dump({"paths": every, **out}, sys.stdout)
"""


def _both_trees(lang: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG")}
    env["EMETERAI_LANG"] = lang
    done = subprocess.run(
        [sys.executable, "-c", _COMPARE], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(done.stdout)


def test_every_help_screen_and_parse_error_is_typers_own_in_english_and_indonesian():
    for lang, word in (("en", "Commands"), ("id", "Perintah")):
        got = _both_trees(lang)
        assert len(got["paths"]) > 20  # the root, its groups and every command
        assert len(got["lazy"]) == len(got["eager"])
        for lazy, eager in zip(got["lazy"], got["eager"], strict=True):
            assert lazy == eager, lazy[0]
        root_help = got["lazy"][0]
        assert root_help[1] == 0 and word in root_help[2], root_help
        (typo,) = [e for e in got["lazy"] if e[0] == ["stmp"]]
        assert typo[1] == 2 and "'stamp'" in typo[3], typo  # the suggestion, in either language


def test_a_run_builds_only_the_commands_it_uses():
    root = typer.main.get_command(app)
    assert isinstance(root.commands, _tree.LazyCommands)
    assert root.commands.built() == []
    names = list(root.commands)
    assert {"stamp", "verify", "wallet", "serial"} <= set(names)

    ctx = _click.Context(root, info_name="emeterai")
    help_text = root.get_help(ctx)
    assert "stamp" in help_text and "wallet" in help_text
    assert root.commands.built() == []  # the command list needs no command's options

    serial = root.get_command(ctx, "serial")
    assert root.commands.built() == ["serial"]
    check = serial.get_command(ctx, "check")
    assert serial.commands.built() == ["check"]
    assert [p.name for p in check.params] != []


def test_the_eager_tree_is_typers_own_after_uninstall():
    """The comparison above would prove nothing if both modes were lazy."""
    try:
        _tree.uninstall()
        root = typer.main.get_command(app)
        assert type(root.commands) is dict
    finally:
        _tree.install()
    assert isinstance(typer.main.get_command(app).commands, _tree.LazyCommands)
