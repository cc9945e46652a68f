"""The ``cckit`` command: a thin face over the wings' own command modules.

Each wing owns its sub-command groups (``<wing>/cli.py``, or ``connector/cli/<group>.py``,
one module per group); compositions such as the demo live in this package. This module
only knows
where each group lives. Groups are imported lazily so that ``cckit --help`` and
``cckit aicc ...`` do not pay for Flask, SQLAlchemy or pytest start-up.
"""

from __future__ import annotations

import importlib

import click

from cckit import __version__

#: Sub-command name -> ``"module:attribute"`` of the wing's click command.
#: Add a line here when a wing's command becomes real; never register a stub.
WING_COMMANDS: dict[str, str] = {
    "aicc": "aicc.cli:aicc",
    "integrations": "connector.cli.integrations:integrations",
    "catalog": "connector.cli.catalog:catalog",
    "runs": "connector.cli.runs:runs",
    "db": "connector.cli.db:db",
    "scheduler": "connector.cli.scheduler:scheduler",
    "sync": "connector.cli.sync:sync",
    "worker": "connector.cli.worker:worker",
    "jobs": "connector.cli.jobs:jobs",
    "demo": "cckit.demo:demo",
    "vendor": "mock_vendor.cli:vendor",
    "conformance": "conformance.cli:conformance",
    "console": "console.cli:console",
    "lms-check": "lms_check.cli:lms_check",
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported only when used."""

    def __init__(self, *args: object, lazy_commands: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._lazy_commands:
            module_name, _, attribute = self._lazy_commands[cmd_name].partition(":")
            command = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(command, click.Command):  # pragma: no cover - wiring error
                raise TypeError(f"{self._lazy_commands[cmd_name]} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
    lazy_commands=WING_COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "-V", "--version", prog_name="cckit")
def main() -> None:
    """Catalog Connector kit: AICC toolkit, vendor contract, mock vendor, connector,
    conformance suite.

    Run "cckit COMMAND --help" for the options of each command.
    """
