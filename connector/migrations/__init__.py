"""The catalog schema's Alembic scripts: ``env.py``, ``script.py.mako`` and ``versions/``.

This package only ships the scripts (as package data of the wheel); the code that runs
them is :mod:`connector.migrate`. One revision per schema change, in
``versions/v<NNNN>_<slug>.py`` with ``revision = "<NNNN>"``; see docs/connector.md
("Schema migrations") for how to add one.
"""

from pathlib import Path

#: Directory holding ``env.py`` and ``versions/`` (Alembic's ``script_location``).
SCRIPT_LOCATION = Path(__file__).resolve().parent

__all__ = ["SCRIPT_LOCATION"]
