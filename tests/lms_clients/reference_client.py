"""A small LMS client written against the adapter protocol of ``cckit lms-check``.

``python reference_client.py sync|catalog [DEFECT]``. Without a defect it follows every
client obligation of docs/spec.md section 9 (it is the test suite's "good" client); each
defect breaks exactly one obligation, the way real clients do:

- ``token-per-request``: a new token for every call (CAUTH-002)
- ``no-retry-after``: retries at once, ignoring Retry-After (CNET-001)
- ``first-page-only``: never follows a next link (CLIST-001)
- ``watermark-on-failure``: moves the watermark although the list read failed (CLIST-004)
- ``broken-package-published``: publishes packages without checking them (CPKG-002)
- ``deactivation-ignored``: keeps deactivated courses active (CCAT-002)
- ``mass-deactivation``: after a failed page, deactivates every course not seen (CCAT-003)
- ``token-cross-origin``: sends its credentials to any origin (CAUTH-005)

State lives in ``$CCKIT_LMS_STATE_DIR/state.json``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import time
import zipfile
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import urljoin
from urllib.parse import urlsplit

import requests

DEFECTS = {
    "token-per-request",
    "no-retry-after",
    "first-page-only",
    "watermark-on-failure",
    "broken-package-published",
    "deactivation-ignored",
    "mass-deactivation",
    "token-cross-origin",
}
RETRIES = 3
TIMEOUT = (5, 5)


class SyncFailed(Exception):
    """The sync cannot go on."""


class Client:
    def __init__(self, defect: str | None) -> None:
        self.defect = defect
        self.provider = os.environ["CCKIT_LMS_PROVIDER_URL"]
        self.auth_url = os.environ.get("CCKIT_LMS_AUTH_URL", "")
        self.client_id = os.environ["CCKIT_LMS_CLIENT_ID"]
        self.secret = os.environ["CCKIT_LMS_CLIENT_SECRET"]
        self.mode = os.environ.get("CCKIT_LMS_AUTH_MODE", "oauth2")
        self.state_file = Path(os.environ["CCKIT_LMS_STATE_DIR"]) / "state.json"
        self.http = requests.Session()
        self.token: str | None = None
        self.state: dict[str, Any] = (
            json.loads(self.state_file.read_text())
            if self.state_file.exists()
            else {"watermark": None, "courses": {}}
        )

    def save(self) -> None:
        self.state_file.write_text(json.dumps(self.state))

    # ------------------------------------------------------------------ credentials

    def _origin(self, url: str) -> tuple[str, str]:
        parts = urlsplit(url)
        return parts.scheme, parts.netloc

    def fetch_token(self) -> str:
        response = self.http.post(
            self.auth_url,
            data={"grant_type": "client_credentials"},
            auth=(self.client_id, self.secret),
            timeout=TIMEOUT,
        )
        if response.status_code != 200:
            raise SyncFailed(f"token request: {response.status_code} {response.text[:100]}")
        self.token = str(response.json()["access_token"])
        return self.token

    def credentials(self, url: str) -> dict[str, str] | None:
        same = self._origin(url) == self._origin(self.provider)
        if not same and self.defect != "token-cross-origin":
            return None
        if self.mode == "basic":
            return {"auth": "basic"}
        if self.token is None or self.defect == "token-per-request":
            self.fetch_token()
        return {"auth": "bearer"}

    # ------------------------------------------------------------------ HTTP

    def call(self, url: str, headers: dict[str, str] | None = None) -> requests.Response:
        """GET with credentials where due, bounded retries, Retry-After and one re-auth."""
        reauthenticated = False
        attempt = 0
        while True:
            attempt += 1
            sent = dict(headers or {})
            auth = None
            scheme = self.credentials(url)
            if scheme == {"auth": "bearer"}:
                sent["Authorization"] = f"Bearer {self.token}"
            elif scheme == {"auth": "basic"}:
                auth = (self.client_id, self.secret)
            try:
                response = self.http.get(url, headers=sent, auth=auth, timeout=TIMEOUT, stream=True)
            except requests.RequestException as exc:
                if attempt > RETRIES:
                    raise SyncFailed(f"{url}: {exc.__class__.__name__}") from None
                time.sleep(0.2)
                continue
            challenge = response.headers.get("WWW-Authenticate", "")
            if response.status_code == 401 and 'error="invalid_token"' in challenge:
                response.close()
                if reauthenticated or self.mode != "oauth2":
                    raise SyncFailed(f"{url}: token rejected again")
                reauthenticated = True
                self.fetch_token()
                continue
            if response.status_code in (429, 500, 502, 503, 504) and attempt <= RETRIES:
                wait = response.headers.get("Retry-After", "")
                response.close()
                delay = min(int(wait), 10) if wait.isdigit() else 0.2
                time.sleep(0 if self.defect == "no-retry-after" else delay)
                continue
            return response

    # ------------------------------------------------------------------ list

    def read_list(self, seen: list[dict[str, Any]]) -> None:
        url = self.provider
        visited: set[str] = set()
        headers = {"Accept": "application/json"}
        if self.state["watermark"]:
            headers["If-Modified-Since"] = self.state["watermark"]
        while url:
            if url in visited:
                raise SyncFailed(f"next link loop at {url}")
            if self._origin(url) != self._origin(self.provider) and (
                self.defect != "token-cross-origin"
            ):
                raise SyncFailed(f"next link to another origin: {url}")
            visited.add(url)
            response = self.call(url, headers)
            if response.status_code != 200:
                raise SyncFailed(f"{url}: {response.status_code}")
            seen.extend(response.json())
            following = response.links.get("next", {}).get("url")
            url = urljoin(url, following) if following else ""
            if self.defect == "first-page-only":
                break

    # ------------------------------------------------------------------ packages

    def download(self, url: str) -> bytes:
        data = b""
        validator = None
        for _ in range(RETRIES + 1):
            headers = {"Accept-Encoding": "identity"}
            if data and validator:
                headers.update({"Range": f"bytes={len(data)}-", "If-Range": validator})
            response = self.call(url, headers)
            if response.status_code == 200:
                data = b""
                validator = response.headers.get("ETag")
            elif response.status_code != 206:
                raise SyncFailed(f"{url}: {response.status_code}")
            expected = int(response.headers.get("Content-Length", "-1"))
            got = 0
            try:
                for chunk in response.iter_content(16384):
                    data += chunk
                    got += len(chunk)
            except requests.RequestException:
                continue
            if expected < 0 or got == expected:
                return data
        raise SyncFailed(f"{url}: download failed")

    def acceptable(self, data: bytes) -> bool:
        if self.defect == "broken-package-published":
            return True
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            names = archive.namelist()
        except zipfile.BadZipFile:
            return False
        for info in archive.infolist():
            parts = info.filename.replace("\\", "/").split("/")
            if info.filename.startswith(("/", "\\")) or ".." in parts:
                return False
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                return False
        extensions = {Path(n).suffix.lower() for n in names}
        if not {".crs", ".au", ".des", ".cst"} <= extensions:
            return False
        import aicc

        return not aicc.validate(data).errors

    # ------------------------------------------------------------------ sync

    def sync(self) -> int:
        started = formatdate(time.time(), usegmt=True)
        courses = self.state["courses"]
        seen: list[dict[str, Any]] = []
        try:
            self.read_list(seen)
        except SyncFailed as exc:
            print(f"sync failed: {exc}", file=sys.stderr)
            if self.defect == "mass-deactivation":
                ids = {c.get("ID") for c in seen}
                for course_id, row in courses.items():
                    if course_id not in ids:
                        row["active"] = False
            if self.defect == "watermark-on-failure":
                self.state["watermark"] = started
            self.save()
            return 1
        failures = 0
        for course in seen:
            row = courses.setdefault(
                course["ID"], {"title": "", "active": True, "sha": None, "plm": None}
            )
            row["title"] = course["Title"]
            row["active"] = bool(course["IsActive"]) or self.defect == "deactivation-ignored"
            if not course["IsActive"] or row["plm"] == course.get("PackageLastModifiedUTC"):
                continue
            try:
                data = self.download(course["DownloadPackageUrl"])
            except SyncFailed as exc:
                print(f"{course['ID']}: {exc}", file=sys.stderr)
                failures += 1
                continue
            row["plm"] = course.get("PackageLastModifiedUTC")
            if self.acceptable(data):
                row["sha"] = hashlib.sha256(data).hexdigest()
        self.state["watermark"] = started
        self.save()
        return 1 if failures else 0

    def catalog(self) -> int:
        rows = [
            {
                "id": cid,
                "active": row["active"],
                "title": row["title"],
                "package_sha256": row["sha"],
            }
            for cid, row in sorted(self.state["courses"].items())
        ]
        print(json.dumps(rows))
        return 0


def main() -> int:
    command = sys.argv[1]
    defect = sys.argv[2] if len(sys.argv) > 2 else None
    if defect is not None and defect not in DEFECTS:
        print(f"unknown defect {defect!r}", file=sys.stderr)
        return 2
    client = Client(defect)
    try:
        return client.sync() if command == "sync" else client.catalog()
    except SyncFailed as exc:
        print(f"sync failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
