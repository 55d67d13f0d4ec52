"""`emeterai demo` and the README's first two commands, run as a newcomer would."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from emeterai.cli import app
from emeterai.trust import TrustStore
from emeterai.verify import Verifier
from tests.support.common import PROJECT_ROOT, _missing


def test_demo_stamps_the_sample_and_prints_the_output_path_and_valid(runner, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the demo's throwaway home
    monkeypatch.delenv("EMETERAI_HOME", raising=False)
    monkeypatch.delenv("EMETERAI_PASSPHRASE", raising=False)
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    m = re.search(r"^stamped: (.+)$", result.stdout, re.MULTILINE)
    assert m, result.stdout
    output = Path(m.group(1))
    assert output.is_file() and output.is_relative_to(tmp_path)
    verdict = re.search(
        r"^verdict: (\w+) \((\w{22}), Rp10,000, (.+), SPESIMEN\)$", result.stdout, re.M
    )
    assert verdict, result.stdout
    assert verdict.group(1) == "VALID"
    # the output really is a valid stamp of the demo issuer, checked independently of the demo
    roots = TrustStore(output.parent / "trust").certificates()
    checked = Verifier(roots).verify(output.read_bytes(), str(output))
    assert checked.valid, [p.to_json() for p in checked.problems]
    assert checked.stamps[0].serial == verdict.group(2)
    assert checked.stamps[0].specimen is True
    assert output.read_bytes().startswith((PROJECT_ROOT / "samples" / "lamaran.pdf").read_bytes())

    # where its files are, that they stay, and what to try next: commands that work as printed
    assert f"The demo's files stay in {output.parent}" in result.stderr
    verify_line = next(ln for ln in result.stderr.splitlines() if " emeterai verify " in ln)
    env_part, command = verify_line.strip().split(" emeterai ", 1)
    home = env_part.removeprefix("EMETERAI_HOME=")
    again = runner.invoke(app, command.split(), env={"EMETERAI_HOME": home})
    assert again.exit_code == 0, again.stderr
    assert "VALID" in again.stderr
    assert "wallet list" in result.stderr and "--dry-run" in result.stderr


def readme_commands() -> list[str]:
    """The command lines of the README's first ```sh block (comments dropped)."""
    text = (PROJECT_ROOT / "README.md").read_text()
    m = re.search(r"```sh\n(.*?)```", text, re.S)
    assert m, "README has no ```sh block"
    return [ln.strip() for ln in m.group(1).splitlines() if ln.strip() and not ln.startswith("#")]


def test_readme_shows_two_commands_install_demo_and_tests():
    demo, tests = readme_commands()
    assert demo.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install . ")
    assert demo.endswith("&& emeterai demo")
    assert tests.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install -e ")
    assert "'.[test]'" in tests
    assert tests.endswith("&& python -m pytest -q -n 2")


def _copy_of_the_project(dest: Path) -> Path:
    """The files git knows (tracked ones, as they are in the working tree) copied to ``dest``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True
    ).stdout
    names = [n for n in listed.decode().split("\0") if n]
    assert "pyproject.toml" in names, "not a git checkout"
    for name in names:
        src = PROJECT_ROOT / name
        if src.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    return dest


@pytest.mark.slow
def test_readme_commands_work_in_a_fresh_venv(tmp_path):
    if shutil.which("git") is None or not (PROJECT_ROOT / ".git").exists():
        _missing("needs git and a git checkout of the project")
    demo, tests = readme_commands()
    assert tests.endswith("python -m pytest -q -n 2")
    tests = tests + " tests/test_serial.py"  # a small subset, not this whole suite again
    project = _copy_of_the_project(tmp_path / "project")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME") and not k.startswith("EMETERAI_")
    }
    if sys.prefix != sys.base_prefix:  # the system python3, not this test run's venv
        venv_bin = str(Path(sys.prefix) / "bin")
        env["PATH"] = os.pathsep.join(
            p for p in env.get("PATH", "").split(os.pathsep) if p.rstrip("/") != venv_bin
        )
    env["TMPDIR"] = str(tmp_path)
    env["HOME"] = os.environ.get("HOME", str(tmp_path))
    for command, expect in ((demo, "verdict: VALID"), (tests, " passed")):
        shutil.rmtree(project / ".venv", ignore_errors=True)
        proc = subprocess.run(
            ["bash", "-c", command],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert proc.returncode == 0, (command, proc.stdout[-3000:], proc.stderr[-3000:])
        assert expect in proc.stdout, proc.stdout[-3000:]
        assert (project / ".venv" / "bin" / "emeterai").exists()
