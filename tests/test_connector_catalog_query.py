"""connector.catalog_query: search, status filters, sort, paging, bulk actions, CSV, runs.

Rows are written straight into a real store (SQLite here; PostgreSQL too when
CCKIT_TEST_POSTGRES_URL is set) so every status can be set up exactly.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connector import catalog_query as cq
from connector import db
from connector import integrations
from connector import migrate
from connector.catalog_query import CourseQuery
from connector.errors import CourseNotFound
from connector.errors import InvalidField

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, settings: Any) -> Iterator[Any]:
    """An empty catalog on SQLite, and on PostgreSQL when a test server is given."""
    if request.param == "sqlite":
        engine = db.connect(settings)
    else:
        url = os.environ.get("CCKIT_TEST_POSTGRES_URL")
        if not url:
            pytest.skip("CCKIT_TEST_POSTGRES_URL is not set")
        fresh = db.create_engine(url)
        db.metadata.drop_all(fresh)
        with fresh.begin() as conn:  # and its schema version, so that connect() rebuilds it
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {migrate.VERSION_TABLE}")
        fresh.dispose()
        engine = db.connect(url)
    yield engine
    engine.dispose()


def _integration(engine: Any, settings: Any, name: str, provider: str) -> int:
    item = integrations.add(
        engine,
        settings,
        name=name,
        provider=provider,
        provider_url="http://127.0.0.1:9/api/v1/courses",
        auth_url="http://127.0.0.1:9/oauth/token",
        client_id="id",
        client_secret="secret-value",
        sync_time="02:00",
    )
    return item.id


def _course(conn: Any, integration_id: int, vendor_id: str, title: str, **extra: Any) -> int:
    values = {
        "integration_id": integration_id,
        "vendor_id": vendor_id,
        "title": title,
        "languages": ["en-US"],
        "subjects": [],
        "keywords": [],
        "localization": [],
        "protected_fields": [],
        "created_at": T0,
        "updated_at": T0,
        **extra,
    }
    return int(conn.execute(sa.insert(db.courses).values(**values)).inserted_primary_key[0])


def _package(conn: Any, course_id: int, sha: str) -> None:
    pid = conn.execute(
        sa.insert(db.package_versions).values(
            course_id=course_id,
            sha256=sha * 64,
            size=10,
            stored_path="/nowhere",
            downloaded_at=T0,
        )
    ).inserted_primary_key[0]
    conn.execute(
        sa.update(db.courses).where(db.courses.c.id == course_id).values(current_package_id=pid)
    )


def _run(conn: Any, integration_id: int, status: str, outcomes: dict[str, str], at: int) -> int:
    run_id = conn.execute(
        sa.insert(db.sync_runs).values(
            integration_id=integration_id,
            started_at=T0 + dt.timedelta(hours=at),
            finished_at=T0 + dt.timedelta(hours=at, seconds=90),
            status=status,
            counts={"new": len(outcomes)},
        )
    ).inserted_primary_key[0]
    for vendor_id, outcome in outcomes.items():
        conn.execute(
            sa.insert(db.course_outcomes).values(
                run_id=run_id,
                vendor_id=vendor_id,
                outcome=outcome,
                reason="bad package" if outcome == "failed" else None,
                rule_ids=["AICC-001", "CRS001"] if outcome == "failed" else [],
            )
        )
    return int(run_id)


@pytest.fixture
def catalog(store: Any, settings: Any) -> dict[str, Any]:
    """Two integrations: a (5 courses) and b (1 course), every status represented.

    a/A1 "Alpha safety" active, published; a/A2 "Beta" inactive, published;
    a/A3 "Gamma 100%_done" active, pending; a/A4 "alpha again" active, published,
    protected Title, failing since its last run; a/A5 "Delta" failed once, then updated.
    b/B1 "Alpha elsewhere" (provider "Other Co").
    """
    a = _integration(store, settings, "a", "Acme Learning")
    b = _integration(store, settings, "b", "Other Co")
    ids: dict[str, int] = {}
    with store.begin() as conn:
        ids["A1"] = _course(conn, a, "A1", "Alpha safety")
        ids["A2"] = _course(conn, a, "A2", "Beta", is_active=False)
        ids["A3"] = _course(conn, a, "A3", "Gamma 100%_done")
        ids["A4"] = _course(
            conn,
            a,
            "A4",
            "alpha again",
            protected_fields=["Title"],
            failing_since=T0 + dt.timedelta(hours=3),
            failure_reason="bad package",
            failure_rules=["AICC-001", "CRS001"],
        )
        ids["A5"] = _course(conn, a, "A5", "Delta")
        ids["B1"] = _course(conn, b, "B1", "Alpha elsewhere")
        for key in ("A1", "A2", "A4", "A5", "B1"):
            _package(conn, ids[key], key[-1])
        runs = {
            "first": _run(conn, a, "partial", {"A4": "new", "A5": "failed"}, 1),
            "second": _run(conn, a, "succeeded", {"A5": "updated"}, 2),
            "third": _run(conn, a, "partial", {"A4": "failed"}, 3),
            "other": _run(conn, b, "failed", {}, 4),
        }
    return {"engine": store, "ids": ids, "runs": runs}


def _ids(page: cq.CoursePage) -> list[str]:
    return [row["id"] for row in page.rows]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (None, ["A1", "A2", "A3", "A4", "A5", "B1"]),
        ("active", ["A1", "A3", "A4", "A5", "B1"]),
        ("inactive", ["A2"]),
        ("pending", ["A3"]),
        ("failing", ["A4"]),
        ("protected", ["A4"]),
    ],
)
def test_each_status_filter_selects_its_courses(
    catalog: dict[str, Any], status: str | None, expected: list[str]
) -> None:
    page = cq.search(catalog["engine"], CourseQuery(status=status, sort="id"))
    assert _ids(page) == expected
    assert page.total == len(expected)


def test_search_matches_title_id_provider_and_integration_case_insensitively(
    catalog: dict[str, Any],
) -> None:
    engine = catalog["engine"]
    assert _ids(cq.search(engine, CourseQuery(text="ALPHA", sort="id"))) == ["A1", "A4", "B1"]
    assert _ids(cq.search(engine, CourseQuery(text="a5"))) == ["A5"]
    assert _ids(cq.search(engine, CourseQuery(text="other co"))) == ["B1"]
    # LIKE wildcards in the search text are taken literally.
    assert _ids(cq.search(engine, CourseQuery(text="100%_"))) == ["A3"]
    assert _ids(cq.search(engine, CourseQuery(text="%"))) == ["A3"]
    assert _ids(cq.search(engine, CourseQuery(text="_"))) == ["A3"]


def test_filters_combine_with_search_and_integration(catalog: dict[str, Any]) -> None:
    engine = catalog["engine"]
    query = CourseQuery(text="alpha", status="active", integration="a", sort="id")
    assert _ids(cq.search(engine, query)) == ["A1", "A4"]
    assert cq.count(engine, query) == 2


def test_sort_and_direction(catalog: dict[str, Any]) -> None:
    engine = catalog["engine"]
    titles = [r["title"] for r in cq.search(engine, CourseQuery(sort="title")).rows]
    assert titles == [
        "alpha again",
        "Alpha elsewhere",
        "Alpha safety",
        "Beta",
        "Delta",
        "Gamma 100%_done",
    ]
    desc = cq.search(engine, CourseQuery(sort="id", descending=True))
    assert _ids(desc) == ["B1", "A5", "A4", "A3", "A2", "A1"]
    by_provider = cq.search(engine, CourseQuery(sort="provider", descending=True))
    assert _ids(by_provider)[0] == "B1"


def test_paging_is_server_side_and_clamps_past_the_end(catalog: dict[str, Any]) -> None:
    engine = catalog["engine"]
    first = cq.search(engine, CourseQuery(sort="id"), page=1, per_page=4)
    second = cq.search(engine, CourseQuery(sort="id"), page=2, per_page=4)
    assert (_ids(first), _ids(second)) == (["A1", "A2", "A3", "A4"], ["A5", "B1"])
    assert first.pages == 2
    assert cq.search(engine, CourseQuery(sort="id"), page=99, per_page=4).page == 2
    with pytest.raises(InvalidField, match="per_page"):
        cq.search(engine, CourseQuery(), per_page=cq.MAX_PER_PAGE + 1)
    with pytest.raises(InvalidField, match="page"):
        cq.search(engine, CourseQuery(), page=0)


def test_rows_carry_their_statuses(catalog: dict[str, Any]) -> None:
    rows = {r["id"]: r for r in cq.search(catalog["engine"], CourseQuery()).rows}
    assert rows["A4"]["failing"]
    assert rows["A4"]["protected_fields"] == ["Title"]
    assert rows["A3"]["pending"]
    assert not rows["A3"]["failing"]
    assert not rows["A5"]["failing"]  # failed once, then updated: no longer failing
    assert rows["A2"]["is_active"] is False


def test_status_counts(catalog: dict[str, Any]) -> None:
    counts = cq.status_counts(catalog["engine"], CourseQuery())
    assert counts == {
        "all": 6,
        "active": 5,
        "inactive": 1,
        "pending": 1,
        "failing": 1,
        "protected": 1,
    }
    assert cq.status_counts(catalog["engine"], CourseQuery(text="alpha"))["all"] == 3


def test_query_from_url_parameters_round_trips_and_refuses_unknown_values() -> None:
    query = CourseQuery.from_mapping(
        {"q": " x ", "status": "failing", "sort": "id", "dir": "desc", "integration": ""}
    )
    assert query == CourseQuery(text="x", status="failing", sort="id", descending=True)
    assert CourseQuery.from_mapping(query.to_params()) == query
    assert CourseQuery().to_params() == {}
    with pytest.raises(InvalidField, match="status"):
        CourseQuery.from_mapping({"status": "gone"})
    with pytest.raises(InvalidField, match="sort"):
        CourseQuery.from_mapping({"sort": "title; DROP TABLE courses"})
    with pytest.raises(InvalidField, match="dir"):
        CourseQuery.from_mapping({"dir": "sideways"})
    with pytest.raises(InvalidField, match="q"):
        CourseQuery(text="x" * (cq.MAX_SEARCH_CHARS + 1))


def test_bulk_deactivate_touches_exactly_the_filtered_selection(catalog: dict[str, Any]) -> None:
    engine = catalog["engine"]
    query = CourseQuery(text="alpha", integration="a")
    assert cq.bulk_set_active(engine, query, False) == 2
    assert _ids(cq.search(engine, CourseQuery(status="inactive", sort="id"))) == ["A1", "A2", "A4"]
    assert cq.bulk_set_active(engine, CourseQuery(status="inactive"), True) == 3
    assert cq.status_counts(engine, CourseQuery())["inactive"] == 0


def test_bulk_protect_merges_fields_in_canonical_order(catalog: dict[str, Any]) -> None:
    engine = catalog["engine"]
    touched = cq.bulk_protect(engine, CourseQuery(text="alpha"), ["keywords", "Title"])
    assert touched == 3
    rows = {r["id"]: r for r in cq.search(engine, CourseQuery()).rows}
    assert rows["A4"]["protected_fields"] == ["Title", "Keywords"]
    assert rows["B1"]["protected_fields"] == ["Title", "Keywords"]
    assert rows["A2"]["protected_fields"] == []
    assert cq.bulk_protect(engine, CourseQuery(text="alpha"), ["Title"], protected=False) == 3
    assert cq.search(engine, CourseQuery(text="A4")).rows[0]["protected_fields"] == ["Keywords"]
    with pytest.raises(InvalidField, match="field"):
        cq.bulk_protect(engine, CourseQuery(), ["IsActive"])
    with pytest.raises(InvalidField, match="field"):
        cq.bulk_protect(engine, CourseQuery(), [])


def test_csv_export_holds_the_filtered_view_and_defuses_formulas(
    catalog: dict[str, Any], settings: Any
) -> None:
    engine = catalog["engine"]
    with engine.begin() as conn:
        conn.execute(
            sa.update(db.courses)
            .where(db.courses.c.vendor_id == "A1")
            .values(title='=HYPERLINK("http://evil","x"), "quoted"\nline')
        )
    text = "".join(cq.csv_lines(engine, CourseQuery(integration="a", sort="id")))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(cq.CSV_COLUMNS)
    assert [r[2] for r in rows[1:]] == ["A1", "A2", "A3", "A4", "A5"]
    assert rows[1][3].startswith("'=HYPERLINK")
    by_id = {r[2]: dict(zip(cq.CSV_COLUMNS, r, strict=True)) for r in rows[1:]}
    assert by_id["A4"]["failing"] == "yes"
    assert by_id["A4"]["failure_reason"] == "bad package"
    assert by_id["A4"]["protected_fields"] == "Title"
    assert by_id["A3"]["pending"] == "yes"
    assert by_id["A3"]["package_sha256"] == ""
    assert by_id["A1"]["package_sha256"] == "1" * 64


def test_course_detail_has_outcomes_newest_first(catalog: dict[str, Any]) -> None:
    engine = catalog["engine"]
    detail = cq.course_detail(engine, catalog["ids"]["A4"])
    assert detail["failing"] is True
    assert [o["outcome"] for o in detail["outcomes"]] == ["failed", "new"]
    assert detail["outcomes"][0]["rule_ids"] == ["AICC-001", "CRS001"]
    assert cq.course_detail(engine, catalog["ids"]["A5"])["failing"] is False
    with pytest.raises(CourseNotFound):
        cq.course_detail(engine, 10_000)


def test_runs_page_and_run_detail_filter_failed(catalog: dict[str, Any]) -> None:
    engine = catalog["engine"]
    runs, total = cq.runs_page(engine)
    assert total == 4
    assert [r["run_id"] for r in runs] == sorted((r["run_id"] for r in runs), reverse=True)
    assert runs[-1]["duration_s"] == 90.0
    only_a, total_a = cq.runs_page(engine, integration="a")
    assert total_a == 3
    assert {r["integration"] for r in only_a} == {"a"}
    first = cq.run_detail(engine, catalog["runs"]["first"], failed_only=True)
    assert [o["id"] for o in first["outcomes"]] == ["A5"]
    assert first["outcomes"][0]["pk"] == catalog["ids"]["A5"]
    assert (first["failed_count"], first["all_count"]) == (1, 2)


def test_last_complete_and_clean_syncs(catalog: dict[str, Any]) -> None:
    engine = catalog["engine"]
    complete = cq.last_complete_syncs(engine)
    clean = cq.last_clean_syncs(engine)
    runs = catalog["runs"]
    assert {v["run_id"] for v in complete.values()} == {runs["third"]}
    assert {v["run_id"] for v in clean.values()} == {runs["second"]}


def test_content_root_refuses_folders_outside_the_content_dir(tmp_path: Path) -> None:
    content = tmp_path / "content"
    inside = content / "a" / "c" / ("0" * 64)
    inside.mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    assert cq.content_root(content, str(inside)) == inside.resolve()
    assert cq.content_root(content, str(tmp_path / "elsewhere")) is None
    assert cq.content_root(content, str(content / ".." / "elsewhere")) is None
    assert cq.content_root(content, str(content / "missing")) is None


def test_course_structure_builds_the_tree_with_launch_files(tmp_path: Path) -> None:
    import aicc
    from aicc.model import AssignableUnit
    from aicc.model import Block
    from aicc.model import Course
    from aicc.model import Descriptor

    course = Course(
        base_name="course",
        course_id="C1",
        course_title="Tree course",
        aus=[
            AssignableUnit("A1", file_name="a1/index.html"),
            AssignableUnit("A2", file_name="missing.html"),
        ],
        descriptors=[
            Descriptor("A1", title="First lesson"),
            Descriptor("A2", title="Second lesson"),
            Descriptor("B1", title="Block one"),
        ],
        blocks=[Block("root", members=["B1", "A2"]), Block("B1", members=["A1"])],
    ).with_computed_totals()
    for name, data in aicc.write(course).items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "a1").mkdir()
    (tmp_path / "a1" / "index.html").write_text("<p>hi</p>")
    (tree,) = cq.course_structure(tmp_path)
    assert (tree["course_id"], tree["aus"]) == ("C1", 2)
    root = tree["root"]
    assert root["title"] == "Tree course"
    block, au2 = root["children"]
    assert (block["kind"], block["title"]) == ("block", "Block one")
    (au1,) = block["children"]
    assert (au1["id"], au1["launch"], au1["launch_found"]) == ("A1", "a1/index.html", True)
    assert (au2["title"], au2["launch_found"]) == ("Second lesson", False)


def test_csv_safe() -> None:
    assert cq.csv_safe("=1+1") == "'=1+1"
    assert cq.csv_safe("@SUM") == "'@SUM"
    assert cq.csv_safe("plain") == "plain"
    assert cq.csv_safe("") == ""
