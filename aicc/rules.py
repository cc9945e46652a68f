"""The AICC rule catalogue as data.

Every diagnostic the reader and the validator produce names one of these rules. IDs are
adopted from the reference notes (section 10 of ``aicc-cmi001.md``) and stay stable:
:mod:`aicc.strategies` injects defects by ID and ``docs/aicc-rules.md`` documents each.

``promotable`` marks the interoperability warnings that ``validate(..., strict=True)``
turns into errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from aicc.diagnostics import Diagnostic
from aicc.diagnostics import Severity

__all__ = ["RULES", "Rule", "diag", "effective_severity", "get"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of the catalogue.

    Attributes:
        id: Stable rule ID, e.g. ``"CST002"``.
        severity: Default severity.
        title: One-line meaning of the rule.
        hint: Default fix-it hint attached to diagnostics.
        promotable: True when ``strict=True`` promotes the warning to an error.
    """

    id: str
    severity: Severity
    title: str
    hint: str
    promotable: bool = False

    @property
    def family(self) -> str:
        """The letters of the ID (``"CST"`` for ``"CST002"``)."""
        return self.id.rstrip("0123456789")


def _rule(
    rule_id: str, severity: Severity, title: str, hint: str, *, promotable: bool = False
) -> Rule:
    return Rule(rule_id, severity, title, hint, promotable)


