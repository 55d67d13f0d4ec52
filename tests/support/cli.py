"""Running the CLI in-process (Typer's CliRunner on ``emeterai.cli.app``) and reading what it
wrote: the one ``emeterai: error:`` line of a failure, JSON Lines on stdout.

``_run`` and ``_assert_clean_failure`` serve the command-group tests; ``run``, ``json_lines``,
``problem_codes`` and ``stamp_cli`` the verify and ledger tests.
"""

from __future__ import annotations

import json
from pathlib import Path

from emeterai.cli import app


def _run(runner, *args: str):
    return runner.invoke(app, [str(a) for a in args])


def _assert_clean_failure(result, code: int = 1) -> str:
    """Exit ``code``, one 'emeterai: error:' line on stderr, no traceback; returns that line."""
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("emeterai: error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def run(runner, *args, env: dict[str, str] | None = None):
    return runner.invoke(app, [str(a) for a in args], env=env)


def json_lines(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def problem_codes(obj: dict) -> set[str]:
    return {p["code"] for p in obj["problems"]}


def stamp_cli(runner, src: Path, out: Path, env: dict[str, str] | None = None, *extra) -> dict:
    result = run(runner, "stamp", src, "-o", out, "--json", *extra, env=env)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    (obj,) = json_lines(result)
    return obj


def help_in(lang_env: dict[str, str], *args, check: bool = True):
    """``emeterai ARGS --help`` in a real process whose language comes only from ``lang_env``
    (e.g. ``{"LANG": "id_ID.UTF-8"}``): help texts are made when the CLI is imported."""
    import os
    import subprocess
    import sys

    env = {
        k: v for k, v in os.environ.items() if k not in ("EMETERAI_LANG", "LC_ALL", "LC_MESSAGES")
    }
    env.update(lang_env)
    return subprocess.run(
        [sys.executable, "-m", "emeterai", *map(str, args), "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=check,
    )
