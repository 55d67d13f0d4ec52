"""The command tree built as it is used: a subcommand's options are made when it is looked up.

On every start Typer turns each command of the app into a click command
(``typer.main.get_group_from_info``): reading the signatures and evaluating the annotations of
all the commands was about 50 ms of every cold start, ``emeterai --help`` and ``stamp`` alike,
of which a run uses one. :func:`install` puts in its place a function that builds each group
with Typer's own code, but with its subcommands in a :class:`LazyCommands` mapping that builds
each one, again with Typer's own code, on first lookup. A group's command list (its help screen,
"Did you mean" suggestions) needs only the names and each command's help text, which need no
signature. Parsing, help screens and errors stay Typer's. These are private names of Typer's
(pinned below 1.0 in pyproject.toml); ``tests/cli/test_tree.py`` is the contract test: every help
screen and parse error the same as Typer's eager tree.

Upstream, Typer could build subcommands on first lookup; click's ``Group.get_command`` and
``list_commands`` are made for that.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from typer import core as typer_core
from typer import main as typer_main

ORIGINAL_GROUP = typer_main.get_group_from_info
ORIGINAL_FORMAT_COMMANDS = typer_core.TyperGroup.format_commands
ORIGINAL_LIST_COMMANDS = typer_core.TyperGroup.list_commands


class LazyCommands(MutableMapping[str, Any]):
    """A group's subcommands by name, in Typer's order, each built on first lookup."""

    def __init__(self, build: dict[str, Callable[[], Any]], summaries: dict[str, Any]) -> None:
        self._build = build
        self._built: dict[str, Any] = {}
        self.summaries = summaries  # what a command list shows: name, help, hidden, deprecated

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            self._built[name] = self._build[name]()
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._build.setdefault(name, lambda: command)
        self._built[name] = command
        self.summaries[name] = command

    def __delitem__(self, name: str) -> None:
        del self._build[name]
        self._built.pop(name, None)
        del self.summaries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._build)

    def __len__(self) -> int:
        return len(self._build)

    def built(self) -> list[str]:
        """The names built so far (for the tests)."""
        return list(self._built)


def _summary(
    name: str, help: str | None, short_help: str | None, hidden: bool, deprecated: Any
) -> Any:
    """What a command list reads of a command, without its options."""
    return typer_core.TyperCommand(
        name=name, help=help, short_help=short_help, hidden=hidden, deprecated=deprecated
    )


def get_group_from_info(
    group_info: Any,
    *,
    pretty_exceptions_short: bool,
    suggest_commands: bool,
    rich_markup_mode: Any,
) -> Any:
    """Typer's ``get_group_from_info`` with the subcommands built on first lookup."""
    options = {
        "pretty_exceptions_short": pretty_exceptions_short,
        "rich_markup_mode": rich_markup_mode,
    }
    instance = group_info.typer_instance
    build: dict[str, Callable[[], Any]] = {}
    summaries: dict[str, Any] = {}
    for info in instance.registered_commands:
        name = info.name or typer_main.get_command_name(info.callback.__name__)
        help = inspect.getdoc(info.callback) if info.help is None else inspect.cleandoc(info.help)
        build[name] = functools.partial(typer_main.get_command_from_info, info, **options)
        summaries[name] = _summary(name, help, info.short_help, info.hidden, info.deprecated)
    for sub_info in instance.registered_groups:
        solved = typer_main.solve_typer_info_defaults(sub_info)
        if not solved.name:  # its commands merge into this group: Typer's own way
            return ORIGINAL_GROUP(group_info, suggest_commands=suggest_commands, **options)
        build[solved.name] = functools.partial(
            get_group_from_info, sub_info, suggest_commands=suggest_commands, **options
        )
        summaries[solved.name] = _summary(
            solved.name, solved.help, solved.short_help, solved.hidden, solved.deprecated
        )
    bare = copy.copy(instance)
    bare.registered_commands = []
    bare.registered_groups = []
    bare_info = copy.copy(group_info)
    bare_info.typer_instance = bare
    group = ORIGINAL_GROUP(bare_info, suggest_commands=suggest_commands, **options)
    group.commands = LazyCommands(build, summaries)
    return group


def format_commands(self: Any, ctx: Any, formatter: Any) -> None:
    """Typer's command list, read from the summaries of a lazy group."""
    commands = self.commands
    if not isinstance(commands, LazyCommands):
        ORIGINAL_FORMAT_COMMANDS(self, ctx, formatter)
        return
    self.commands = commands.summaries
    try:
        ORIGINAL_FORMAT_COMMANDS(self, ctx, formatter)
    finally:
        self.commands = commands


def list_commands(self: Any, ctx: Any) -> list[str]:
    """Typer's list of names (creation order), without building the commands."""
    if isinstance(self.commands, LazyCommands):
        return list(self.commands)
    return ORIGINAL_LIST_COMMANDS(self, ctx)


def install() -> None:
    """Build command trees lazily from now on (idempotent)."""
    typer_main.get_group_from_info = get_group_from_info
    typer_core.TyperGroup.format_commands = format_commands  # type: ignore[method-assign]
    typer_core.TyperGroup.list_commands = list_commands  # type: ignore[method-assign]


def uninstall() -> None:
    """Typer's own eager tree again (the contract test compares the two)."""
    typer_main.get_group_from_info = ORIGINAL_GROUP
    typer_core.TyperGroup.format_commands = ORIGINAL_FORMAT_COMMANDS  # type: ignore[method-assign]
    typer_core.TyperGroup.list_commands = ORIGINAL_LIST_COMMANDS  # type: ignore[method-assign]
