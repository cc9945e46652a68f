"""The suite's settings: each option resolved as command line > environment > ini.

Imported by the pytest plugin in every pytest run, so it imports nothing heavy.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import Literal

from conformance.errors import ConfigurationError

AuthMode = Literal["oauth2", "basic"]
OptionStyle = Literal["pytest", "cli"]


def option_flag(name: str, style: OptionStyle = "pytest") -> str:
    """How a user spells option ``name`` (``"client-id"``): ``--cc-client-id`` in pytest,
    ``--client-id`` on ``cckit conformance run``."""
    return f"--cc-{name}" if style == "pytest" else f"--{name}"


AUTH_MODES: tuple[AuthMode, ...] = ("oauth2", "basic")
DEFAULT_MAX_PACKAGES = 10
DEFAULT_SEED = 0
#: Environment variable that holds the client secret (also accepted by the CLI).
SECRET_ENV = "CCKIT_CLIENT_SECRET"  # noqa: S105 - a variable name


@dataclass(frozen=True)
class Option:
    """One suite option and where it can come from."""

    name: str  # e.g. "course_list_url"
    help: str
    kind: str = "str"  # "str", "int", "bool", "mode", "path"
    ini: bool = True

    @property
    def flag(self) -> str:
        """The command-line flag, e.g. ``--cc-course-list-url``."""
        return "--cc-" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        """The environment variable, e.g. ``CCKIT_CC_COURSE_LIST_URL``."""
        return "CCKIT_CC_" + self.name.upper()

    @property
    def ini_name(self) -> str:
        """The ini key, e.g. ``cc_course_list_url``."""
        return "cc_" + self.name


OPTIONS: tuple[Option, ...] = (
    Option("course_list_url", "Vendor course list URL (Provider URL); enables the suite"),
    Option("auth_url", "Vendor token URL (Authentication URL), required in oauth2 mode"),
    Option("client_id", "Client ID issued by the vendor"),
    Option(
        "client_secret",
        f"Client secret (prefer the {SECRET_ENV} environment variable)",
        ini=False,
    ),
    Option("auth_mode", "Authentication mode: oauth2 (default) or basic", kind="mode"),
    Option(
        "max_packages",
        f"Packages to download and check, sampled by seed (default {DEFAULT_MAX_PACKAGES})",
        kind="int",
    ),
    Option("seed", f"Seed for package sampling and probes (default {DEFAULT_SEED})", kind="int"),
    Option("strict", "Fail on SHOULD requirements too (default: warn)", kind="bool"),
    Option(
        "progress",
        "Print a progress line to stderr every few seconds while the course list or the "
        "packages are fetched (use with -s)",
        kind="bool",
    ),
    Option(
        "expected_failures",
        "JSON or YAML file of requirement IDs expected to fail, each with a reason",
        kind="path",
    ),
    Option("report_json", "Write the per-requirement JSON report to this file", kind="path"),
    Option("html", "Write a self-contained HTML report to this file", kind="path"),
)


@dataclass(frozen=True)
class ExpectedFailure:
    """One entry of an expected-failures file."""

    requirement: str
    reason: str


@dataclass(frozen=True)
class Settings:
    """Resolved settings of one conformance run.

    Attributes:
        course_list_url: The vendor's course list URL.
        auth_url: The vendor's token URL (``None`` in basic mode).
        client_id: The client ID.
        client_secret: The client secret (never shown: excluded from ``repr``).
        auth_mode: ``"oauth2"`` or ``"basic"``.
        max_packages: How many packages to download and check.
        seed: Seed of the package sample and the hypothesis probes.
        strict: Whether SHOULD failures fail the run.
        expected_failures: Requirement ID -> expected-failure entry.
        report_json: Where to write the JSON report, if anywhere.
        html: Where to write the HTML report, if anywhere.
        progress: Print progress lines during long fetches.
        sources: Option name -> where its value came from (``cli``, ``env``, ``ini``,
            ``default``).
    """

    course_list_url: str
    auth_url: str | None
    client_id: str
    client_secret: str = field(repr=False)
    auth_mode: AuthMode = "oauth2"
    max_packages: int = DEFAULT_MAX_PACKAGES
    seed: int = DEFAULT_SEED
    strict: bool = False
    expected_failures: dict[str, ExpectedFailure] = field(default_factory=dict)
    expected_failures_file: str | None = None
    report_json: str | None = None
    html: str | None = None
    sources: dict[str, str] = field(default_factory=dict, compare=False)
    progress: bool = False

    def header_lines(self) -> list[str]:
        """Lines for the pytest report header (secret redacted)."""

        def src(name: str) -> str:
            return f" (from {self.sources.get(name, 'default')})"

        lines = [
            f"cckit conformance: target {self.course_list_url}{src('course_list_url')}",
            f"  auth mode: {self.auth_mode}{src('auth_mode')}",
        ]
        if self.auth_mode == "oauth2":
            lines.append(f"  auth url: {self.auth_url}{src('auth_url')}")
        lines += [
            f"  client id: {self.client_id}{src('client_id')}",
            f"  client secret: {'[redacted]' if self.client_secret else '(empty)'}"
            f"{src('client_secret')}",
            f"  seed: {self.seed}{src('seed')} (reproduce with --cc-seed {self.seed})",
            f"  max packages: {self.max_packages}{src('max_packages')}",
            f"  strict: {'yes' if self.strict else 'no (SHOULD failures are warnings)'}",
        ]
        if self.expected_failures_file:
            lines.append(
                f"  expected failures: {self.expected_failures_file} "
                f"({len(self.expected_failures)} entries)"
            )
        return lines


def resolve(
    cli: Callable[[str], Any],
    ini: Callable[[str], Any],
    environ: dict[str, str] | None = None,
) -> Settings | None:
    """Resolve every option (command line > environment > ini).

    Args:
        cli: Returns the command-line value of an option (by ``Option.name``) or ``None``.
        ini: Returns the ini value of an option (by ``Option.ini_name``) or ``None``/``""``.
        environ: The environment (``os.environ`` by default).

    Returns:
        ``None`` when no course list URL is configured anywhere (the suite stays inert),
        else the settings.

    Raises:
        ConfigurationError: An option is missing or invalid.
    """
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        value: Any = cli(option.name)
        source = "cli"
        if value in (None, False, ""):
            value, source = env.get(option.env), "env"
            if value in (None, "") and option.name == "client_secret":
                value = env.get(SECRET_ENV)
            if value in (None, "") and option.ini:
                value, source = ini(option.ini_name), "ini"
            if value in (None, "", False):
                value, source = None, "default"
        raw[option.name] = value
        sources[option.name] = source
    url = raw["course_list_url"]
    if not url:
        return None
    return build(
        course_list_url=str(url),
        auth_url=raw["auth_url"],
        client_id=raw["client_id"],
        client_secret=raw["client_secret"],
        auth_mode=raw["auth_mode"],
        max_packages=raw["max_packages"],
        seed=raw["seed"],
        strict=_bool(raw["strict"], "strict"),
        expected_failures=raw["expected_failures"],
        report_json=raw["report_json"],
        html=raw["html"],
        sources=sources,
        progress=_bool(raw["progress"], "progress"),
    )


def build(
    *,
    course_list_url: str,
    auth_url: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    auth_mode: str | None = None,
    max_packages: int | str | None = None,
    seed: int | str | None = None,
    strict: bool = False,
    expected_failures: str | os.PathLike[str] | None = None,
    report_json: str | os.PathLike[str] | None = None,
    html: str | os.PathLike[str] | None = None,
    sources: dict[str, str] | None = None,
    option_style: OptionStyle = "pytest",
    progress: bool = False,
) -> Settings:
    """Validate raw option values into :class:`Settings`.

    Args:
        option_style: How messages name the options: ``"pytest"`` (``--cc-client-id``) or
            ``"cli"`` (``--client-id``, as ``cckit conformance run`` spells them).

    Raises:
        ConfigurationError: With a message naming the option and the problem.
    """

    def flag(name: str) -> str:
        return option_flag(name, option_style)

    mode = (auth_mode or "oauth2").strip().lower()
    if mode not in AUTH_MODES:
        raise ConfigurationError(
            f"{flag('auth-mode')}: expected oauth2 or basic, got {auth_mode!r}"
        )
    if not _is_http_url(course_list_url):
        raise ConfigurationError(
            f"{flag('course-list-url')}: expected an absolute http(s) URL, got {course_list_url!r}"
        )
    if mode == "oauth2":
        if not auth_url:
            raise ConfigurationError(
                f"{flag('auth-url')} is required with {flag('auth-mode')} oauth2 "
                f"(use {flag('auth-mode')} basic for a vendor without a token endpoint)"
            )
        if not _is_http_url(auth_url):
            raise ConfigurationError(
                f"{flag('auth-url')}: expected an absolute http(s) URL, got {auth_url!r}"
            )
    if not client_id:
        raise ConfigurationError(f"{flag('client-id')} is required")
    if not client_secret:
        raise ConfigurationError(
            f"{flag('client-secret')} (or the {SECRET_ENV} variable) is required"
        )
    expected_path = os.fspath(expected_failures) if expected_failures else None
    return Settings(
        course_list_url=course_list_url,
        auth_url=str(auth_url) if mode == "oauth2" and auth_url else None,
        client_id=str(client_id),
        client_secret=str(client_secret),
        auth_mode=mode,
        max_packages=_int(
            max_packages, flag("max-packages"), DEFAULT_MAX_PACKAGES, minimum=0, named=True
        ),
        seed=_int(seed, flag("seed"), DEFAULT_SEED, minimum=0, named=True),
        strict=bool(strict),
        expected_failures=load_expected_failures(expected_path) if expected_path else {},
        expected_failures_file=expected_path,
        report_json=os.fspath(report_json) if report_json else None,
        html=os.fspath(html) if html else None,
        sources=dict(sources or {}),
        progress=progress,
    )


def load_expected_failures(path: str) -> dict[str, ExpectedFailure]:
    """Read an expected-failures file (JSON or YAML).

    Accepted shapes: a list of ``{"requirement": ID, "reason": text}`` objects (``id`` is
    accepted for ``requirement``), a mapping ``{ID: reason}``, or either of those under a
    top-level ``expected_failures`` key.

    Raises:
        ConfigurationError: Unreadable file, bad shape, unknown requirement ID or missing
            reason (naming the file and the entry).
    """
    import schemas

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read expected-failures file: {exc}") from exc
    data: Any
    try:
        if file.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except ValueError as exc:  # json.JSONDecodeError and yaml.YAMLError's parse errors
        raise ConfigurationError(f"{path}: not valid JSON/YAML: {exc}") from exc
    except Exception as exc:  # yaml.YAMLError does not derive from ValueError
        raise ConfigurationError(f"{path}: not valid YAML: {exc}") from exc
    if isinstance(data, dict) and "expected_failures" in data:
        data = data["expected_failures"]
    entries: list[tuple[str, Any]] = []
    if isinstance(data, dict):
        entries = [(str(k), v) for k, v in data.items()]
    elif isinstance(data, list):
        for index, item in enumerate(data):
            if not isinstance(item, dict):
                raise ConfigurationError(
                    f"{path}: entry {index}: expected an object with requirement and reason"
                )
            rid = item.get("requirement", item.get("id"))
            entries.append((str(rid) if rid is not None else "", item.get("reason")))
    elif data is not None:
        raise ConfigurationError(
            f"{path}: expected a list of {{requirement, reason}} objects or an ID -> reason map"
        )
    out: dict[str, ExpectedFailure] = {}
    for rid, reason in entries:
        try:
            schemas.requirement(rid)
        except KeyError:
            raise ConfigurationError(
                f"{path}: unknown requirement ID {rid!r} (see schemas/requirements.json)"
            ) from None
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigurationError(f"{path}: {rid}: a reason is required")
        out[rid] = ExpectedFailure(rid, reason.strip())
    return out


def _is_http_url(value: object) -> bool:
    from urllib.parse import urlsplit

    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _int(value: object, name: str, default: int, *, minimum: int, named: bool = False) -> int:
    # ``named``: ``name`` is already the option as the user spells it.
    if named:
        return _int_flag(value, name, default, minimum=minimum)
    return _int_flag(value, f"--cc-{name}", default, minimum=minimum)


def _int_flag(value: object, name: str, default: int, *, minimum: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(str(value))
    except ValueError:
        raise ConfigurationError(f"{name}: expected an integer, got {value!r}") from None
    if number < minimum:
        raise ConfigurationError(f"{name}: must be >= {minimum}, got {number}")
    return number


def _bool(value: object, name: str) -> bool:
    if value in (None, "", False):
        return False
    if value is True:
        return True
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"--cc-{name}: expected true or false, got {value!r}")
