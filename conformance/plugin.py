"""pytest plugin entry point (``pytest11``) of the conformance suite.

The plugin is registered wherever the kit is installed, so it must stay inert:
it defines no autouse fixtures and imports nothing heavy. Its options arrive with
the conformance suite itself.
"""