_CATALOGUE: tuple[Rule, ...] = (
    _rule(
        "PKG001",
        Severity.ERROR,
        "no .crs file in the file set",
        "Add a <base>.crs course description file next to the .au, .des and .cst files.",
    ),
    _rule(
        "PKG002",
        Severity.ERROR,
        "a course set lacks a required .au, .des or .cst file",
        "Every course needs <base>.crs, <base>.au, <base>.des and <base>.cst.",
    ),
    _rule(
        "PKG003",
        Severity.WARNING,
        "files of one course set have different base names",
        "Give all files of one course the same base name, e.g. course.crs, course.au.",
        promotable=True,
    ),
    _rule(
        "PKG004",
        Severity.INFO,
        "several course sets in one package",
        "Most LMSs import one course per package; ship one set per zip.",
    ),
    _rule(
        "PKG005",
        Severity.WARNING,
        "course structure files are not at the package root",
        "Put the .crs/.au/.des/.cst files at the root of the zip.",
        promotable=True,
    ),
    _rule(
        "PKG006",
        Severity.WARNING,
        "extension is not lower-case",
        "Moodle only recognises a lower-case .cst; use lower-case extensions.",
        promotable=True,
    ),
    _rule(
        "PKG007",
        Severity.WARNING,
        ".ore used for the objectives file",
        "The CMI001 extension is .ort; rename the file.",
        promotable=True,
    ),
    _rule(
        "PKG008",
        Severity.ERROR,
        "a course structure file is empty",
        "Write the file's header row and records (or leave the optional file out).",
    ),
    _rule(
        "PKG009",
        Severity.WARNING,
        "AppleDouble stub or macOS metadata ignored",
        "Zip without macOS metadata (e.g. `zip -X`, or remove __MACOSX/).",
    ),
    _rule(
        "PKG010",
        Severity.ERROR,
        "the zip archive (or one of its entries) cannot be read",
        "Rebuild the zip with a standard tool.",
    ),
    _rule(
        "PKG011",
        Severity.ERROR,
        "the zip archive exceeds a safety cap (entries, size or compression ratio)",
        "Ship a smaller package; nested or highly compressed archives are refused.",
    ),
    _rule(
        "PKG012",
        Severity.ERROR,
        "unsafe zip entry (absolute path, '..', link or encrypted)",
        "Use relative entry names without '..', no symlinks and no encryption.",
    ),
    _rule(
        "PKG013",
        Severity.WARNING,
        "a file in the source could not be read",
        "Check file permissions and the file system.",
    ),
    _rule(
        "PKG999",
        Severity.ERROR,
        "internal validator error",
        "This is a bug in the aicc validator; please report it with the input.",
    ),
    _rule(
        "ENC001",
        Severity.WARNING,
        "UTF-8 byte order mark",
        "Save the file without a BOM (plain ASCII or UTF-8).",
        promotable=True,
    ),
    _rule(
        "ENC002",
        Severity.ERROR,
        "UTF-16 or UTF-32 encoding",
        "Save the file as ASCII (or UTF-8 without BOM); LMSs read 8-bit text.",
    ),
    _rule(
        "ENC003",
        Severity.WARNING,
        "bytes are not valid UTF-8; decoded as Windows-1252",
        "Save the file as ASCII or UTF-8.",
        promotable=True,
    ),
    _rule(
        "ENC004",
        Severity.WARNING,
        "non-ASCII characters",
        "Course structure files are ASCII-era; LMSs may assume Latin-1, Big5 or GBK.",
        promotable=True,
    ),
    _rule(
        "ENC005",
        Severity.WARNING,
        "LF-only line endings",
        "Use CR LF line endings; Moodle splits records on CR LF only.",
        promotable=True,
    ),
    _rule(
        "ENC006",
        Severity.WARNING,
        "mixed line endings or bare CR",
        "Use CR LF line endings throughout.",
        promotable=True,
    ),
    _rule("ENC007", Severity.INFO, "no final line break", "End the last line with CR LF."),
    _rule(
        "ENC008",
        Severity.WARNING,
        "control characters other than TAB, CR and LF",
        "Remove the control characters.",
        promotable=True,
    ),
    _rule(
        "CRS001",
        Severity.ERROR,
        "[Course] group missing",
        "Add a [Course] group with the required keywords (Course_ID, Course_Title, ...).",
    ),
    _rule(
        "CRS002",
        Severity.ERROR,
        "[Course_Behavior] group missing",
        "Add a [Course_Behavior] group with Max_Normal.",
    ),
    _rule(
        "CRS003",
        Severity.ERROR,
        "[Course_Description] group missing",
        "Add a [Course_Description] group with the description text.",
    ),
    _rule("CRS004", Severity.ERROR, "required keyword missing", "Add the keyword to its group."),
    _rule(
        "CRS005", Severity.ERROR, "required keyword has an empty value", "Give the keyword a value."
    ),
    _rule(
        "CRS006",
        Severity.ERROR,
        "integer keyword is not an unsigned integer",
        "Write the value as decimal digits, e.g. 3.",
    ),
    _rule(
        "CRS007",
        Severity.ERROR,
        "Max_Normal outside 1-99",
        "Max_Normal is the number of AUs open at once: 1 to 99.",
    ),
    _rule(
        "CRS008",
        Severity.WARNING,
        "Level is not 1, 2, 3, 3a, 3b or 4",
        "Use one of the CMI001 levels 1, 2, 3a, 3b.",
    ),
    _rule(
        "CRS009",
        Severity.WARNING,
        "Version is not a CMI001 version",
        "Version is the CMI001 version (e.g. 3.5 or 4.0), not the course revision.",
        promotable=True,
    ),
    _rule(
        "CRS010",
        Severity.WARNING,
        "unknown keyword",
        "Remove it or check its spelling; LMSs ignore unknown keywords.",
        promotable=True,
    ),
    _rule(
        "CRS011",
        Severity.WARNING,
        "unknown group",
        "Only [Course], [Course_Behavior] and [Course_Description] are defined.",
        promotable=True,
    ),
    _rule(
        "CRS012",
        Severity.WARNING,
        "duplicate keyword or group (first occurrence wins)",
        "Remove the repeated keyword or group.",
        promotable=True,
    ),
    _rule(
        "CRS013",
        Severity.WARNING,
        "line in a keyword group is not keyword=value",
        "Write keyword=value, or start a comment line with ';'.",
        promotable=True,
    ),
    _rule(
        "CRS014",
        Severity.WARNING,
        "alias spelling used",
        "Use the canonical spelling.",
        promotable=True,
    ),
    _rule(
        "CRS015",
        Severity.WARNING,
        "description longer than 4096 characters",
        "Shorten the description to 4096 characters.",
        promotable=True,
    ),
    _rule("CRS016", Severity.WARNING, "description empty", "Write a short course description."),
    _rule(
        "CRS017",
        Severity.WARNING,
        "text before the first group, or [Course] is not the first group",
        "Start the file with the [Course] group.",
        promotable=True,
    ),
    _rule(
        "CRS018",
        Severity.WARNING,
        "Course_ID contains white space or is longer than 255 characters",
        "Use a short identifier without spaces.",
        promotable=True,
    ),
    _rule(
        "CRS019",
        Severity.WARNING,
        "Course_Creator, Course_System or Course_Title longer than 255 characters",
        "Shorten the value to 255 characters.",
        promotable=True,
    ),
    _rule(
        "CRS020",
        Severity.ERROR,
        "an .ort file is present but Max_Fields_ORT is missing",
        "Add Max_Fields_ORT to [Course].",
    ),
    _rule(
        "CRS021",
        Severity.WARNING,
        "Total_Objectives or Total_Complex_Obj missing while objectives are used",
        "Add the count to [Course].",
        promotable=True,
    ),
    _rule(
        "CRS022",
        Severity.WARNING,
        "description contains '=' or a line that looks like a group header",
        "ILIAS and Chamilo mangle such descriptions; rephrase.",
        promotable=True,
    ),
    _rule(
        "TBL001",
        Severity.ERROR,
        "no recognisable header row",
        'The first record must name the columns, e.g. "System_ID","Title".',
    ),
    _rule("TBL002", Severity.ERROR, "required column missing", "Add the column to the header row."),
    _rule(
        "TBL003",
        Severity.ERROR,
        "duplicate column name",
        "Name each column once (only CST and ORT repeat Member).",
    ),
    _rule("TBL004", Severity.ERROR, "empty column name", "Give every header cell a name."),
    _rule(
        "TBL005",
        Severity.ERROR,
        "record has a different number of fields than the header",
        "Quote values that contain commas and give every record the header's field count.",
    ),
    _rule(
        "TBL006",
        Severity.ERROR,
        "unterminated quoted field",
        "Close the quote; the rest of the line was read as one field.",
    ),
    _rule(
        "TBL007",
        Severity.ERROR,
        "malformed quoting",
        'Quote the whole field and double embedded quotes ("").',
    ),
    _rule(
        "TBL008",
        Severity.WARNING,
        "unquoted non-empty field",
        "Enclose every field in double quotes; Moodle drops unquoted rows.",
        promotable=True,
    ),
    _rule(
        "TBL009",
        Severity.WARNING,
        "quoted field contains a line break",
        "Field values should stay on one line.",
        promotable=True,
    ),
    _rule(
        "TBL010",
        Severity.WARNING,
        "blank record",
        "Remove blank lines between records.",
        promotable=True,
    ),
    _rule(
        "TBL011",
        Severity.WARNING,
        "unknown column",
        "Remove it or fix its spelling.",
        promotable=True,
    ),
    _rule(
        "TBL012",
        Severity.WARNING,
        "leading or trailing spaces inside an ID value",
        "Remove the spaces.",
        promotable=True,
    ),
    _rule(
        "TBL013",
        Severity.INFO,
        "unquoted numeric or empty-looking field",
        "Quoting every field is the most portable form.",
    ),
    _rule(
        "TBL014",
        Severity.WARNING,
        "same ID written with different letter case",
        "Spell each ID the same way everywhere.",
        promotable=True,
    ),
    _rule("AU001", Severity.ERROR, "empty System_ID", "Give every AU a System_ID such as A1."),
    _rule(
        "AU002",
        Severity.ERROR,
        "duplicate AU System_ID",
        "System_IDs are compared case-insensitively and must be unique.",
    ),
    _rule(
        "AU003",
        Severity.ERROR,
        "System_ID is not a CMIIdentifier",
        "Use 1-255 printable characters without white space.",
    ),
    _rule(
        "AU004",
        Severity.INFO,
        "AU System_ID does not follow the A... convention",
        "AU IDs conventionally start with A (A1, A001).",
    ),
    _rule(
        "AU005",
        Severity.ERROR,
        "File_Name and Command_Line both empty",
        "Give the AU a File_Name (web) or a Command_Line.",
    ),
    _rule(
        "AU006",
        Severity.ERROR,
        "Max_Score is not a CMIDecimal",
        "Write a number such as 100 or 87.5, or leave it empty.",
    ),
    _rule(
        "AU007",
        Severity.ERROR,
        "Mastery_Score is not a CMIDecimal",
        "Write a number such as 80, or leave it empty.",
    ),
    _rule(
        "AU008",
        Severity.WARNING,
        "Mastery_Score above Max_Score or outside 0-100",
        "Lower the mastery score.",
        promotable=True,
    ),
    _rule(
        "AU009",
        Severity.ERROR,
        "Max_Time_Allowed is not a CMITimespan",
        "Write HH:MM:SS, e.g. 00:30:00, or leave it empty.",
    ),
    _rule(
        "AU010",
        Severity.WARNING,
        "Max_Time_Allowed is 00:00:00",
        'Leave it empty for "no limit".',
        promotable=True,
    ),
    _rule(
        "AU011",
        Severity.ERROR,
        "Time_Limit_Action not in the vocabulary",
        "Use exit,message / exit,no message / continue,message / continue,no message.",
    ),
    _rule(
        "AU012",
        Severity.INFO,
        "Time_Limit_Action in abbreviated form",
        "The full form (e.g. continue,no message) is the most portable.",
    ),
    _rule(
        "AU013",
        Severity.WARNING,
        "Web_Launch starts with ? or &, contains white space, or is not URL-encoded",
        "Write name=value pairs joined by &, URL-encoded.",
        promotable=True,
    ),
    _rule(
        "AU014",
        Severity.WARNING,
        "File_Name has a backslash or leading /, or is missing from the package",
        "Use a relative path with forward slashes that exists in the package.",
        promotable=True,
    ),
    _rule(
        "AU015",
        Severity.WARNING,
        "File_Name already contains aicc_sid/aicc_url",
        "The LMS appends aicc_sid and aicc_url itself; remove them.",
        promotable=True,
    ),
    _rule(
        "AU016",
        Severity.INFO,
        "File_Name is an absolute URL (hosted content)",
        "Nothing to do; the content is not in the package.",
    ),
    _rule(
        "AU017",
        Severity.ERROR,
        "number of AU records differs from Total_AUs",
        "Set Total_AUs to the number of AU records.",
    ),
    _rule(
        "AU018",
        Severity.WARNING,
        "Core_Vendor contains <cr> markers",
        "Moodle turns <cr> into line breaks; other LMSs do not.",
        promotable=True,
    ),
    _rule("AU019", Severity.ERROR, "no AU records", "A course needs at least one AU."),
    _rule(
        "DES001",
        Severity.ERROR,
        "AU, block or objective without a DES record",
        "Add a DES record with a Title for the element.",
    ),
    _rule(
        "DES002",
        Severity.WARNING,
        "DES record for an unknown ID",
        "Remove the record or fix the ID.",
    ),
    _rule("DES003", Severity.ERROR, "empty Title", "Give the element a title."),
    _rule("DES004", Severity.ERROR, "duplicate DES System_ID", "Describe each element once."),
    _rule(
        "DES005",
        Severity.WARNING,
        "Title longer than 255 or Description longer than 4096 characters",
        "Shorten the text.",
        promotable=True,
    ),
    _rule(
        "DES006",
        Severity.INFO,
        "DES record for root (ignored)",
        "root is described by the .crs file.",
    ),
    _rule(
        "CST001",
        Severity.ERROR,
        "CST header is not Block, Member...",
        'The header is "Block","Member","Member",...',
    ),
    _rule("CST002", Severity.ERROR, "no root record", "Add a record whose Block is root."),
    _rule(
        "CST003",
        Severity.ERROR,
        "member is not a known AU or block",
        "Add the AU or the block's own record, or fix the ID.",
    ),
    _rule(
        "CST004",
        Severity.ERROR,
        "element is a member more than once",
        "Place each AU and block under exactly one parent.",
    ),
    _rule(
        "CST005", Severity.ERROR, "cycle in the course structure", "A block cannot contain itself."
    ),
    _rule(
        "CST006",
        Severity.ERROR,
        "an AU ID is used as a block",
        "AUs are leaves; use a separate block ID.",
    ),
    _rule(
        "CST007",
        Severity.ERROR,
        "block not reachable from root",
        "Make the block a member of root or of a block under root.",
    ),
    _rule(
        "CST008",
        Severity.ERROR,
        "AU not placed in the structure",
        "Add the AU as a member of root or of a block.",
    ),
    _rule(
        "CST009",
        Severity.WARNING,
        "block with no members",
        "Remove the empty block or give it members.",
    ),
    _rule(
        "CST010",
        Severity.ERROR,
        "CST has more columns than Max_Fields_CST",
        "Raise Max_Fields_CST to the CST column count.",
    ),
    _rule(
        "CST011",
        Severity.WARNING,
        "Max_Fields_CST is larger than the CST column count",
        "Set Max_Fields_CST to the number of CST columns.",
        promotable=True,
    ),
    _rule(
        "CST012",
        Severity.ERROR,
        "Total_Blocks differs from the number of blocks other than root",
        "Set Total_Blocks to the number of non-root blocks.",
    ),
    _rule(
        "CST013",
        Severity.WARNING,
        "block split over several records",
        "Write each block's members in one record.",
        promotable=True,
    ),
    _rule(
        "CST014",
        Severity.ERROR,
        "root or an objective used as a CST member",
        "root is the top block; objectives belong in the .ort file.",
    ),
    _rule("CST015", Severity.INFO, "root not written in lower case", "Write root in lower case."),
    _rule(
        "ORT001",
        Severity.ERROR,
        "ORT header is not Course_Element, Member...",
        'The header is "Course_Element","Member",...',
    ),
    _rule(
        "ORT002",
        Severity.ERROR,
        "ORT Course_Element is not a known AU or block",
        "Fix the ID or add the element.",
    ),
    _rule(
        "ORT003",
        Severity.ERROR,
        "objective ID collides with an AU or block ID",
        "Use distinct IDs for objectives (J1, J2...).",
    ),
    _rule(
        "ORT004",
        Severity.ERROR,
        "ORT has more columns than Max_Fields_ORT",
        "Raise Max_Fields_ORT to the ORT column count.",
    ),
    _rule(
        "ORT005",
        Severity.ERROR,
        "number of objectives differs from Total_Objectives",
        "Set Total_Objectives to the number of distinct objectives.",
    ),
    _rule(
        "ORT006",
        Severity.INFO,
        "objective ID does not follow the J... convention",
        "Objective IDs conventionally start with J.",
    ),
    _rule(
        "PRE001",
        Severity.ERROR,
        "PRE header is not Structure_Element, Prerequisite",
        'The header is "Structure_Element","Prerequisite".',
    ),
    _rule(
        "PRE002",
        Severity.ERROR,
        "PRE element unknown or root",
        "Prerequisites apply to AUs and blocks other than root.",
    ),
    _rule(
        "PRE003",
        Severity.ERROR,
        "prerequisite expression syntax error",
        "Use IDs with & | ~ ( ) = <> and n*{a,b}.",
    ),
    _rule(
        "PRE004",
        Severity.ERROR,
        "unknown identifier in a prerequisite",
        "Every identifier must be an AU, block or objective.",
    ),
    _rule("PRE005", Severity.ERROR, "element requires itself", "Remove the self-reference."),
    _rule(
        "PRE006",
        Severity.ERROR,
        "prerequisite cycle",
        "Break the cycle; nobody could ever enter these elements.",
    ),
    _rule(
        "PRE007",
        Severity.WARNING,
        "more than one PRE record for one element",
        "Join the expressions with & in one record.",
        promotable=True,
    ),
    _rule(
        "PRE008",
        Severity.WARNING,
        "& and | mixed without parentheses",
        "Add parentheses: LMSs may not agree on the precedence of & and |.",
        promotable=True,
    ),
    _rule(
        "PRE009",
        Severity.ERROR,
        "unknown status word after = or <>",
        "Use passed, completed, failed, incomplete, browsed, not attempted (or P C F I B N).",
    ),
    _rule(
        "PRE010",
        Severity.ERROR,
        "set count below 1 or above the set size",
        "n in n*{...} must be between 1 and the number of listed elements.",
    ),
    _rule(
        "PRE011",
        Severity.WARNING,
        "escaped characters such as &amp; in an expression",
        "Write plain & and |.",
        promotable=True,
    ),
    _rule(
        "CMP001",
        Severity.ERROR,
        "CMP header lacks Structure_Element, Requirement or Result",
        'The header is "Structure_Element","Requirement","Result","Next","Return".',
    ),
    _rule(
        "CMP002",
        Severity.ERROR,
        "CMP element unknown",
        "The element must be an AU, block or objective.",
    ),
    _rule(
        "CMP003",
        Severity.ERROR,
        "Requirement syntax error or unknown identifier",
        "Write a logic expression over known IDs.",
    ),
    _rule(
        "CMP004",
        Severity.ERROR,
        "Result is not a status value",
        "Use passed, completed, failed, incomplete, browsed or not attempted.",
    ),
    _rule(
        "CMP005",
        Severity.WARNING,
        "Next is an unknown element, or Return is not boolean-like",
        "Next names an AU or block; Return is true/false.",
    ),
    _rule(
        "CMP006",
        Severity.WARNING,
        "unknown extra CMP column",
        "The CMP columns are Structure_Element, Requirement, Result, Next, Return.",
    ),
    _rule(
        "LVL001",
        Severity.WARNING,
        "files use features above the declared Level",
        "Raise Level (blocks/PRE/CMP need 2, ORT needs 3a, complex objectives 3b).",
    ),
    _rule(
        "LVL002",
        Severity.INFO,
        "declared Level is higher than the features used",
        "Nothing to do; a lower Level would describe the course.",
    ),
)

