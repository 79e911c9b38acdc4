"""What a field may hold, named once: the limit vocabulary of every API, command and event.

Each type says what the field holds (a person's name, an org unit id, a reason, money) and
carries the maximum fitted to it, the characters it may contain and, for numbers, the range
its storage holds. API models, admin commands and event payloads use these types rather than
bare `str`/`int`, so a limit is changed here and nowhere else; docs/LIMITS.md is the table.

Why these rules:

- **text** never holds a control character: PostgreSQL refuses NUL in `text` and `jsonb` (a
  500 before this), and no name, code or note is typed with one. Single-line values (names,
  codes, addresses, numbers) refuse tab, newline and carriage return too; multi-line text
  (reasons, notes) keeps them. A refusal names the field and the character;
- **maxima** are what the thing needs with room to spare, not what a column could take: a
  1,000,000-character unit name was stored once, and an event too big for Kafka halted a
  service (issue 11's append-time guard is the backstop, these are the reasons);
- **integers** are bounded to their storage: money and counts that land in `integer`
  columns to 2^31-1, positions and sizes in `bigint` columns to 2^63-1; nothing is wider
  than 64 bits (`eventkit.edge` refuses that at the door for every body);
- **times** are ISO 8601 strings with a UTC offset, within 1900-2199: a bare number
  (`?until=0.5`) is not a time, and a year-1 time with an offset cannot be converted to UTC.

The JSON Schema of each text type carries a `pattern` that says the same as the validator,
so clients (and the fuzz tests' generator) know what is accepted.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Final

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StringConstraints

from eventkit.edge import BODY_CONTROL, INT32_MAX, INT64_MAX, LINE_CONTROL, control_reason

# -- the numbers -------------------------------------------------------------------------------
MAX_PERSON_NAME: Final = 64
"""A resident's or staff member's name: Han names are 2-4 characters; names of other
nationalities with the separating dot, and foreign names in Latin letters, fit in 64."""
MAX_UNIT_NAME: Final = 64
"""An org unit's, office's, post's or service line's name.

