"""The admin console in a real browser: Debian's Chromium driven by Playwright.

Each test starts the real mock vendor (127.0.0.1, port 0) and the console (a werkzeug
server in a thread, on 127.0.0.1, port 0) over a fresh CCKIT_HOME, and clicks through
the pages as an administrator would. Screenshots of the main pages go to
``$CCKIT_ARTIFACTS_DIR`` (CI sets it and prints where), else to a temporary folder.

Without Chromium these tests skip on a developer's machine, and fail in CI (``CI=true``):
a capability that CI cannot show is not a capability.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import WSGIRequestHandler
from werkzeug.serving import make_server

from connector import catalog_query
from connector import db
from connector import integrations
from connector.catalog_query import CourseQuery
from connector.sync import sync
from console import create_app

pytestmark = [pytest.mark.live, pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("CCKIT_CHROMIUM", "/usr/bin/chromium")
TIMEOUT_MS = 60_000


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's package), shared by the session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not path:
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=path, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go."""
    given = os.environ.get("CCKIT_ARTIFACTS_DIR")
    folder = Path(given) if given else tmp_path_factory.mktemp("console-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@dataclass
class World:
    """A mock vendor, a console over a fresh home, and a browser page."""

    vendor: Any
    settings: Any
    engine: Any
    app: Any
    url: str
    page: Any
    artifacts: Path

    def go(self, path: str) -> None:
        self.page.goto(self.url + path.lstrip("/"))

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.artifacts / f"console-{name}.png"), full_page=True)

    def add_integration(self, name: str = "mock") -> Any:
        return integrations.add(
            self.engine,
            self.settings,
            name=name,
            provider="Mock Learning",
            provider_url=self.vendor.course_list_url,
            auth_url=self.vendor.auth_url,
            client_id=self.vendor.client_id,
            client_secret=self.vendor.client_secret,
            sync_time="02:00",
            timezone="Europe/Paris",
        )

    def sync(self, name: str = "mock") -> Any:
        return sync(self.engine, self.settings, integrations.get(self.engine, self.settings, name))

    def course_pk(self, vendor_id: str) -> int:
        rows = catalog_query.search(self.engine, CourseQuery(text=vendor_id)).rows
        return int(next(r["pk"] for r in rows if r["id"] == vendor_id))

    def sync_now_in_page(self, name: str = "mock") -> str:
        """Click "Sync now" and wait until the progress line says the run finished."""
        self.go("/integrations")
        section = self.page.locator(f"#integration-{name}")
        section.locator("button.sync-now").click()
        progress = section.locator(".sync-text")
        progress.filter(has_text=re.compile(r"^(finished|error|locked)")).wait_for(
            timeout=TIMEOUT_MS
        )
        return str(progress.inner_text())


@pytest.fixture
def world(
    settings: Any, live_vendor_factory: Any, browser: Any, artifacts: Path
) -> Iterator[World]:
    vendor = live_vendor_factory(COURSES=12, PAGE_SIZE=5)
    engine = db.connect(settings)
    app = create_app({"CCKIT_SETTINGS": settings, "CCKIT_ENGINE": engine})
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield World(
            vendor, settings, engine, app, f"http://127.0.0.1:{server.port}/", page, artifacts
        )
    finally:
        context.close()
        app.extensions["cckit_console"].jobs.wait_all(timeout=60)
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        engine.dispose()
    assert errors == [], f"JavaScript errors in the console: {errors}"


def test_add_an_integration_sync_now_and_watch_the_run_finish(world: World) -> None:
    page = world.page
    world.go("/integrations")
    page.click("#add-integration")
    page.fill("#field-name", "mock")
    page.fill("#field-provider", "Mock Learning")
    page.fill("#field-provider_url", world.vendor.course_list_url)
    page.fill("#field-auth_url", world.vendor.auth_url)
    page.fill("#field-client_id", world.vendor.client_id)
    page.fill("#field-client_secret", world.vendor.client_secret)
    page.fill("#field-sync_time", "02:30")
    page.fill("#field-timezone", "Europe/Paris")
    world.shot("integration-form")
    page.click("#save-integration")
    assert "Integration mock added." in page.inner_text(".flash")
    section = page.locator("#integration-mock")
    assert "set" in section.locator("tr", has_text="Client Secret").inner_text()
    assert world.vendor.client_secret not in page.content()
    assert re.search(r"02:30 CES?T", section.locator("tr", has_text="Next sync").inner_text())

    text = world.sync_now_in_page()
    assert re.search(
        r"finished: 3 page\(s\), 11 course\(s\) changed, 11/11 package\(s\) — run #1 succeeded",
        text,
    ), text
    world.shot("integrations")
    section.locator("a.sync-run").click()
    assert page.inner_text("#run-status") == "succeeded"
    assert page.locator("#outcomes tbody tr.outcome-new").count() >= 10
    world.go("/integrations")
    assert "never" not in section.locator("tr", has_text="Last clean sync").inner_text()


