"""``python -m cckit`` runs the same CLI as the ``cckit`` console script."""

from cckit.cli import main

main()