瑞安市东山街道北麂社区便民服务中心 is 17 characters."""
MAX_TITLE: Final = 100
"""A catalog item's or material's name, a result type, an implementing body."""
MAX_CODE: Final = 64
"""A short code: catalog item (`FP-002`), material (`ID_CARD`), category, line or rule id."""
MAX_ID: Final = 128
"""An id: org unit (`ruian.dongshan.beiji`), office, staff, post, case (`case-<32 hex>`)."""
MAX_ACTOR_ID: Final = 128
"""Who acted: a token's `sub` (a staff id, or a resident's ID number)."""
MAX_REASON: Final = 500
"""A reason, a legal basis, a refund condition: a few sentences."""
MAX_NOTE: Final = 2000
"""A note or comment: a few paragraphs."""
MAX_ADDRESS: Final = 200
"""A postal address in China, with room for building and room numbers."""
MAX_DOCUMENT_NO: Final = 64
"""A receipt, archive, tracking or household-register number."""
MAX_PHONE: Final = 20
"""A phone number: 11 digits for a mobile, an area code and extension for a landline."""
MAX_EMAIL: Final = 254
"""An e-mail address (RFC 5321's limit)."""
MAX_SEARCH: Final = 200
"""A free-text search term."""

MAX_MATERIALS: Final = 50
"""Materials in one list (an item's, a submission's, a correction's): the seeded catalog's
longest list is 6; 50 leaves room for the most demanding items."""
MAX_DOCUMENT_BYTES: Final = 25 * 1024 * 1024
"""One uploaded file (a scan or a photo): a 300 dpi colour scan of a 20-page contract is
about 20 MB as a PDF; a phone photo is 2-8 MB."""
MAX_CASE_DOCUMENT_BYTES: Final = 100 * 1024 * 1024
"""All the files of one case together: the most demanding item lists six materials."""
MAX_CASE_DOCUMENTS: Final = 50
"""Files attached to one case."""
MAX_FILE_NAME: Final = 200
"""An uploaded file's name, kept for the download's Content-Disposition."""
MAX_IMAGE_PIXELS: Final = 60_000_000
"""A photo's pixels: a 50-megapixel phone camera with room; a larger image (a decompression
bomb) is refused before it is decoded."""
MAX_CATEGORIES: Final = 20
"""Categories of an office, post or service line (there are 9, and `*`)."""
MAX_ITEM_CODES: Final = 1000
"""Catalog items one office takes."""
MAX_SHORT_LIST: Final = 50
"""A short list: roles, service lines, duties, ids of lines, weekdays, dates."""
MAX_ROSTER_ENTRIES: Final = 500
"""Rules of one unit's duty roster (the seeded town centers have 44)."""

MAX_FEN: Final = INT32_MAX
"""Money in fen (分): intake's fee and deposit columns are `integer`, so 21,474,836.47 yuan
is the most any fee, deposit or payment may be (a convenience center's largest deposit in the
seeded catalog is 3,000 yuan). Bounded here rather than widened: nothing a center collects
comes near it, and every event and read model can keep `integer`."""
MAX_WORKING_DAYS: Final = 366
"""A statutory or promised time limit in working days (the seeded catalog's longest is 40)."""
MAX_MINUTES: Final = 24 * 60
"""Travel time between a unit and its parent, in minutes (北麂 to the mainland is 180)."""
MAX_COPIES: Final = 99
"""Copies of one material."""

EARLIEST: Final = datetime(1900, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(2200, 1, 1, tzinfo=UTC)


# -- text --------------------------------------------------------------------------------------
SINGLE_LINE_PATTERN: Final = r"^[^\u0000-\u001f\u007f-\u009f]*$"
"""JSON Schema (ECMA-262) for single-line text: no C0 (tab, LF, CR included), DEL or C1."""
MULTI_LINE_PATTERN: Final = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
"""JSON Schema for multi-line text: tab, LF and CR allowed, no other control character."""


def _single_line(value: str) -> str:
    reason = control_reason(value, LINE_CONTROL)
    if reason:
        raise ValueError(f"{reason}; this is single-line text")
    return value


def _multi_line(value: str) -> str:
    reason = control_reason(value, BODY_CONTROL)
    if reason:
        raise ValueError(reason)
    return value


def _schema(pattern: str, description: str) -> Any:
    return Field(json_schema_extra={"pattern": pattern}, description=description)


SingleLine = AfterValidator(_single_line)
MultiLine = AfterValidator(_multi_line)

PersonName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_PERSON_NAME),
    SingleLine,
    _schema(SINGLE_LINE_PATTERN, f"A person's name (1-{MAX_PERSON_NAME} characters)"),
]
UnitName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_UNIT_NAME),
    SingleLine,
    _schema(
        SINGLE_LINE_PATTERN,
        f"The name of an org unit, office, post or service line (1-{MAX_UNIT_NAME} characters)",
    ),
]
Title = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_TITLE),
    SingleLine,
    _schema(SINGLE_LINE_PATTERN, f"A name or title (1-{MAX_TITLE} characters)"),
]
Reason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_REASON),
    MultiLine,
    _schema(MULTI_LINE_PATTERN, f"A reason or basis (1-{MAX_REASON} characters)"),
]
Note = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NOTE),
    MultiLine,
    _schema(MULTI_LINE_PATTERN, f"A note or comment (1-{MAX_NOTE} characters)"),
]
Address = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_ADDRESS),
    SingleLine,
    _schema(SINGLE_LINE_PATTERN, f"A postal address (1-{MAX_ADDRESS} characters)"),
]
DocumentNo = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_DOCUMENT_NO),
    SingleLine,
    _schema(
        SINGLE_LINE_PATTERN,
        f"A receipt, archive, tracking or register number (1-{MAX_DOCUMENT_NO} characters)",
    ),
]
ActorId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_ACTOR_ID),
    SingleLine,
    _schema(SINGLE_LINE_PATTERN, f"Who acted: a token subject (1-{MAX_ACTOR_ID} characters)"),
]
SearchText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_SEARCH),
    SingleLine,
    _schema(SINGLE_LINE_PATTERN, f"A search term (1-{MAX_SEARCH} characters)"),
]

CODE_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.:*-]*$"
"""Letters, digits and `_ . : * -`, starting with a letter or digit (`*` for all categories)."""
ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
Code = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_CODE, pattern=CODE_PATTERN),
    Field(description=f"A short code (1-{MAX_CODE} characters: letters, digits, _ . : -)"),
]
Category = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_CODE, pattern=r"^(\*|[a-z][a-z_]*)$"),
    Field(description="A service category (`civil_affairs`...) or `*` for all"),
]
Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_ID, pattern=ID_PATTERN),
    Field(description=f"An id (1-{MAX_ID} characters: letters, digits, _ . : -)"),
]
Phone = Annotated[
    str,
    StringConstraints(min_length=3, max_length=MAX_PHONE, pattern=r"^\+?[0-9][0-9 -]*[0-9]$"),
    Field(description="A phone number: digits, optionally +, spaces and dashes"),
]
Email = Annotated[
    str,
    StringConstraints(min_length=3, max_length=MAX_EMAIL, pattern=r"^[^@\s]+@[^@\s]+$"),
    Field(description="An e-mail address"),
]
IdNumber = Annotated[
    str,
    StringConstraints(min_length=15, max_length=18, pattern=r"^[0-9]{15}([0-9]{2}[0-9Xx])?$"),
    Field(description="A resident ID number (18 characters; 15 for old cards)"),
]

