"""The admin console's server side, through Flask's test client on a real synced catalog.

The browser tests (tests/test_console_browser.py) drive the same pages in Chromium; these
check what a browser cannot show directly: headers, refusals, the password file.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from connector import catalog_query
from connector import db
from connector import integrations
from connector.sync import sync
from console import create_app
from console import security
from console.errors import ConsoleError
from console.text import visible

pytestmark = pytest.mark.live


@pytest.fixture
def synced(settings: Any, live_vendor: Any) -> dict[str, Any]:
    """A catalog synced from the live mock (12 courses, real packages on disk)."""
    engine = db.connect(settings)
    item = integrations.add(
        engine,
        settings,
        name="mock",
        provider="Mock <b>Vendor</b>",
        provider_url=live_vendor.course_list_url,
        auth_url=live_vendor.auth_url,
        client_id=live_vendor.client_id,
        client_secret=live_vendor.client_secret,
        sync_time="02:00",
        timezone="Europe/Paris",
    )
    result = sync(engine, settings, item)
    assert result.status == "succeeded"
    yield {"engine": engine, "settings": settings, "vendor": live_vendor, "run": result}
    engine.dispose()


@pytest.fixture
def client(synced: dict[str, Any]) -> Any:
    app = create_app({"CCKIT_SETTINGS": synced["settings"], "CCKIT_ENGINE": synced["engine"]})
    return app.test_client()


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def _first_course(synced: dict[str, Any]) -> dict[str, Any]:
    page = catalog_query.search(synced["engine"], catalog_query.CourseQuery(sort="id"))
    return page.rows[0]


@pytest.mark.parametrize(
    "path", ["/catalog", "/integrations", "/runs", "/runs/1", "/integrations/new", "/nope"]
)
def test_every_page_carries_the_security_headers(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (200, 404)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_session_cookie_is_httponly_and_samesite_strict(client: Any) -> None:
    cookie = client.get("/catalog").headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain http on loopback
    fresh = client.application.test_client()
    https = fresh.get("/catalog", base_url="https://localhost").headers["Set-Cookie"]
    assert "Secure" in https


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/catalog/bulk", {"action": "deactivate", "confirm": "yes"}),
        ("/courses/1/active", {"active": "no"}),
        ("/courses/1/protect", {"field": "Title", "protected": "yes"}),
        ("/integrations/mock/sync", {}),
        ("/integrations/mock/enabled", {"enabled": "no"}),
        ("/integrations/mock/remove", {"confirm_name": "mock"}),
    ],
)
def test_state_changing_posts_without_a_csrf_token_are_refused(
    client: Any, synced: dict[str, Any], path: str, data: dict[str, str]
) -> None:
    client.get("/catalog")  # a session exists, but the form lacks its token
    response = client.post(path, data=data)
    assert response.status_code == 400
    assert b"CSRF token" in response.data
    counts = catalog_query.status_counts(synced["engine"], catalog_query.CourseQuery())
    assert counts["inactive"] == 0
    assert counts["protected"] == 0
    assert integrations.get(synced["engine"], synced["settings"], "mock").enabled


def test_a_token_from_another_session_is_refused(synced: dict[str, Any]) -> None:
    app = create_app({"CCKIT_SETTINGS": synced["settings"], "CCKIT_ENGINE": synced["engine"]})
    token = _token(app.test_client().get("/catalog").get_data(as_text=True))
    other = app.test_client()
    other.get("/catalog")
    response = other.post("/courses/1/active", data={"active": "no", "csrf_token": token})
    assert response.status_code == 400


def test_bulk_action_asks_with_the_count_then_acts(client: Any, synced: dict[str, Any]) -> None:
    token = _token(client.get("/catalog").get_data(as_text=True))
    form = {"csrf_token": token, "action": "deactivate", "q": "CRS-0000"}
    ask = client.post("/catalog/bulk", data=form)
    assert ask.status_code == 200
    matched = catalog_query.count(synced["engine"], catalog_query.CourseQuery(text="CRS-0000"))
    assert f"Deactivate {matched} course(s)?" in ask.get_data(as_text=True)
    assert (
        catalog_query.status_counts(synced["engine"], catalog_query.CourseQuery())["inactive"] == 0
    )
    stale = client.post("/catalog/bulk", data={**form, "confirm": "yes", "expected": "1"})
    assert "The selection changed" in stale.get_data(as_text=True)
    done = client.post("/catalog/bulk", data={**form, "confirm": "yes", "expected": str(matched)})
    assert done.status_code == 302
    inactive = catalog_query.status_counts(synced["engine"], catalog_query.CourseQuery())
    assert inactive["inactive"] == matched


def test_csv_export_of_the_filtered_view(client: Any, synced: dict[str, Any]) -> None:
    response = client.get("/catalog.csv?q=CRS-0001&sort=id")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("integration,provider,id,title")
    assert [line.split(",")[2] for line in lines[1:]] == ["CRS-00010", "CRS-00011", "CRS-00012"]


def test_bad_query_parameters_are_one_line_errors(client: Any) -> None:
    response = client.get("/catalog?status=gone")
    assert response.status_code == 400
    assert "status: unknown filter" in response.get_data(as_text=True)
    assert client.get("/catalog?page=x").status_code == 400
    assert client.get("/catalog?per_page=100000").status_code == 400
    assert client.get("/courses/999999").status_code == 404
    assert client.get("/runs/999999").status_code == 404


def test_preview_serves_the_launch_file_sandboxed(client: Any, synced: dict[str, Any]) -> None:
    row = _first_course(synced)
    page = client.get(f"/courses/{row['pk']}").get_data(as_text=True)
    links = re.findall(r'class="launch" href="([^"]+)"', page)
    assert links, "the course page links its launch files"
    response = client.get(links[0])
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert csp.startswith("sandbox allow-scripts;")
    assert "allow-same-origin" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype == "text/html"
    response.close()


@pytest.mark.parametrize(
    "tail",
    [
        "../../../secret.key",
        "..%2f..%2f..%2fsecret.key",
        "%2e%2e/%2e%2e/%2e%2e/catalog.sqlite3",
        "lesson1/../../../../secret.key",
        "nothing-here.html",
    ],
)
def test_preview_refuses_paths_outside_the_package(
    client: Any, synced: dict[str, Any], tail: str
) -> None:
    row = _first_course(synced)
    detail = catalog_query.course_detail(synced["engine"], row["pk"])
    sha = detail["current_package"]["sha256"]
    response = client.get(f"/courses/{row['pk']}/preview/{sha}/{tail}")
    assert response.status_code == 404
    assert b"secret" not in response.data.lower() or b"no such file" in response.data


def test_preview_refuses_a_symlink_leaving_the_package(client: Any, synced: dict[str, Any]) -> None:
    row = _first_course(synced)
    detail = catalog_query.course_detail(synced["engine"], row["pk"])
    folder = Path(detail["current_package"]["stored_path"])
    (folder / "escape.html").symlink_to(synced["settings"].home / "secret.key")
    response = client.get(
        f"/courses/{row['pk']}/preview/{detail['current_package']['sha256']}/escape.html"
    )
    assert response.status_code == 404


def test_vendor_html_and_control_characters_are_shown_as_text(
    client: Any, synced: dict[str, Any]
) -> None:
    import sqlalchemy as sa

    row = _first_course(synced)
    with synced["engine"].begin() as conn:
        conn.execute(
            sa.update(db.courses)
            .where(db.courses.c.id == row["pk"])
            .values(title="<script>alert(1)</script>\x1b[31m\u202eevil")
        )
    html = client.get(f"/courses/{row['pk']}").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\x1b" not in html
    assert "\u202e" not in html
    assert '<span class="ctl" title="hidden character">\\x1b</span>' in html
    assert '<span class="ctl" title="hidden character">\\u202e</span>' in html
    listing = client.get("/catalog").get_data(as_text=True)
    assert "&lt;b&gt;Vendor&lt;/b&gt;" in listing  # the provider name, too


def test_visible_filter() -> None:
    assert str(visible("a<b>")) == "a&lt;b&gt;"
    assert str(visible(None)) == ""
    assert "\\x07" in str(visible("\x07"))
    assert "\\u2066" in str(visible("\u2066"))
    assert str(visible("a\nb", keep_newlines=True)) == "a\nb"
    assert "\\x0a" in str(visible("a\nb"))


def test_integration_form_shows_the_field_error_and_never_echoes_the_secret(
    client: Any,
) -> None:
    token = _token(client.get("/integrations/new").get_data(as_text=True))
    form = {
        "csrf_token": token,
        "name": "second",
        "provider": "P",
        "provider_url": "http://example.com/courses",
        "auth_url": "http://127.0.0.1:1/token",
        "client_id": "id",
        "client_secret": "s3cret-never-shown",
        "sync_time": "25:00",
        "timezone": "UTC",
        "auth_mode": "oauth2",
        "full_every_days": "7",
        "enabled": "yes",
    }
    response = client.post("/integrations/new", data=form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "plain http is only allowed for loopback hosts" in html
    assert "s3cret-never-shown" not in html


def test_integrations_page_shows_secret_as_set_and_next_sync_in_its_zone(client: Any) -> None:
    html = client.get("/integrations").get_data(as_text=True)
    assert "<th>Client Secret</th><td>set</td>" in html
    assert re.search(r"\d{4}-\d\d-\d\d 02:00 (CET|CEST)", html)
    assert "Last clean sync" in html
    assert "Last complete sync" in html


def test_remove_needs_the_typed_name(client: Any, synced: dict[str, Any]) -> None:
    page = client.get("/integrations/mock/remove").get_data(as_text=True)
    held = catalog_query.count(synced["engine"], catalog_query.CourseQuery(integration="mock"))
    assert held > 0
    assert f"<b>{held}</b> course(s)" in page
    token = _token(page)
    wrong = client.post(
        "/integrations/mock/remove", data={"csrf_token": token, "confirm_name": "x"}
    )
    assert wrong.status_code == 400
    assert integrations.get(synced["engine"], synced["settings"], "mock")
    ok = client.post(
        "/integrations/mock/remove", data={"csrf_token": token, "confirm_name": "mock"}
    )
    assert ok.status_code == 302
    assert integrations.list_all(synced["engine"], synced["settings"]) == []


# --- login ------------------------------------------------------------------------------


def test_set_password_stores_only_a_salted_hash(tmp_path: Path) -> None:
    path = security.set_password(tmp_path, "correct horse battery")
    text = path.read_text()
    assert "correct horse" not in text
    assert text.startswith("scrypt:")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(ConsoleError, match="at least"):
        security.set_password(tmp_path, "short")


def test_login_required_refuses_to_start_without_a_password(settings: Any) -> None:
    with pytest.raises(ConsoleError, match="set-password"):
        create_app({"CCKIT_SETTINGS": settings, "REQUIRE_LOGIN": True})


def test_login_flow(synced: dict[str, Any]) -> None:
    settings = synced["settings"]
    security.set_password(settings.home, "correct horse battery")
    app = create_app(
        {"CCKIT_SETTINGS": settings, "CCKIT_ENGINE": synced["engine"], "REQUIRE_LOGIN": True}
    )
    web = app.test_client()
    redirect = web.get("/catalog?q=x")
    assert redirect.status_code == 302
    assert "/login?next=" in redirect.headers["Location"]
    assert web.get("/integrations/mock/sync.json").status_code == 401
    token = _token(web.get("/login").get_data(as_text=True))
    bad = web.post("/login", data={"csrf_token": token, "password": "wrong"})
    assert bad.status_code == 401
    no_token = web.post("/login", data={"password": "correct horse battery"})
    assert no_token.status_code == 400
    good = web.post(
        "/login",
        data={"csrf_token": token, "password": "correct horse battery", "next": "//evil.test/"},
    )
    assert good.status_code == 302
    assert good.headers["Location"] == "/catalog"
    assert web.get("/catalog").status_code == 200
    token = _token(web.get("/catalog").get_data(as_text=True))
    web.post("/logout", data={"csrf_token": token})
    assert web.get("/catalog").status_code == 302


def test_login_slows_down_guessing(synced: dict[str, Any]) -> None:
    settings = synced["settings"]
    security.set_password(settings.home, "correct horse battery")
    app = create_app(
        {"CCKIT_SETTINGS": settings, "CCKIT_ENGINE": synced["engine"], "REQUIRE_LOGIN": True}
    )
    web = app.test_client()
    token = _token(web.get("/login").get_data(as_text=True))
    for _ in range(security.MAX_FAILED_LOGINS):
        assert web.post("/login", data={"csrf_token": token, "password": "x"}).status_code == 401
    locked = web.post("/login", data={"csrf_token": token, "password": "correct horse battery"})
    assert locked.status_code == 429


# --- the command --------------------------------------------------------------------------


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cckit", "console", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_cckit_console_prints_its_url_and_serves(settings: Any) -> None:
    env = {**os.environ, "CCKIT_HOME": str(settings.home)}
    process = _start(["--port", "0"], env)
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", info["url"])
        response = requests.get(info["url"] + "catalog", timeout=30)
        assert response.status_code == 200
        assert "Catalog" in response.text
        rebinding = requests.get(info["url"] + "catalog", headers={"Host": "evil.test"}, timeout=30)
        assert rebinding.status_code == 400
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_non_loopback_without_password_is_a_one_line_error(settings: Any) -> None:
    env = {**os.environ, "CCKIT_HOME": str(settings.home)}
    process = _start(["--host", "0.0.0.0", "--port", "0"], env)  # noqa: S104 - refused
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert out == ""
    assert err.startswith("Error: a login is required")
    assert "Traceback" not in err


def test_set_password_command_reads_stdin(tmp_path: Path) -> None:
    home = tmp_path / "h"
    done = subprocess.run(
        [sys.executable, "-m", "cckit", "console", "set-password", "--home", str(home),
         "--password-stdin"],
        input="a long enough password\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert security.load_password_hash(home) is not None


def test_edit_sets_allowed_package_hosts_and_names_a_bad_one(
    client: Any, synced: dict[str, Any]
) -> None:
    page = client.get("/integrations/mock/edit").get_data(as_text=True)
    assert 'id="field-allowed_package_hosts"' in page
    assert synced["vendor"].client_secret not in page
    token = _token(page)
    form = {
        "csrf_token": token,
        "name": "mock",
        "provider": "Mock",
        "provider_url": synced["vendor"].course_list_url,
        "auth_url": synced["vendor"].auth_url,
        "client_id": synced["vendor"].client_id,
        "client_secret": "",
        "sync_time": "03:00",
        "timezone": "UTC",
        "auth_mode": "oauth2",
        "full_every_days": "7",
    }
    bad = client.post(
        "/integrations/mock/edit", data={**form, "allowed_package_hosts": "https://cdn.test/x"}
    )
    assert bad.status_code == 400
    assert "is not a host name" in bad.get_data(as_text=True)
    ok = client.post(
        "/integrations/mock/edit",
        data={**form, "allowed_package_hosts": "CDN.example.com\n*.example.org, cdn.example.com"},
    )
    assert ok.status_code == 302
    item = integrations.get(synced["engine"], synced["settings"], "mock")
    assert item.allowed_package_hosts == ("cdn.example.com", "*.example.org")
    assert item.sync_time_text == "03:00"
    assert item.client_secret.reveal() == synced["vendor"].client_secret  # kept
    listing = client.get("/integrations").get_data(as_text=True)
    assert "cdn.example.com, *.example.org" in listing


@pytest.mark.slow
def test_newcomer_path_demo_keep_then_console(tmp_path: Path) -> None:
    """README: `cckit demo --keep`, then `cckit console --home ...` shows the catalog."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCKIT_")}
    env["CCKIT_HOME"] = str(tmp_path / "must-not-be-used")
    demo = subprocess.run(
        [sys.executable, "-m", "cckit", "demo", "--keep", "--no-conformance", "--courses", "6"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    home = tmp_path / "cckit-demo" / "home"
    assert f"Manage this catalog in a browser: cckit console --home {home}" in demo.stdout
    process = _start(["--home", str(home), "--port", "0"], env)
    try:
        assert process.stdout is not None
        url = json.loads(process.stdout.readline())["url"]
        page = requests.get(url + "catalog", timeout=30)
        assert page.status_code == 200
        assert "demo-vendor" in page.text
        assert "(revised)" in page.text
        assert requests.get(url + "integrations", timeout=30).status_code == 200
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_over_https_a_post_needs_a_same_origin_referer(synced: dict[str, Any]) -> None:
    app = create_app({"CCKIT_SETTINGS": synced["settings"], "CCKIT_ENGINE": synced["engine"]})
    web = app.test_client()
    base = "https://console.example"
    token = _token(web.get("/catalog", base_url=base).get_data(as_text=True))
    form = {"csrf_token": token, "active": "no"}
    row = _first_course(synced)
    path = f"/courses/{row['pk']}/active"
    foreign = web.post(path, data=form, base_url=base, headers={"Referer": "https://evil.test/"})
    assert foreign.status_code == 400
    same = web.post(path, data=form, base_url=base, headers={"Referer": f"{base}/catalog"})
    assert same.status_code == 302
