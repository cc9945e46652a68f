"""Benchmark: the automatic schema upgrade of a large 0.1.0 SQLite catalog.

Builds a catalog at the baseline revision (the 0.1.0 schema, no version table, as
``create_all`` made it) with ``--courses`` courses, one package version and one outcome
each, then times :func:`connector.migrate.ensure_schema` on a copy: the backup, the stamp
and every pending revision. The baseline, measured in the same run on the same file:
copying the file (``shutil.copyfile``), the least an upgrade that keeps a backup must do.
Also times the check every later open pays (one query).

Run:  python benchmarks/migrate_scale.py [--courses 50000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from connector import db
from connector import migrate
from connector.migrations import SCRIPT_LOCATION


def build(path: Path, courses: int) -> None:
    """An unversioned catalog with the 0.1.0 tables and ``courses`` rows of each kind."""
    engine = db.create_engine(f"sqlite:///{path}")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    try:
        with engine.begin() as conn:
            command.upgrade(migrate._config(SCRIPT_LOCATION, conn), migrate.BASELINE)
            conn.exec_driver_sql(f"DROP TABLE {migrate.VERSION_TABLE}")
            conn.execute(
                sa.text(
                    "INSERT INTO integrations (name, provider, provider_url, client_id, "
                    "client_secret_encrypted, sync_time, created_at, updated_at) VALUES "
                    "('bench', 'Bench', 'https://v.example/c', 'id', 'x', '02:00', :t, :t)"
                ),
                {"t": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO courses (integration_id, vendor_id, title, languages, "
                    "subjects, keywords, localization, protected_fields, created_at, "
                    "updated_at) VALUES (1, :v, :title, '[\"en-US\"]', '[]', '[]', '[]', "
                    "'[]', :t, :t)"
                ),
                [{"v": f"CRS-{i:06d}", "title": f"Course {i}", "t": now} for i in range(courses)],
            )
            conn.execute(
                sa.text(
                    "INSERT INTO package_versions (course_id, sha256, size, stored_path, "
                    "downloaded_at) VALUES (:c, :s, 1000, '/srv/content/x', :t)"
                ),
                [{"c": i + 1, "s": f"{i:064x}", "t": now} for i in range(courses)],
            )
            conn.execute(
                sa.text(
                    "INSERT INTO sync_runs (integration_id, started_at, status, counts) "
                    "VALUES (1, :t, 'succeeded', '{}')"
                ),
                {"t": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO course_outcomes (run_id, vendor_id, outcome, rule_ids) "
                    "VALUES (1, :v, 'new', '[]')"
                ),
                [{"v": f"CRS-{i:06d}"} for i in range(courses)],
            )
    finally:
        engine.dispose()


def main() -> None:
    """Build, then time the copy (baseline), the upgrade and the up-to-date check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--courses", type=int, default=50_000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cckit-migrate-bench-") as tmp:
        source = Path(tmp) / "source.sqlite3"
        build(source, options.courses)
        size_mb = source.stat().st_size / 1e6

        start = time.perf_counter()
        shutil.copyfile(source, Path(tmp) / "copy.sqlite3")
        copy_s = time.perf_counter() - start

        target = Path(tmp) / "catalog.sqlite3"
        shutil.copyfile(source, target)
        engine = db.create_engine(f"sqlite:///{target}")
        try:
            start = time.perf_counter()
            result = migrate.ensure_schema(engine)
            upgrade_s = time.perf_counter() - start
            start = time.perf_counter()
            migrate.ensure_schema(engine)
            check_s = time.perf_counter() - start
        finally:
            engine.dispose()
    print(f"catalog: {options.courses} courses, {size_mb:.1f} MB")
    print(f"baseline, copy the file:        {copy_s:8.3f} s")
    print(
        f"upgrade {'-'.join(result.before) or '0.1.0'} -> {'/'.join(result.after)} "
        f"(backup, stamp, {len(result.applied)} revision(s)): {upgrade_s:8.3f} s "
        f"= {upgrade_s / copy_s:.1f} x the copy"
    )
    print(f"check on a later open (one query): {check_s * 1000:6.2f} ms")


if __name__ == "__main__":
    main()
