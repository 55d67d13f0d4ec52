"""The command line in a real pseudo-terminal (pexpect), as a person at a keyboard meets it:
prompts, hidden entries, retries, and everything the screen showed.

    term = Terminal(["wallet", "passphrase"], terminal_env(home))
    term.answer("Passphrase for the wallet (current):", "old secret")
    assert term.finish() == 0
    assert "old secret" not in term.screen
"""

from __future__ import annotations

import io
import os
import re
import sys
import termios
from pathlib import Path

import pexpect


def terminal_env(home: Path, **extra: str) -> dict[str, str]:
    """This process's environment without any EMETERAI_ setting, with ``home`` as
    EMETERAI_HOME and ``extra`` added: nothing but the terminal supplies a secret."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMETERAI_")}
    return {**env, "EMETERAI_HOME": str(home), **extra}


class Terminal:
    """``emeterai ARGS`` (this interpreter's ``-m emeterai``) running in a pty."""

    def __init__(
        self,
        args: list[str | Path],
        env: dict[str, str],
        timeout: float = 90,
        cwd: Path | None = None,
    ) -> None:
        self._screen = io.StringIO()
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "emeterai", *map(str, args)],
            env=env,
            cwd=None if cwd is None else str(cwd),
            encoding="utf-8",
            timeout=timeout,
            dimensions=(50, 200),
        )
        self.child.logfile_read = self._screen

    @property
    def screen(self) -> str:
        """Everything shown so far (stdout and stderr share the terminal)."""
        return self._screen.getvalue()

    @property
    def text(self) -> str:
        """The screen without its escape sequences (colours, cursor moves)."""
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", self.screen)

    def ctrl_c(self) -> None:
        """Ctrl-C as typed. The terminal is told not to drop the output still queued for the
        screen when it sees the interrupt (NOFLSH): the test reads every line the program wrote."""
        attrs = termios.tcgetattr(self.child.child_fd)
        attrs[3] |= termios.NOFLSH
        termios.tcsetattr(self.child.child_fd, termios.TCSANOW, attrs)
        self.child.sendintr()

    def expect(self, text: str) -> None:
        """Wait until ``text`` shows; fails with the screen if the program ends first."""
        try:
            self.child.expect_exact(text)
        except (pexpect.EOF, pexpect.TIMEOUT):
            raise AssertionError(f"never shown: {text!r}\n--- screen ---\n{self.screen}") from None

    def type(self, secret: str) -> None:
        """Type a hidden entry and Enter, once the program has turned echo off (typing before
        would be echoed, or flushed by getpass)."""
        self.child.waitnoecho()
        self.child.sendline(secret)

    def answer(self, prompt: str, secret: str) -> None:
        self.expect(prompt)
        self.type(secret)

    def finish(self) -> int:
        """Wait for the program to end; its exit status (minus the signal if one killed it)."""
        self.child.expect(pexpect.EOF)
        self.child.close()
        if self.child.signalstatus is not None:
            return -int(self.child.signalstatus)
        return int(self.child.exitstatus)
