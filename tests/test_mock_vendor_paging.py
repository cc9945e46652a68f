"""Paging stays correct while the catalog changes between page requests (LIST-004/010/013).

A hypothesis state machine walks the list page by page and, between pages, adds,
updates, deactivates, reactivates and re-packages courses and moves the clock. Checked:
no ID is served twice in one walk, and every course that matched the request when the
walk started and was not touched during it is served.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from datetime import timedelta
from typing import Any

import flask
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine
from hypothesis.stateful import initialize
from hypothesis.stateful import invariant
from hypothesis.stateful import precondition
from hypothesis.stateful import rule
from werkzeug.http import http_date

import mock_vendor

START = datetime.fromisoformat("2026-11-26T10:00:00+00:00")
ADMIN = {"Authorization": "Bearer admin"}
CACHE = tempfile.mkdtemp(prefix="cckit-paging-")

# If-Modified-Since choices: none, long ago (most of the catalog), around the start.
IMS_OFFSETS = st.sampled_from([None, -400 * 86400, -30 * 86400, -1, 0, 5])


class PagingMachine(RuleBasedStateMachine):
    """Walk the course list while the admin API changes the catalog."""

    app: flask.Flask

    @initialize(courses=st.integers(2, 14), page_size=st.integers(1, 3))
    def start(self, courses: int, page_size: int) -> None:
        self.app = mock_vendor.create_app(
            {
                "TESTING": True,
                "COURSES": courses,
                "SEED": 5,
                "PAGE_SIZE": page_size,
                "MAX_ASSET_BYTES": 2_000,
                "CLIENT_SECRET": "secret",
                "ADMIN_TOKEN": "admin",
                "CACHE_DIR": CACHE,
                "CLOCK_START": "2026-11-26T10:00:00Z",
                "CLOCK_FROZEN": True,
                "VALIDATE_RESPONSES": True,
            }
        )
        self.client = self.app.test_client()
        token = self.client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("cckit-demo", "secret"),
        ).json["access_token"]  # type: ignore[index]
        self.auth = {"Authorization": f"Bearer {token}"}
        self.added = 0
        self.walking = False
        self.walks_done = 0
        self.seen: list[str] = []
        self.expected: set[str] = set()
        self.touched: set[str] = set()
        self.next_url: str | None = None
        self.headers: dict[str, str] = {}

    # ----------------------------------------------------------------- helpers

    def _ids(self) -> list[str]:
        state = mock_vendor.get_state(self.app)
        return [r.course_id for r in state.default_tenant.records]

    def _matching(self, ims: datetime | None) -> set[str]:
        state = mock_vendor.get_state(self.app)
        records = state.default_tenant.records
        if ims is None:
            return {r.course_id for r in records if r.is_active}
        return {r.course_id for r in records if r.changed_at > ims}

    def _admin(self, method: str, path: str, **kwargs: Any) -> None:
        response = self.client.open(f"/_admin/{path}", method=method, headers=ADMIN, **kwargs)
        assert response.status_code < 300, response.json

    # ----------------------------------------------------------------- walking

    @precondition(lambda self: not self.walking)
    @rule(offset=IMS_OFFSETS)
    def begin_walk(self, offset: int | None) -> None:
        now = mock_vendor.get_state(self.app).clock.now()
        ims = None if offset is None else (now + timedelta(seconds=offset)).replace(microsecond=0)
        self.headers = {} if ims is None else {"If-Modified-Since": http_date(ims)}
        self.expected = self._matching(ims)
        self.touched = set()
        self.seen = []
        self.next_url = "/api/v1/courses"
        self.walking = True

    @precondition(lambda self: self.walking)
    @rule()
    def next_page(self) -> None:
        assert self.next_url is not None
        response = self.client.get(self.next_url, headers={**self.auth, **self.headers})
        assert response.status_code == 200, response.json
        page = [course["ID"] for course in response.json]  # type: ignore[union-attr]
        state = mock_vendor.get_state(self.app)
        assert len(page) <= state.page_size
        self.seen.extend(page)
        assert len(self.seen) == len(set(self.seen)), f"ID served twice: {self.seen}"
        link = response.headers.get("Link")
        if link:
            self.next_url = link[link.index("<") + 1 : link.index(">")]
            return
        missed = (self.expected - self.touched) - set(self.seen)
        assert not missed, f"unchanged courses never served: {sorted(missed)}"
        self.walking = False
        self.walks_done += 1

    @precondition(lambda self: self.walking)
    @rule()
    def finish_walk(self) -> None:
        # Rules are picked uniformly; this one makes completed walks common.
        while self.walking:
            self.next_page()

    # ----------------------------------------------------------------- changes

    @rule()
    def add_course(self) -> None:
        self.added += 1
        course_id = f"NEW-{self.added}"
        self._admin("POST", "courses", json={"ID": course_id, "Title": f"Added {self.added}"})
        self.touched.add(course_id)

    @precondition(lambda self: bool(self._ids()))
    @rule(data=st.data())
    def update_course(self, data: st.DataObject) -> None:
        course_id = data.draw(st.sampled_from(self._ids()))
        self._admin("PATCH", f"courses/{course_id}", json={"Title": f"Edited {self.added}"})
        self.added += 1
        self.touched.add(course_id)

    @precondition(lambda self: bool(self._ids()))
    @rule(data=st.data(), active=st.booleans())
    def set_active(self, data: st.DataObject, active: bool) -> None:
        course_id = data.draw(st.sampled_from(self._ids()))
        self._admin("POST", f"courses/{course_id}/{'activate' if active else 'deactivate'}")
        self.touched.add(course_id)

    @precondition(lambda self: bool(self._ids()))
    @rule(data=st.data())
    def replace_package(self, data: st.DataObject) -> None:
        course_id = data.draw(st.sampled_from(self._ids()))
        self._admin("PUT", f"courses/{course_id}/package")
        self.touched.add(course_id)

    @rule(seconds=st.integers(0, 3))
    def advance_clock(self, seconds: int) -> None:
        self._admin("POST", "clock", json={"advance": seconds})

    @invariant()
    def no_server_problems(self) -> None:
        if hasattr(self, "app"):
            assert mock_vendor.get_state(self.app).problems == []


PagingMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
TestPaging = PagingMachine.TestCase
