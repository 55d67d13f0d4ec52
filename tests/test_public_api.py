"""The public API: the README's "Use from Python" example runs as written, and importing the
package stays light (the heavy modules load on first use of a name)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import emeterai
from tests.support.common import PASSPHRASE

README = Path(__file__).resolve().parent.parent / "README.md"


def _readme_example() -> str:
    text = README.read_text()
    section = text.split("## Use from Python", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README has no Python example under 'Use from Python'"
    return match.group(1)


def test_the_readme_example_stamps_and_verifies(home, wallet_with_stamps, tmp_path):
    from emeterai.demo import sample_letter

    wallet_with_stamps(1)
    work = tmp_path / "work"
    work.mkdir()
    (work / "lamaran.pdf").write_bytes(sample_letter())
    env = {"EMETERAI_HOME": str(home), "EMETERAI_PASSPHRASE": PASSPHRASE, "PATH": "/usr/bin"}
    done = subprocess.run(
        [sys.executable, "-c", _readme_example()],
        cwd=work,
        env={**env, "PYTHONPATH": str(README.parent)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    serial_line, verdict = done.stdout.splitlines()
    assert re.fullmatch(r"[0-9A-Z]{22} 1", serial_line), serial_line
    assert verdict == "VALID []"
    assert (work / "lamaran.emeterai.pdf").read_bytes().startswith(sample_letter())


def test_every_public_name_resolves_and_the_package_imports_light():
    for name in emeterai.__all__:
        assert getattr(emeterai, name) is not None, name
    probe = "import sys, emeterai; print(sorted(m for m in ('pyhanko', 'pypdf', 'reportlab') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