def test_search_filter_and_page_through_the_catalog(world: World) -> None:
    world.add_integration()
    world.sync()
    page = world.page
    world.go("/catalog?per_page=25")
    world.shot("catalog")
    total = page.locator("#courses tbody tr").count()
    assert total >= 10
    page.fill("input[name=q]", "CRS-0001")
    page.press("input[name=q]", "Enter")
    ids = page.locator("#courses tbody td.mono").all_inner_texts()
    assert sorted(ids) == ["CRS-00010", "CRS-00011", "CRS-00012"]
    assert "q=CRS-0001" in page.url
    page.select_option("select[name=sort]", "id")
    page.select_option("select[name=dir]", "desc")
    page.click("form.search button[type=submit]")
    assert page.locator("#courses tbody td.mono").all_inner_texts() == [
        "CRS-00012",
        "CRS-00011",
        "CRS-00010",
    ]
    page.click("nav.filters a.filter-pending")
    assert page.locator("#courses tbody td.empty").inner_text() == "No course matches."


def test_open_a_course_its_tree_and_the_sandboxed_preview(world: World) -> None:
    world.add_integration()
    world.sync()
    page = world.page
    world.go("/catalog?sort=id")
    page.locator("#courses a.course-title").first.click()
    assert page.locator("#tree li.node-au").count() >= 1
    assert page.locator("#versions td.mono").first.inner_text().strip() != ""
    launch = page.locator("#tree a.launch").first
    launch.click()
    frame = page.frame(name="preview")
    assert frame is not None
    frame.wait_for_url(re.compile(r".*/preview/[0-9a-f]{64}/.+"))
    frame.wait_for_load_state()
    # Even the console cannot look inside: the frame's origin is opaque.
    blocked = page.evaluate(
        "() => { try { return document.getElementById('preview').contentWindow.document.body"
        ".innerHTML } catch (e) { return e.name } }"
    )
    assert blocked == "SecurityError"
    assert frame.locator("body").inner_text().strip() != ""
    world.shot("course")
    # The vendor's page runs in an opaque origin: no cookies, no access to the console.
    verdict = frame.evaluate(
        "() => { try { return 'read:' + document.cookie } catch (e) { return e.name } }"
    )
    assert verdict == "SecurityError"
    reach = frame.evaluate(
        "() => { try { return 'read:' + parent.document.title } catch (e) { return e.name } }"
    )
    assert reach == "SecurityError"


def test_protect_a_title_and_the_next_sync_keeps_it(world: World) -> None:
    world.add_integration()
    world.sync()
    pk = world.course_pk("CRS-00004")
    page = world.page
    world.go(f"/courses/{pk}")
    kept = page.inner_text("#course-title")
    page.click("#protect-Title")
    assert page.get_attribute("#protect-Title", "aria-pressed") == "true"
    world.vendor.admin.update_course("CRS-00004", Title="Renamed by the vendor")
    world.vendor.admin.advance_clock(60)
    world.sync_now_in_page()
    world.go(f"/courses/{pk}")
    assert page.inner_text("#course-title") == kept
    outcomes = page.locator("#outcomes tbody tr").first.inner_text()
    assert "updated" in outcomes
    world.go("/catalog?status=protected")
    assert page.locator("#courses td.mono").all_inner_texts() == ["CRS-00004"]


def test_deactivate_a_course(world: World) -> None:
    world.add_integration()
    world.sync()
    pk = world.course_pk("CRS-00005")
    page = world.page
    world.go(f"/courses/{pk}")
    page.click("#deactivate")
    assert "Course CRS-00005 deactivated." in page.inner_text(".flash")
    assert page.locator("#reactivate").is_visible()
    world.go("/catalog?status=inactive")
    assert "CRS-00005" in page.locator("#courses td.mono").all_inner_texts()
    assert not catalog_query.course_detail(world.engine, pk)["is_active"]


def test_bulk_deactivate_a_filtered_selection_with_count_and_confirmation(world: World) -> None:
    world.add_integration()
    world.sync()
    page = world.page
    world.go("/catalog?q=CRS-0001")
    page.select_option("#bulk-form select[name=action]", "deactivate")
    page.click("#bulk-form button[type=submit]")
    assert page.inner_text("h1") == "Deactivate 3 course(s)?"
    world.shot("bulk-confirm")
    page.click("button.danger")
    assert "Deactivated 3 course(s)" in page.inner_text(".flash")
    counts = catalog_query.status_counts(world.engine, CourseQuery(text="CRS-0001"))
    assert counts["inactive"] == 3


