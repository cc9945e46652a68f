"""Checks of the assignable units file (``.au``): IDs, scores, times, launch fields."""

from __future__ import annotations

import re

from aicc._package import AICC_EXTENSIONS
from aicc._table import Row
from aicc.model import AssignableUnit
from aicc.reader import ParsedTable
from aicc.validator._context import Context
from aicc.validator._context import Finding
from aicc.validator._registry import check
from aicc.validator._util import normpath

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_TIMESPAN = re.compile(r"([0-9]{2,4}):([0-5][0-9]):([0-5][0-9])(?:\.[0-9]{1,2})?")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_AICC_PARAM = re.compile(r"(?:^|[?&])aicc_(?:sid|url)=", re.IGNORECASE)
_WEB_LAUNCH_BAD = re.compile(r"[\s\"<>\\^`{|}]|%(?![0-9A-Fa-f]{2})|[^\x00-\x7f]")
_NOT_IDENTIFIER = re.compile(r"[\s\x00-\x1f\x7f]")
_TIME_LIMIT_ACTIONS = frozenset(
    {"exit,message", "exit,no message", "continue,message", "continue,no message"}
)
_TIME_LIMIT_SHORT = frozenset({"e,m", "e,n", "c,m", "c,n"})


def _records(ctx: Context) -> zip[tuple[AssignableUnit, Row]]:
    return zip(ctx.course.aus, ctx.table("au").rows, strict=True)


@check("au", "AU019")
def has_records(ctx: Context) -> None:
    """AU019: the .au holds at least one record."""
    parsed = ctx.table("au")
    if not ctx.course.aus:
        header = parsed.table.header_row
        ctx.add(
            "AU019", "the .au file has no AU records", parsed.path, header.line if header else None
        )


@check("au", "AU001", "AU002", "AU003", "AU004", "TBL012")
def system_ids(ctx: Context) -> None:
    """AU001 (empty), AU002 (repeated), AU003 (not an identifier), AU004 (no leading A)."""
    parsed = ctx.table("au")
    path, id_index = parsed.path, parsed.columns.get("system_id")
    seen: dict[str, int] = {}
    not_a: list[Finding] = []
    for index, (au, row) in enumerate(_records(ctx)):
        key = ctx.au_key_list[index]
        if not key:
            ctx.add(
                "AU001",
                f"AU record {index + 1} has an empty System_ID",
                path,
                *ctx.where(row, id_index),
            )
            continue
        ctx.check_id_text(au.system_id, row, id_index, path)
        stripped = au.system_id.strip()
        if len(stripped) > 255 or _NOT_IDENTIFIER.search(stripped):
            ctx.add(
                "AU003",
                f"System_ID {stripped[:40]!r} is not a CMIIdentifier "
                "(white space, control character or over 255 characters)",
                path,
                *ctx.where(row, id_index),
            )
        if key in seen:
            ctx.add(
                "AU002",
                f"System_ID {stripped!r} is used again (first at line "
                f"{parsed.rows[seen[key]].line})",
                path,
                *ctx.where(row, id_index),
            )
        else:
            seen[key] = index
        if stripped[:1] not in ("A", "a"):
            not_a.append((stripped, row, id_index))
    ctx.aggregate("AU004", not_a, path, "AU System_ID {!r} does not start with A", "AUs")


@check("au", "AU005", "AU006", "AU007", "AU008", "AU009", "AU010", "AU011", "AU012", "AU013")
def record_values(ctx: Context) -> None:
    """AU005-AU013: one record's launch, scoring and timing values."""
    parsed = ctx.table("au")
    short_actions: list[Finding] = []
    action_cache: dict[str, str] = {}
    # Records often share the same scoring/timing values: a combination already found
    # clean is not checked again (big courses validate several times faster).
    clean: set[tuple[str, str, str, str, str, bool]] = set()
    for au, row in _records(ctx):
        combo = (
            au.max_score,
            au.mastery_score,
            au.max_time_allowed,
            au.time_limit_action,
            au.web_launch,
            bool(au.file_name.strip() or au.command_line.strip()),
        )
        if combo in clean:
            continue
        before = (len(ctx.out), len(short_actions))
        _launch(ctx, au, row, parsed)
        _scores(ctx, au, row, parsed)
        _max_time(ctx, au, row, parsed)
        _time_limit_action(ctx, au, row, parsed, short_actions, action_cache)
        _web_launch(ctx, au, row, parsed)
        if (len(ctx.out), len(short_actions)) == before:
            clean.add(combo)
    ctx.aggregate(
        "AU012", short_actions, parsed.path, "Time_Limit_Action {!r} is abbreviated", "AUs"
    )


