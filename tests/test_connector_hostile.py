"""A hostile vendor against the connector (issue 10): every attack refused or bounded.

Each test first syncs a well-behaved vendor (the real mock on 127.0.0.1), then turns it
hostile and syncs again. It asserts the refusal and its message, that nothing reached the
trap server on 127.0.0.2 nor the trap proxy set through ``HTTP(S)_PROXY`` (and that no
socket tried to leave loopback), that peak RSS stayed bounded, and that every course of
the first sync is unchanged in the catalog. Limits are small so that drip-fed attacks end
in seconds: every test is bounded by the deadlines it sets, never by machine speed.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hostile_vendor import Hostile
from hostile_vendor import Trap
from hostile_vendor import drip
from hostile_vendor import guard_sockets
from hostile_vendor import gzip_bomb
from hostile_vendor import nested
from hostile_vendor import peak_rss
from hostile_vendor import peak_rss_reset
from hostile_vendor import respond
from hostile_vendor import rss
from hostile_vendor import with_network
from sqlalchemy.engine import Engine

from connector import db
from connector import integrations
from connector.config import Settings
from connector.integrations import Integration
from connector.limits import Limits
from connector.sync import SyncOptions
from connector.sync import SyncResult
from connector.sync import sync

pytestmark = pytest.mark.live

#: Small limits: a drip-fed attack ends within a few seconds.
LIMITS = Limits(
    connect_timeout_s=2,
    read_timeout_s=2,
    request_deadline_s=3,
    package_deadline_s=3,
    run_deadline_s=60,
    attempts=2,
    backoff_base_s=0,
    retry_budget_s=2,
    max_page_bytes=512 * 1024,
    max_course_bytes=32 * 1024,
    max_json_depth=16,
    max_token_bytes=4096,
    max_pages=30,
    max_pages_without_new_course=3,
)
#: Peak RSS growth allowed during an attack (the sync itself needs a few MB).
RSS_BOUND = 120 * 1024 * 1024
OPTIONS = SyncOptions(workers=2)


@dataclass
class World:
    """A vendor synced once, the traps, and what the first sync stored."""

    vendor: Any
    hostile: Hostile
    trap: Trap
    proxy: Trap
    refused_sockets: list[Any]
    engine: Engine
    settings: Settings
    integration: Integration
    before: dict[str, tuple[Any, ...]]

    def sync(
        self, limits: Limits = LIMITS, allowed_package_hosts: tuple[str, ...] = ()
    ) -> SyncResult:
        integration = with_network(self.integration, limits, allowed_package_hosts)
        return sync(self.engine, self.settings, integration, options=OPTIONS)

    def course_url(self, path: str = "") -> str:
        return f"{self.vendor.course_list_url}{path}"


def catalog_state(engine: Engine) -> dict[str, tuple[Any, ...]]:
    """vendor_id -> what an LMS serves of the course (metadata and current version)."""
    c, pv = db.courses, db.package_versions
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                c.c.vendor_id, c.c.title, c.c.description, c.c.is_active,
                c.c.current_package_id, pv.c.sha256, pv.c.stored_path,
            ).outerjoin(pv, pv.c.id == c.c.current_package_id)
        ).all()  # fmt: skip
    return {row[0]: tuple(row[1:]) for row in rows}


@pytest.fixture
def world(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    live_vendor_factory: Any,
) -> Iterator[World]:
    trap, proxy = Trap("127.0.0.2"), Trap("127.0.0.3")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    vendor = live_vendor_factory(COURSES=4, PAGE_SIZE=2, VALIDATE_RESPONSES=False)
    vendor.admin._session.trust_env = False  # the test's own admin calls skip the trap
    hostile = Hostile(vendor.app.wsgi_app)
    vendor.app.wsgi_app = hostile
    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'c.db'}")
    engine = db.connect(settings)
    integration = integrations.add(
        engine, settings, name="acme", provider="Acme",
        provider_url=vendor.course_list_url, auth_url=vendor.auth_url,
        client_id=vendor.client_id, client_secret=vendor.client_secret,
        auth_mode="oauth2", sync_time="02:00",
    )  # fmt: skip
    refused = guard_sockets(monkeypatch)
    first = sync(engine, settings, with_network(integration, LIMITS), options=OPTIONS)
    assert first.status == "succeeded", first.error
    before = catalog_state(engine)
    assert len(before) == 4
    assert all(v[4] is not None for v in before.values())
    hostile.seen.clear()
    world = World(vendor, hostile, trap, proxy, refused, engine, settings, integration, before)
    peak_rss_reset()
    start_rss = rss()
    try:
        yield world
        # Every attack: nothing left the allowed origins, memory stayed flat, and the
        # catalog still serves what the first sync stored.
        assert trap.hits == [], f"the trap on 127.0.0.2 was reached: {trap.hits}"
        assert proxy.hits == [], f"the trap proxy was reached: {proxy.hits}"
        assert refused == [], f"a socket tried to leave loopback: {refused}"
        assert peak_rss() - start_rss < RSS_BOUND
        after = catalog_state(engine)
        assert {k: after.get(k) for k in before} == before
        for row in before.values():
            assert Path(row[5]).is_dir()
    finally:
        engine.dispose()
        trap.close()
        proxy.close()


def newer(course: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """``course`` changed and marked modified (so that the sync acts on it)."""
    return {
        **course,
        "LastModifiedUTC": "2099-01-01T00:00:00Z",
        "PackageLastModifiedUTC": "2099-01-01T00:00:00Z",
        **changes,
    }


def failed_reasons(result: SyncResult) -> dict[str, str]:
    return {o.vendor_id: o.reason or "" for o in result.outcomes if o.outcome == "failed"}


def one_line(text: str | None) -> str:
    assert text is not None
    assert "\n" not in text
    assert "Traceback" not in text
    return text


# -- credentials and origins ------------------------------------------------------------------


def test_next_link_to_another_origin_fails_the_run_without_sending_the_token(
    world: World,
) -> None:
    def attack(environ: dict[str, Any], start: Any, hostile: Hostile) -> Any:
        if environ["PATH_INFO"].endswith("/courses"):
            link = f'<{world.trap.url}/steal?page=2>; rel="next"'
            return respond(start, b"[]", headers=[("Link", link)])
        return None

    world.hostile.attack = attack
    result = world.sync()
    assert result.status == "failed"
    error = one_line(result.error)
    assert "127.0.0.2" in error
    assert "another origin" in error


def test_package_on_another_origin_needs_an_allowed_host(world: World) -> None:
    world.hostile.rewrite = lambda courses: [
        newer(c, DownloadPackageUrl=f"{world.trap.url}/cdn/{c['ID']}.zip") for c in courses
    ]
    result = world.sync()
    reasons = failed_reasons(result)
    assert set(reasons) == set(world.before)
    for reason in reasons.values():
        assert "not in the integration's allowed package hosts" in one_line(reason)


def test_allowed_cdn_gets_no_credentials_and_redirects_drop_them(world: World) -> None:
    cdn = Trap("127.0.0.4")  # an allowed CDN: requests there are expected, never a token
    try:
        first_id = sorted(world.before)[0]

        def attack(environ: dict[str, Any], start: Any, hostile: Hostile) -> Any:
            if environ["PATH_INFO"].endswith(f"/{first_id}/package.zip"):
                target = f"{cdn.url}/signed/{first_id}.zip?sig=abc"
                return respond(start, b"", status="302 Found", headers=[("Location", target)])
            return None

        world.hostile.attack = attack
        world.hostile.rewrite = lambda courses: [
            newer(c) if c["ID"] == first_id else c for c in courses
        ]
        result = world.sync(allowed_package_hosts=("127.0.0.4",))
        # The provider's own package URL got the token, the CDN hop did not.
        own = [s for s in world.hostile.seen if s[1].endswith(f"/{first_id}/package.zip")]
        assert own
        assert all(auth and auth.startswith("Bearer ") for _, _, auth in own)
        assert cdn.hits
        assert all(auth is None for _, _, auth in cdn.hits)
        # The CDN served no zip: the course fails, its old version stays live.
        assert "not a readable zip" in one_line(failed_reasons(result)[first_id])
    finally:
        cdn.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/pkg.zip",
        "https://[::ffff:169.254.169.254]/pkg.zip",
        "https://[fe80::1]/pkg.zip",
    ],
)
def test_package_urls_to_internal_addresses_are_refused(world: World, url: str) -> None:
    world.hostile.rewrite = lambda courses: [newer(c, DownloadPackageUrl=url) for c in courses]
    # Even an admin who allowed the address gets no connection to it.
    host = url.split("/")[2].strip("[]")
    result = world.sync(allowed_package_hosts=(host,))
    reasons = failed_reasons(result)
    assert set(reasons) == set(world.before)
    for reason in reasons.values():
        one_line(reason)
        if url.startswith("http://"):  # refused when the list is checked (COURSE-010)
            assert "http only on loopback" in reason
        else:
            assert "network policy" in reason
            assert "link-local" in reason or "private" in reason


def test_redirect_of_a_package_to_metadata_address_is_refused(world: World) -> None:
    def attack(environ: dict[str, Any], start: Any, hostile: Hostile) -> Any:
        if environ["PATH_INFO"].endswith("/package.zip"):
            target = "http://169.254.169.254/latest/meta-data/iam"
            return respond(
                start, b"", status="307 Temporary Redirect", headers=[("Location", target)]
            )
        return None

    world.hostile.attack = attack
    world.hostile.rewrite = lambda courses: [newer(c) for c in courses]
    reasons = failed_reasons(world.sync())
    assert set(reasons) == set(world.before)
    assert all("169.254.169.254" in one_line(r) and "plain http" in r for r in reasons.values())


def test_redirect_loop_is_cut_at_max_redirects(world: World) -> None:
    def attack(environ: dict[str, Any], start: Any, hostile: Hostile) -> Any:
        path = environ["PATH_INFO"]
        if path.endswith("/courses") or path.startswith("/hop"):
            number = int(path[4:] or 0) + 1 if path.startswith("/hop") else 0
            return respond(start, b"", status="302 Found", headers=[("Location", f"/hop{number}")])
        return None

    world.hostile.attack = attack
    result = world.sync()
    assert result.status == "failed"
    assert "limit max_redirects=5" in one_line(result.error)
    hops = [s for s in world.hostile.seen if s[1].startswith("/hop")]
    assert len(hops) == 5 * LIMITS.attempts or len(hops) == 5


def test_list_redirect_to_another_origin_is_refused(world: World) -> None:
    def attack(environ: dict[str, Any], start: Any, hostile: Hostile) -> Any:
        if environ["PATH_INFO"].endswith("/courses"):
            target = f"{world.trap.url}/courses"
            return respond(start, b"", status="301 Moved", headers=[("Location", target)])
        return None

    world.hostile.attack = attack
    result = world.sync()
    assert result.status == "failed"
    assert "another origin" in one_line(result.error)


def test_token_endpoint_redirect_is_refused(world: World) -> None:
    def attack(environ: dict[str, Any], start: Any, hostile: Hostile) -> Any:
        if environ["PATH_INFO"].endswith("/oauth/token"):
            target = f"{world.trap.url}/oauth/token"
            return respond(start, b"", status="307 Redirect", headers=[("Location", target)])
        return None

    world.hostile.attack = attack
    result = world.sync()
    assert result.status == "failed"
    assert "token request goes only to the Authentication URL" in one_line(result.error)


# -- unbounded work ---------------------------------------------------------------------------


def test_list_dripping_one_byte_at_a_time_is_cut_by_the_request_deadline(world: World) -> None:
    def attack(environ: dict[str, Any], start: Any, hostile: Hostile) -> Any:
        if environ["PATH_INFO"].endswith("/courses"):
            return respond(start, drip(b"[" + b" " * 10_000 + b"]", 0.05))
        return None

    world.hostile.attack = attack
    result = world.sync()
    assert result.status == "failed"
    assert "deadline exceeded (limit request_deadline_s=3)" in one_line(result.error)


def test_run_deadline_ends_the_run_as_failed_with_its_reason(world: World) -> None:
    def attack(environ: dict[str, Any], start: Any, hostile: Hostile) -> Any:
        if environ["PATH_INFO"].endswith("/courses"):
            return respond(start, drip(b"[" + b" " * 10_000 + b"]", 0.05))
        return None

    world.hostile.attack = attack
    limits = Limits(**{**LIMITS.__dict__, "run_deadline_s": 2, "request_deadline_s": 30})
    result = world.sync(limits=limits)
    assert result.status == "failed"
    assert "deadline exceeded (limit run_deadline_s=2)" in one_line(result.error)


def test_package_dripping_is_cut_by_the_package_deadline(world: World) -> None:
    def attack(environ: dict[str, Any], start: Any, hostile: Hostile) -> Any:
        if environ["PATH_INFO"].endswith("/package.zip"):
            return respond(
                start, drip(b"PK" + b"\0" * 10_000, 0.05), content_type="application/zip"
            )
        return None

    world.hostile.attack = attack
    world.hostile.rewrite = lambda courses: [newer(c) for c in courses]
    result = world.sync()
    reasons = failed_reasons(result)
    assert set(reasons) == set(world.before)
    assert all("limit package_deadline_s=3" in one_line(r) for r in reasons.values())


def test_endless_distinct_next_links_without_new_courses_stop(world: World) -> None:
    def attack(environ: dict[str, Any], start: Any, hostile: Hostile) -> Any:
        if environ["PATH_INFO"].endswith("/courses"):
            page = int(environ.get("QUERY_STRING", "").partition("=")[2] or 0)
            link = f'<{world.course_url()}?p={page + 1}>; rel="next"'
            return respond(start, b"[]", headers=[("Link", link)])
        return None

    world.hostile.attack = attack
    result = world.sync()
    assert result.status == "failed"
    assert "limit max_pages_without_new_course=3" in one_line(result.error)
    assert result.pages <= 4


def test_endless_pages_of_new_courses_stop_at_max_pages(world: World) -> None:
    template = next(iter(world.vendor.admin.courses()))

    def attack(environ: dict[str, Any], start: Any, hostile: Hostile) -> Any:
        if environ["PATH_INFO"].endswith("/courses"):
            page = int(environ.get("QUERY_STRING", "").partition("=")[2] or 0)
            link = f'<{world.course_url()}?p={page + 1}>; rel="next"'
            course = {**template, "ID": f"GEN-{page}", "IsActive": False}
            return respond(start, json.dumps([course]).encode(), headers=[("Link", link)])
        return None

    world.hostile.attack = attack
    result = world.sync()
    assert result.status == "failed"
    assert "limit max_pages=30" in one_line(result.error)


def test_gzip_bomb_list_is_refused_without_inflating_it(world: World) -> None:
    bomb = gzip_bomb(256 * 1024 * 1024)  # 256 MB of JSON in about 250 KB

    def attack(environ: dict[str, Any], start: Any, hostile: Hostile) -> Any:
        if environ["PATH_INFO"].endswith("/courses"):
            return respond(start, bomb, headers=[("Content-Encoding", "gzip")])
        return None

    world.hostile.attack = attack
    result = world.sync()
    assert result.status == "failed"
    assert "limit max_page_bytes=524288" in one_line(result.error)


def test_huge_unknown_field_fails_that_course_only(world: World) -> None:
    victim = sorted(world.before)[0]
    world.hostile.rewrite = lambda courses: [
        newer(c, Extra="x" * 2_000_000) if c["ID"] == victim else c for c in courses
    ]
    result = world.sync(limits=Limits(**{**LIMITS.__dict__, "max_page_bytes": 4 * 1024 * 1024}))
    reasons = failed_reasons(result)
    assert list(reasons) == [victim]
    assert "limit max_course_bytes=32768" in one_line(reasons[victim])
    assert result.status == "partial" or (result.status == "failed" and result.error is None)


def test_field_longer_than_the_schema_allows_is_not_stored(world: World) -> None:
    victim = sorted(world.before)[0]
    world.hostile.rewrite = lambda courses: [
        newer(c, Title="T" * 256) if c["ID"] == victim else c for c in courses
    ]
    reasons = failed_reasons(world.sync())
    assert list(reasons) == [victim]
    assert "$.Title" in one_line(reasons[victim])


def test_deep_json_course_is_refused_and_the_page_kept(
    world: World, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    deep_id = "DEEP-1"

    def attack(environ: dict[str, Any], start: Any, hostile: Hostile) -> Any:
        if environ["PATH_INFO"].endswith("/courses"):
            good = [json.dumps(c).encode() for c in world.vendor.admin.courses()]
            bomb = b'{"ID": "' + deep_id.encode() + b'", "x": ' + nested(100_000) + b"}"
            return respond(start, b"[" + b",".join([bomb, *good]) + b"]")
        return None

    world.hostile.attack = attack
    with caplog.at_level(logging.DEBUG):
        result = world.sync()
    reasons = failed_reasons(result)
    assert len(reasons) == 1
    assert "limit max_json_depth=16" in one_line(next(iter(reasons.values())))
    assert "RecursionError" not in caplog.text + capsys.readouterr().err


def test_moderately_deep_course_is_refused_by_max_json_depth(world: World) -> None:
    victim = sorted(world.before)[0]
    world.hostile.rewrite = lambda courses: [
        newer(c, Extra=json.loads(nested(200))) if c["ID"] == victim else c for c in courses
    ]
    reasons = failed_reasons(world.sync())
    assert list(reasons) == [victim]
    assert "limit max_json_depth=16" in one_line(reasons[victim])


def test_five_megabyte_access_token_is_refused(world: World) -> None:
    def attack(environ: dict[str, Any], start: Any, hostile: Hostile) -> Any:
        if environ["PATH_INFO"].endswith("/oauth/token"):
            body = {"access_token": "a" * 5_000_000, "token_type": "Bearer", "expires_in": 600}
            return respond(start, json.dumps(body).encode())
        return None

    world.hostile.attack = attack
    result = world.sync()
    assert result.status == "failed"
    error = one_line(result.error)
    assert world.vendor.auth_url in error
    assert "limit max_token_bytes=4096" in error


def test_deep_json_token_answer_is_a_clean_error(world: World) -> None:
    def attack(environ: dict[str, Any], start: Any, hostile: Hostile) -> Any:
        if environ["PATH_INFO"].endswith("/oauth/token"):
            return respond(start, nested(2000))
        return None

    world.hostile.attack = attack
    result = world.sync()
    assert result.status == "failed"
    assert "not a JSON object" in one_line(result.error)


# -- retries ----------------------------------------------------------------------------------


def test_package_answered_503_forever_costs_the_configured_attempts(world: World) -> None:
    victim = sorted(world.before)[0]
    world.vendor.admin.set_fault(f"server_error:1000000@course:{victim}")
    world.hostile.rewrite = lambda courses: [newer(c) if c["ID"] == victim else c for c in courses]
    world.vendor.admin.clear_journal()
    limits = Limits(
        **{**LIMITS.__dict__, "attempts": 4, "retry_budget_s": 5, "package_deadline_s": 60}
    )
    result = world.sync(limits=limits)
    journal = world.vendor.admin.journal()
    calls = [e for e in journal if e["operation"] == "package" and f"/{victim}/" in e["path"]]
    assert len(calls) == 4
    reason = failed_reasons(result)[victim]
    assert "after 4 attempt(s)" in one_line(reason)


def test_retry_after_beyond_the_budget_is_not_waited_for(world: World) -> None:
    victim = sorted(world.before)[0]

    def attack(environ: dict[str, Any], start: Any, hostile: Hostile) -> Any:
        if environ["PATH_INFO"].endswith(f"/{victim}/package.zip"):
            return respond(start, b"", status="429 Too Many", headers=[("Retry-After", "3600")])
        return None

    world.hostile.attack = attack
    world.hostile.rewrite = lambda courses: [newer(c) if c["ID"] == victim else c for c in courses]
    result = world.sync()
    reason = failed_reasons(result)[victim]
    assert "Retry-After 3600 s does not fit in the retry budget" in one_line(reason)
    assert "retry_budget_s=2" in reason
    assert len([s for s in world.hostile.seen if s[1].endswith(f"/{victim}/package.zip")]) == 1


def test_refused_connection_is_one_readable_line_without_library_warnings(
    world: World, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    moved = dataclasses.replace(world.integration, auth_url=f"http://127.0.0.1:{port}/oauth/token")
    with caplog.at_level(logging.WARNING):
        result = sync(world.engine, world.settings, with_network(moved, LIMITS), options=OPTIONS)
    assert result.status == "failed"
    error = one_line(result.error)
    assert f"127.0.0.1:{port}/oauth/token" in error
    assert "connection refused" in error
    assert "Retrying" not in caplog.text + capsys.readouterr().err
    assert "Max retries" not in error