def test_a_failed_runs_outcomes_show_rule_ids_and_messages(world: World) -> None:
    world.add_integration()
    world.sync()
    world.vendor.admin.set_fault("aicc_defect")
    world.vendor.admin.replace_package("CRS-00006")
    world.vendor.admin.advance_clock(60)
    text = world.sync_now_in_page()
    assert "partial" in text, text
    page = world.page
    world.go("/runs")
    world.shot("runs")
    page.locator("#runs tr.run-partial a").first.click()
    page.click("#failed-only")
    rows = page.locator("#outcomes tbody tr")
    assert rows.count() == 1
    row = rows.first.inner_text()
    assert "CRS-00006" in row
    assert "failed" in row
    assert "AICC-001" in page.locator("#outcomes td.rules").first.inner_text()
    world.shot("run-failed")
    page.locator("#outcomes a").first.click()
    assert "failing" in page.inner_text(".badges")


def test_a_form_posted_without_its_csrf_token_is_refused(world: World) -> None:
    world.add_integration()
    world.sync()
    pk = world.course_pk("CRS-00007")
    page = world.page
    world.go(f"/courses/{pk}")
    page.evaluate(
        "() => document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())"
    )
    page.click("#deactivate")
    assert "The form was refused" in page.inner_text("#error-message")
    assert "CSRF token" in page.inner_text("#error-message")
    assert catalog_query.course_detail(world.engine, pk)["is_active"]
    # A page of another site posting to the console: no token, and no cookie either.
    page.goto(world.vendor.base_url + "/_admin/")
    page.set_content(
        f'<form method="post" action="{world.url}courses/{pk}/active">'
        '<input name="active" value="no"><button id="go">go</button></form>'
    )
    page.click("#go")
    assert "CSRF" in page.content()
    assert catalog_query.course_detail(world.engine, pk)["is_active"]


def test_vendor_html_in_a_title_is_shown_as_text(world: World) -> None:
    world.add_integration()
    world.sync()
    hostile = '<img src=x onerror="document.title=1"><b>Bold</b> \u202eevil\x1b[0m'
    world.vendor.admin.update_course("CRS-00009", Title=hostile)
    world.vendor.admin.advance_clock(60)
    world.sync()
    pk = world.course_pk("CRS-00009")
    page = world.page
    world.go(f"/courses/{pk}")
    title = page.locator("#course-title")
    assert title.locator("b, img").count() == 0
    assert '<img src=x onerror="document.title=1"><b>Bold</b>' in title.inner_text()
    assert title.locator("span.ctl").all_inner_texts() == ["\\u202e", "\\x1b"]
    assert page.title() != "1"
    world.go("/catalog?q=Bold")
    cell = page.locator("#courses a.course-title").first
    assert cell.locator("b").count() == 0
    assert "<b>Bold</b>" in cell.inner_text()
    world.shot("vendor-text")


def test_remove_an_integration_with_confirmation(world: World) -> None:
    uid = world.add_integration().uid
    world.sync()
    assert (world.settings.content_dir / uid).is_dir()
    page = world.page
    world.go("/integrations")
    page.click("#integration-mock a.danger")
    page.fill("#confirm-name", "wrong")
    page.click("#confirm-remove")
    assert "does not match" in page.inner_text("p.error")
    page.fill("#confirm-name", "mock")
    page.check("#purge")
    page.click("#confirm-remove")
    assert "Integration mock removed" in page.inner_text(".flash")
    assert integrations.list_all(world.engine, world.settings) == []
    assert not (world.settings.content_dir / uid).exists()


def test_login_in_the_browser(world: World, browser: Any) -> None:
    """With a login required: the form, a wrong password, the session cookie's flags."""
    from console import security

    security.set_password(world.settings.home, "correct horse battery")
    app = create_app(
        {"CCKIT_SETTINGS": world.settings, "CCKIT_ENGINE": world.engine, "REQUIRE_LOGIN": True}
    )
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    context = browser.new_context()
    try:
        page = context.new_page()
        url = f"http://127.0.0.1:{server.port}/"
        page.goto(url + "runs")
        assert "/login" in page.url
        page.fill("input[name=password]", "not it")
        page.click("form.card button[type=submit]")
        assert page.inner_text("p.error") == "Wrong password."
        page.fill("input[name=password]", "correct horse battery")
        page.click("form.card button[type=submit]")
        assert page.url == url + "runs"
        (cookie,) = context.cookies()
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Strict"
        page.click("header button.link")
        assert "/login" in page.url
    finally:
        context.close()
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