def _launch(ctx: Context, au: AssignableUnit, row: Row, parsed: ParsedTable) -> None:
    """AU005: File_Name or Command_Line."""
    # Without both columns TBL002 already says what is wrong.
    columns = parsed.columns
    if "file_name" not in columns or "command_line" not in columns:
        return
    if not au.file_name.strip() and not au.command_line.strip():
        ctx.add(
            "AU005",
            f"AU {au.system_id!r} has neither File_Name nor Command_Line",
            parsed.path,
            row.line,
            None,
        )


def _decimal(
    ctx: Context, value: str, rule: str, column: str, parsed: ParsedTable, row: Row
) -> float | None:
    if value in ctx.decimals:
        return ctx.decimals[value]
    text = value.strip()
    if not text:
        return None
    if _DECIMAL.fullmatch(text):
        # Scores repeat across AUs: remember good values (bad ones are reported each time).
        ctx.decimals[value] = number = float(text)
        return number
    ctx.add(
        rule,
        f"{column} {text!r} is not a decimal number",
        parsed.path,
        *ctx.at(parsed, row, column),
    )
    return None


def _scores(ctx: Context, au: AssignableUnit, row: Row, parsed: ParsedTable) -> None:
    """AU006/AU007 (decimal numbers), AU008 (mastery within range)."""
    max_score = _decimal(ctx, au.max_score, "AU006", "Max_Score", parsed, row)
    mastery = _decimal(ctx, au.mastery_score, "AU007", "Mastery_Score", parsed, row)
    if mastery is None:
        return
    if max_score is not None and mastery > max_score:
        message = f"Mastery_Score {au.mastery_score} is above Max_Score {au.max_score}"
    elif max_score is None and not 0 <= mastery <= 100:
        message = f"Mastery_Score {au.mastery_score} is outside 0-100"
    else:
        return
    ctx.add("AU008", message, parsed.path, *ctx.at(parsed, row, "mastery_score"))


def _max_time(ctx: Context, au: AssignableUnit, row: Row, parsed: ParsedTable) -> None:
    """AU009 (format), AU010 (zero): Max_Time_Allowed."""
    timespan = au.max_time_allowed.strip()
    if not timespan or timespan in ctx.good_timespans:
        return
    if _TIMESPAN.fullmatch(timespan) is None:
        rule, message = "AU009", f"Max_Time_Allowed {timespan!r} is not HHHH:MM:SS(.SS)"
    elif not timespan.strip("0:."):
        rule, message = "AU010", f"Max_Time_Allowed {timespan} is zero"
    else:
        ctx.good_timespans.add(timespan)  # a good value: not checked again
        return
    ctx.add(rule, message, parsed.path, *ctx.at(parsed, row, "max_time_allowed"))


def _time_limit_action(
    ctx: Context,
    au: AssignableUnit,
    row: Row,
    parsed: ParsedTable,
    short_actions: list[Finding],
    action_cache: dict[str, str],
) -> None:
    """AU011 (vocabulary); collects AU012 (abbreviated): Time_Limit_Action."""
    action = au.time_limit_action.strip()
    if not action:
        return
    normalised = action_cache.get(action)
    if normalised is None:
        normalised = ",".join(" ".join(part.split()) for part in action.casefold().split(","))
        action_cache[action] = normalised
    if normalised in _TIME_LIMIT_SHORT:
        short_actions.append((action, row, parsed.columns.get("time_limit_action")))
    elif normalised not in _TIME_LIMIT_ACTIONS:
        ctx.add(
            "AU011",
            f"Time_Limit_Action {action!r} is not in the vocabulary",
            parsed.path,
            *ctx.at(parsed, row, "time_limit_action"),
        )


