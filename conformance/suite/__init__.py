"""The shipped conformance checks, one module per requirement family.

Run them with ``pytest --pyargs conformance.suite --cc-course-list-url URL ...`` or
``cckit conformance run``. Without options every check is skipped with a reason.
"""