#: Rule ID -> rule, in catalogue order.
RULES: dict[str, Rule] = {rule.id: rule for rule in _CATALOGUE}


def get(rule_id: str) -> Rule:
    """The rule with this ID.

    Raises:
        KeyError: when the ID is not in the catalogue.
    """
    return RULES[rule_id]


def effective_severity(rule_id: str, strict: bool) -> Severity:
    """The severity a rule's diagnostics get, after ``strict`` promotion."""
    rule = RULES[rule_id]
    if strict and rule.promotable and rule.severity is Severity.WARNING:
        return Severity.ERROR
    return rule.severity


def diag(
    rule_id: str,
    message: str,
    file: str | None = None,
    line: int | None = None,
    column: int | None = None,
    *,
    hint: str | None = None,
    severity: Severity | None = None,
) -> Diagnostic:
    """Build a diagnostic for a catalogue rule, with its default severity and hint.

    Args:
        rule_id: A key of :data:`RULES`.
        message: What is wrong, naming the offending value.
        file: File name inside the source, if any.
        line: 1-based line, if meaningful.
        column: 1-based column, if meaningful.
        hint: Overrides the rule's default hint.
        severity: Overrides the rule's default severity (e.g. a trailing blank line is
            only an info under a warning rule).
    """
    rule = RULES[rule_id]
    return Diagnostic(
        rule=rule_id,
        severity=severity if severity is not None else rule.severity,
        message=message,
        file=file,
        line=line,
        column=column,
        hint=hint if hint is not None else rule.hint,
    )
