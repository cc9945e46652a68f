"""The connector's commands, one module per command group.

``cckit`` (the face) loads each group lazily from its module:

| command | module |
|---|---|
| ``cckit integrations ...`` | :mod:`connector.cli.integrations` |
| ``cckit catalog ...`` | :mod:`connector.cli.catalog` |
| ``cckit runs ...`` | :mod:`connector.cli.runs` |
| ``cckit scheduler ...`` | :mod:`connector.cli.scheduler` |
| ``cckit sync ...`` | :mod:`connector.cli.sync` |
| ``cckit db ...`` | :mod:`connector.cli.db` |

What they share (``--home``/``--db``, error handling, tables, safe text) is in
:mod:`connector.cli._common`. Nothing is imported here, so one command loads only
what it needs.
"""