def _web_launch(ctx: Context, au: AssignableUnit, row: Row, parsed: ParsedTable) -> None:
    """AU013: Web_Launch is a URL-encoded query without a leading ? or &."""
    web_launch = au.web_launch
    if web_launch and (web_launch[0] in "?&" or _WEB_LAUNCH_BAD.search(web_launch)):
        ctx.add(
            "AU013",
            f"Web_Launch {web_launch[:60]!r} starts with ? or &, contains white space "
            "or is not URL-encoded",
            parsed.path,
            *ctx.at(parsed, row, "web_launch"),
        )


@check("au", "AU018")
def core_vendor(ctx: Context) -> None:
    """AU018: Core_Vendor holds no ``<cr>`` markers."""
    parsed = ctx.table("au")
    for au, row in _records(ctx):
        if "<cr>" in au.core_vendor.casefold():
            ctx.add(
                "AU018",
                "Core_Vendor contains <cr> markers",
                parsed.path,
                *ctx.at(parsed, row, "core_vendor"),
            )


def _content_names(ctx: Context) -> set[str] | None:
    """Lower-cased paths of non-AICC files in the package, or None when it has none."""
    names = set()
    for name in ctx.parsed.package.names:
        last = name.rsplit("/", 1)[-1]
        ext = last.rsplit(".", 1)[-1].casefold() if "." in last else ""
        if ext in AICC_EXTENSIONS or "__MACOSX" in name.split("/") or last.startswith("._"):
            continue
        names.add(name.casefold())
    return names or None


@check("au", "AU014", "AU015", "AU016")
def file_names(ctx: Context) -> None:
    """AU014 (not in the package), AU015 (aicc_sid/url), AU016 (absolute URL): File_Name."""
    parsed = ctx.table("au")
    content = _content_names(ctx)
    urls: list[Finding] = []
    for au, row in _records(ctx):
        file_name = au.file_name.strip()
        if file_name:
            _file_name(ctx, file_name, content, parsed, row, urls)
    ctx.aggregate("AU016", urls, parsed.path, "File_Name {!r} is an absolute URL", "AUs")


def _file_name(
    ctx: Context,
    file_name: str,
    content: set[str] | None,
    parsed: ParsedTable,
    row: Row,
    urls: list[Finding],
) -> None:
    index = parsed.columns.get("file_name")
    path = parsed.path
    if _AICC_PARAM.search(file_name):
        ctx.add(
            "AU015",
            f"File_Name {file_name[:60]!r} already carries aicc_sid/aicc_url",
            path,
            *ctx.where(row, index),
        )
    if _URL.match(file_name):
        urls.append((file_name, row, index))
        return
    if "\\" in file_name or file_name.startswith("/"):
        message = f"File_Name {file_name[:60]!r} has a backslash or a leading /"
    elif content is None or _in_package(ctx, file_name, content):
        return  # no content files (hosted content): nothing to look for
    else:
        message = f"File_Name {file_name[:60]!r} is not in the package"
    ctx.add("AU014", message, path, *ctx.where(row, index))


def _in_package(ctx: Context, file_name: str, content: set[str]) -> bool:
    relative = file_name.split("?", 1)[0].split("#", 1)[0]
    folder = ctx.parsed.files.folder
    candidates = {relative.casefold()}
    if folder:
        candidates.add(f"{folder}/{relative}".casefold())
    return bool({normpath(c) for c in candidates} & content)


@check("au", "AU017")
def total_aus(ctx: Context) -> None:
    """AU017: Total_AUs of the .crs counts the AU records."""
    declared, actual = ctx.course.total_aus, len(ctx.course.aus)
    if declared is not None and declared != actual:
        ctx.add_crs_total("Total_AUs", declared, actual, "AU017", "AU records")