MaterialCodes = Annotated[
    list[Code],
    Field(max_length=MAX_MATERIALS, description=f"Material codes (at most {MAX_MATERIALS})"),
]
"""A list of material codes, for requests (events use tuples of `Code` with the same cap)."""

# -- numbers -----------------------------------------------------------------------------------
Fen = Annotated[int, Field(ge=0, le=MAX_FEN, description="Money in fen (分), 0..2^31-1")]
Int32 = Annotated[int, Field(ge=-(2**31), le=INT32_MAX)]
Count = Annotated[int, Field(ge=0, le=INT32_MAX, description="A count (integer column)")]
Version = Annotated[int, Field(ge=1, le=INT32_MAX, description="A version (from 1)")]
WorkingDays = Annotated[int, Field(ge=0, le=MAX_WORKING_DAYS, description="Working days")]
Minutes = Annotated[int, Field(ge=0, le=MAX_MINUTES, description="Minutes")]
Copies = Annotated[int, Field(ge=1, le=MAX_COPIES, description="Copies")]
Int64 = Annotated[int, Field(ge=-(2**63), le=INT64_MAX)]
Offset = Annotated[int, Field(ge=0, le=INT32_MAX, description="Rows to skip (0..2^31-1)")]
"""Rows of a list to skip: more rows than any table here will hold, and far enough from 2^63
that PostgreSQL's `LIMIT + OFFSET` (a bigint sum) cannot overflow (2^63-1 did: a 500)."""
LogIndex = Annotated[int, Field(ge=0, le=INT64_MAX - 1, description="A leaf index of the log")]
LogSize = Annotated[int, Field(ge=0, le=INT64_MAX, description="A tree size of the log")]
Position = Annotated[
    int, Field(ge=-1, le=INT64_MAX, description="Keyset paging: after this position (-1: start)")
]


# -- times -------------------------------------------------------------------------------------
_NUMBER = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")


def _no_number(value: Any) -> Any:
    """A time is written as a date, not as seconds since 1970: `0.5` is refused."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("must be an ISO 8601 date/time, not a number")
    if isinstance(value, str) and _NUMBER.match(value):
        raise ValueError("must be an ISO 8601 date/time, not a number")
    return value


def _in_range(value: datetime) -> datetime:
    try:
        ok = EARLIEST <= value < LATEST
    except OverflowError:
        ok = False
    if not ok:
        raise ValueError(f"must be from {EARLIEST:%Y} to {LATEST.year - 1}")
    return value


def _day_in_range(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError(f"must be from {EARLIEST:%Y} to {LATEST.year - 1}")
    return value


Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_no_number),
    AfterValidator(_in_range),
    Field(description="ISO 8601 date and time with a UTC offset, years 1900-2199"),
]
Day = Annotated[
    date,
    BeforeValidator(_no_number),
    AfterValidator(_day_in_range),
    Field(description="ISO 8601 date (YYYY-MM-DD), years 1900-2199"),
]

__all__ = [
    "MAX_ACTOR_ID",
    "MAX_ADDRESS",
    "MAX_CATEGORIES",
    "MAX_CODE",
    "MAX_COPIES",
    "MAX_DOCUMENT_NO",
    "MAX_EMAIL",
    "MAX_FEN",
    "MAX_ID",
    "MAX_ITEM_CODES",
    "MAX_MATERIALS",
    "MAX_MINUTES",
    "MAX_NOTE",
    "MAX_PERSON_NAME",
    "MAX_PHONE",
    "MAX_REASON",
    "MAX_ROSTER_ENTRIES",
    "MAX_SEARCH",
    "MAX_SHORT_LIST",
    "MAX_TITLE",
    "MAX_UNIT_NAME",
    "MAX_WORKING_DAYS",
    "MULTI_LINE_PATTERN",
    "SINGLE_LINE_PATTERN",
    "ActorId",
    "Address",
    "Category",
    "Code",
    "Copies",
    "Count",
    "Day",
    "DocumentNo",
    "Email",
    "Fen",
    "IdNumber",
    "Identifier",
    "Instant",
    "Int32",
    "Int64",
    "LogIndex",
    "LogSize",
    "MaterialCodes",
    "Minutes",
    "MultiLine",
    "Note",
    "Offset",
    "PersonName",
    "Phone",
    "Position",
    "Reason",
    "SearchText",
    "SingleLine",
    "Title",
    "UnitName",
    "Version",
    "WorkingDays",
]
