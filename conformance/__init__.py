"""Conformance suite for vendors implementing the cckit vendor contract v1.

Kept free of asserts and heavy imports: pytest imports this package through the
``pytest11`` entry point in every test run wherever the kit is installed.
"""
