"""``emeterai serve``'s options: what it refuses before it listens (exit 2, one line)."""

from __future__ import annotations

import pytest

from emeterai.cli import app


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--host", "0.0.0.0"], "--verify-only to serve others"),
        (["--host", "192.168.1.5"], "--verify-only to serve others"),
        (["--workers", "2"], "--workers is for --verify-only"),
        (["--verify-only", "--host", "0.0.0.0"], "needs an access token"),
        (["--max-upload", "lots"], "lots"),
    ],
)
def test_refused_before_listening(runner, home, monkeypatch, args, says):
    monkeypatch.delenv("EMETERAI_SERVE_TOKEN", raising=False)
    result = runner.invoke(app, ["serve", "--no-open", "--port", "0", *args])
    assert result.exit_code == 2, result.output
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_empty_token_file_is_refused_naming_it(runner, home, tmp_path):
    token = tmp_path / "token.txt"
    token.write_text("\n")
    result = runner.invoke(
        app, ["serve", "--verify-only", "--host", "0.0.0.0", "--token-file", str(token)]
    )
    assert result.exit_code == 2
    assert str(token) in result.stderr and "empty" in result.stderr


def test_the_help_names_every_option_without_programmer_placeholders(runner):
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--verify-only", "--workers", "--token-file", "--lock-after", "--max-upload"):
        assert option in result.stdout
    assert "<" not in result.stdout and "INTEGER" not in result.stdout
