"""A vCard upload (``.vcf``: one or many cards, vCard 2.1, 3.0 or 4.0) read as rows.

The rows are a fixed header row (``HEADERS``, which ``mapping.guess`` maps with no manual
change) and one row per card, in the order of the file; ``run.store_upload`` stores them
in chunks like a CSV file's rows, and the mapping, preview, batches, report and undo read
them the same way (docs/import.md, "vCard").

The file is read as it streams, one card at a time: a card's photo (``PHOTO``, also
``LOGO``, ``SOUND``, ``KEY``) is skipped line by line as it is read, and a card longer than
``CARD_MAX`` characters without them is refused, so memory stays bounded whatever the
file's size. vobject parses each card's lines (folding, parameters, quoted-printable with
its ``CHARSET``); the values are unescaped here, because vobject's text decoding keeps a
value only up to its first unescaped comma, which vCard 2.1 files (Outlook's) are full of.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from vobject.base import ContentLine, VObjectError, getLogicalLines, textLineToContentLine

from quickcrm.domain import validation as v
from quickcrm.domain.imports.detect import CELL_MAX, Detected, detect_encoding

DELIMITER = "vcard"  # ``Import.delimiter`` of a vCard upload
HEADERS = [
    "Name",
    "First name",
    "Last name",
    "Company",
    "Job title",
    "Email",
    "Phone",
    "Website",
    "Address",
    "Note",
]
# The longest card read, its photos left out: the longest cell a CSV file may have.
CARD_MAX = CELL_MAX
SNIFF_BYTES = 4096
PIECE = 64 * 1024  # a physical line is read in pieces of this many characters at most
# Properties holding pictures, sounds or keys: dropped unread.
BINARY = {"PHOTO", "LOGO", "SOUND", "KEY"}
# The properties a row is made of (with the card's BEGIN and END): the others (REV,
# CATEGORIES, X-…) are not parsed, vobject's parsing being most of a card's reading time.
READ = {"BEGIN", "END", "FN", "N", "ORG", "TITLE", "ROLE", "EMAIL", "TEL", "URL", "ADR"}
READ |= {"NOTE", "X-ABLABEL"}

NOT_A_VCARD = "This .vcf file is not a vCard: export the contacts again as vCard (.vcf)."
EXPORT_AGAIN = "Export the contacts again as vCard (.vcf) and upload that file."

# The start of a property line: an optional group, a name, then parameters or the value.
# Base64 and quoted-printable text never holds ";" or ":" after such a word.
_PROPERTY = re.compile(r"(?:[A-Za-z0-9-]+\.)?([A-Za-z0-9-]+)\s*[;:]")
_BEGIN = re.compile(r"BEGIN\s*:\s*VCARD\s*$", re.I)
_END = re.compile(r"END\s*:\s*VCARD\s*$", re.I)
_QP = re.compile(r"QUOTED-PRINTABLE", re.I)
# In quoted-printable text "=" starts two hex digits or a soft line break, nothing else.
_BROKEN_QP = re.compile(r"=(?![0-9A-Fa-f]{2}|\n)")
_APPLE_LABEL = re.compile(r"^_\$!<(.*)>!\$_$")


def sniff(stream: BinaryIO, filename: str) -> Detected | None:
    """The encoding of ``stream`` with ``DELIMITER`` when it is a vCard (it starts with
    ``BEGIN:VCARD`` after an optional byte order mark and white space, whatever its name);
    ``None`` when it is not one. A ``.vcf`` file that is no vCard is ``validation.Refused``.
    The stream is rewound."""
    stream.seek(0)
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    encoding = _utf16(head)
    text = head.decode(encoding or "utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    if text[:11].upper() != "BEGIN:VCARD":
        if filename.lower().endswith(".vcf"):
            raise v.Refused(NOT_A_VCARD)
        return None
    return Detected(encoding or detect_encoding(stream), DELIMITER)


def _utf16(head: bytes) -> str | None:
    """``utf-16`` when ``head`` starts with its byte order mark (iOS and Outlook may write
    UTF-16), the byte order when it has none but reads as UTF-16 text ("B\\0E\\0…")."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(head) >= 2 and head[0] != 0 and head[1] == 0:
        return "utf-16-le"
    if len(head) >= 2 and head[0] == 0 and head[1] != 0:
        return "utf-16-be"
    return None


def read_rows(stream: BinaryIO, detected: Detected) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells): ``HEADERS`` (line 0, no line of the file), then each card's
    row numbered by the line of its ``BEGIN:VCARD``. Raises ``validation.Refused`` for a
    file that is not vCard all through (the message says what to do)."""
    text = io.TextIOWrapper(stream, encoding=detected.encoding, errors="replace")
    try:
        yield 0, list(HEADERS)
        for start, card in _cards(text):
            yield start, _row(_properties(card, start))
    finally:
        text.detach()  # a wrapper closes its stream when it goes


def _cards(text: io.TextIOBase) -> Iterator[tuple[int, str]]:
    """(line of ``BEGIN:VCARD``, the card's text without its pictures) for each card,
    read as it streams: never more than one card, without its pictures, in memory."""
    card: list[str] | None = None
    start = number = depth = size = 0
    skipping = False  # inside a picture: its lines are dropped as they come
    line_ended = True
    while piece := text.readline(PIECE):
        continued, line_ended = not line_ended, piece.endswith("\n")
        if continued:  # the rest of a line longer than PIECE
            if card is not None and not skipping:
                size = _add(card, piece, size, start)
            continue
        number += 1
        stripped = piece.strip()
        if card is None:
            if _BEGIN.match(stripped.lstrip("\ufeff")):
                card, start, depth, size, skipping = [], number, 1, 0, False
                size = _add(card, "BEGIN:VCARD\n", size, start)
            elif stripped.lstrip("\ufeff"):
                raise v.Refused(
                    f"Line {number} is outside any card (cards start with BEGIN:VCARD and "
                    f"end with END:VCARD). {EXPORT_AGAIN}"
                )
            continue
        if piece[0] in " \t" or not stripped:
            if not skipping:
                size = _add(card, piece, size, start)
            continue
        found = _PROPERTY.match(piece)
        name = found.group(1).upper() if found else None
        if skipping and found is None:
            continue  # a line of a picture's base64 (vCard 2.1 need not indent them)
        skipping = name in BINARY
        if skipping:
            continue
        if _BEGIN.match(stripped):
            depth += 1  # a card inside a card (vCard 2.1's AGENT)
        elif _END.match(stripped):
            depth -= 1
        size = _add(card, piece, size, start)
        if depth == 0:
            yield start, "".join(card)
            card = None
    if card is not None:
        raise v.Refused(
            f"The card that starts on line {start} has no END:VCARD: the file is cut short. "
            f"{EXPORT_AGAIN}"
        )


def _add(card: list[str], piece: str, size: int, start: int) -> int:
    size += len(piece)
    if size > CARD_MAX:
        raise v.Refused(
            f"The card that starts on line {start} is longer than {CARD_MAX:,} characters "
            "without its photo: shorten its note (or what else is long in it) and upload the "
            "file again."
        )
    card.append(piece)
    return size


def _properties(card: str, start: int) -> list[ContentLine]:
    """The card's own properties (not those of a card inside it), read by vobject: lines
    unfolded, parameters parsed, quoted-printable decoded with its CHARSET. Values stay
    escaped. Raises ``validation.Refused`` for a line vobject cannot read or broken
    quoted-printable."""
    properties: list[ContentLine] = []
    depth = 0
    ended = False
    for line, offset in getLogicalLines(io.StringIO(card), allowQP=True):
        number = start + max(offset - 1, 0)
        head, _, value = line.partition(":")
        if _QP.search(head) and _BROKEN_QP.search(value):
            raise _broken_qp(number)
        found = _PROPERTY.match(line)
        if found and found.group(1).upper() not in READ:
            continue
        try:
            if not _parsable(line):
                raise VObjectError(f"Failed to parse line: {line[:40]}", number)
            prop = textLineToContentLine(line, number)
        except (VObjectError, UnicodeError, LookupError, ValueError, TypeError):
            # (TypeError: vobject's decoding of quoted-printable with a second ENCODING)
            if _QP.search(head):
                raise _broken_qp(number) from None
            raise v.Refused(f"Line {number} of the vCard cannot be read. {EXPORT_AGAIN}") from None
        ended = False
        if prop.name == "BEGIN":
            depth += 1
        elif prop.name == "END":
            depth -= 1
            ended = depth == 0
        elif depth == 1:
            properties.append(prop)
    if not ended:  # a quoted-printable value ending in "=" took END:VCARD in
        raise _broken_qp(start)
    return properties


_NAME = re.compile(r"(?:[A-Za-z0-9_-]+\.)?[A-Za-z0-9_-]+")
_PARAMETER_NAME = re.compile(r"[A-Za-z0-9_-]+")
_UNQUOTED = re.compile(r'[^";:,=]*')


def _parsable(line: str) -> bool:
    """Whether vobject's pattern of a property line (``[group.]NAME[;PARAM[=VALUE,…]…]:``)
    matches ``line``, told in one pass: vobject's own regular expression backtracks
    exponentially on some lines it does not match — ``N;X=,=,=,=,=,=,=,=,=,=,=,=`` with no
    colon took 6 s, two pairs more minutes —, so such a line must not reach it. A value
    is a quoted string or text without ``";:,`` (an ``=`` in it starts a value of its own,
    which the pattern allows too). static/js/qr.js checks lines the same way."""
    found = _NAME.match(line)
    if found is None:
        return False
    at = found.end()
    # The pattern's optional ";" before the parameters: with it, or without it.
    if line.startswith(";", at) and _parameters_then_colon(line, at + 1):
        return True
    return _parameters_then_colon(line, at)


def _parameters_then_colon(line: str, at: int) -> bool:
    end = len(line)
    while at < end and line[at] == ";":
        found = _PARAMETER_NAME.match(line, at + 1)
        if found is None:
            return False
        at = found.end()
        while at < end and line[at] in "=,":
            at += 1
            if line.startswith('"', at):
                close = line.find('"', at + 1)
                if close < 0:
                    return False
                at = close + 1
            else:
                at = _UNQUOTED.match(line, at).end()
    return line.startswith(":", at)


def _broken_qp(number: int) -> v.Refused:
    return v.Refused(
        f"Line {number}: the quoted-printable text is broken (an “=” not followed by two hex "
        f"digits, a value cut short, or text not in its CHARSET). {EXPORT_AGAIN}"
    )


# --- One card's row ----------------------------------------------------------------------


@dataclass
class _Value:
    """One email, phone, website or address of a card, with how it is labelled."""

    text: str
    types: set[str] = field(default_factory=set)
    pref: int = 101  # vCard 4.0's PREF (1 most preferred, 100 least); 101: not preferred
    label: str | None = None  # Apple's X-ABLabel of the property's group


def _row(properties: list[ContentLine]) -> list[str]:
    labels = {
        p.group.lower(): _apple_label(_unescape(p.value))
        for p in properties
        if p.name == "X-ABLABEL" and p.group
    }
    by_name: dict[str, list[ContentLine]] = {}
    for prop in properties:
        by_name.setdefault(prop.name, []).append(prop)

    def first(name: str) -> str:
        return _unescape(by_name[name][0].value).strip() if name in by_name else ""

    def values(name: str, read) -> list[_Value]:
        found = []
        for prop in by_name.get(name, []):
            text = read(prop.value)
            if text:
                label = labels.get((prop.group or "").lower())
                found.append(_Value(text, _types(prop), _pref(prop), label))
        return found

    names = _components(by_name["N"][0].value) if "N" in by_name else []
    family, given = (names + ["", ""])[:2]
    company = _components(by_name["ORG"][0].value)[0] if "ORG" in by_name else ""
    name = first("FN") or " ".join(part for part in (given, family) if part)

    emails = values("EMAIL", lambda s: _strip_scheme(_unescape(s), "mailto:"))
    phones = values("TEL", _phone)
    websites = values("URL", lambda s: _unescape(s).strip())
    addresses = values("ADR", _address)
    email = _choose(emails, {})
    phone = _choose(phones, {"cell": 1, "mobile": 1, "iphone": 1, "work": 2, "fax": 4})
    website = _choose(websites, {"work": 1})
    address = _choose(addresses, {"work": 1})

    notes = [_unescape(p.value).strip() for p in by_name.get("NOTE", [])]
    others = [
        *(f"{_label(e, 'email')}: {e.text}" for e in emails if e is not email),
        *(f"{_label(p, 'phone')}: {p.text}" for p in phones if p is not phone),
        *(f"{_label(w, 'website')}: {w.text}" for w in websites if w is not website),
        *(f"{_label(a, 'address')}: {a.text}" for a in addresses if a is not address),
    ]
    note = "\n".join(part for part in (*notes, *others) if part)
    return [
        name.strip(),
        given,
        family,
        company,
        first("TITLE") or first("ROLE"),
        email.text if email else "",
        phone.text if phone else "",
        website.text if website else "",
        address.text if address else "",
        note,
    ]


def _choose(found: list[_Value], ranks: dict[str, int]) -> _Value | None:
    """The preferred value (PREF, TYPE=pref), else the best ranked type, else the first;
    a type not in ``ranks`` ranks 3."""

    def rank(item: tuple[int, _Value]) -> tuple[int, int, int]:
        index, value = item
        if "fax" in value.types and "fax" in ranks:  # a work fax is a fax
            kind = ranks["fax"]
        else:
            kind = min((ranks.get(t, 3) for t in value.types), default=3)
        return (value.pref, kind, index)

    return min(enumerate(found), key=rank)[1] if found else None


_TYPE_WORDS = {
    "email": {"work": "Work email", "home": "Home email"},
    "phone": {
        "fax": "Fax",
        "pager": "Pager",
        "cell": "Mobile phone",
        "mobile": "Mobile phone",
        "iphone": "Mobile phone",
        "work": "Work phone",
        "home": "Home phone",
        "main": "Main phone",
    },
    "website": {"work": "Work website", "home": "Home website"},
    "address": {"work": "Work address", "home": "Home address"},
}


def _label(value: _Value, kind: str) -> str:
    """How an email, phone… kept in the note is named: its Apple label ("Assistant
    phone"), else its type ("Home phone", "Work email"), else "Other phone"."""
    if value.label:
        return value.label if kind in value.label.lower() else f"{value.label} {kind}"
    words = _TYPE_WORDS[kind]
    for word in words:  # in order: a work fax is a fax
        if word in value.types:
            return words[word]
    return f"Other {kind}"


def _apple_label(text: str) -> str | None:
    found = _APPLE_LABEL.match(text.strip())
    label = (found.group(1) if found else text).strip()
    return label.capitalize() if found else label or None


def _types(prop: ContentLine) -> set[str]:
    """TYPE=work,cell (4.0), TYPE=WORK;TYPE=CELL (3.0) and ;WORK;CELL (2.1) alike."""
    words = [*prop.params.get("TYPE", []), *prop.singletonparams]
    return {w.strip().strip('"').lower() for word in words for w in word.split(",")} - {""}


def _pref(prop: ContentLine) -> int:
    """4.0's PREF=1..100; 2.1's and 3.0's pref type counts as 1."""
    for value in prop.params.get("PREF", []):
        if value.strip().isdigit():
            return min(int(value), 100)
        return 1
    return 1 if "pref" in _types(prop) else 101


def _phone(value: str) -> str:
    """A number as written; 4.0's ``tel:`` URIs as a number with its extension."""
    text = _unescape(value).strip()
    if text.lower().startswith("tel:"):
        number, _, rest = _strip_scheme(text, "tel:").partition(";")
        extension = re.search(r"(?:^|;)ext=([^;]+)", rest)
        return f"{number} ext. {extension.group(1)}" if extension else number
    return text


def _address(value: str) -> str:
    """ADR's parts (post office box, extended, street, locality, region, postal code,
    country) on one line, those that are there."""
    parts = [" ".join(p.split()) for p in _components(value)]
    return ", ".join(p for p in parts if p)


def _strip_scheme(text: str, scheme: str) -> str:
    text = text.strip()
    return text[len(scheme) :] if text.lower().startswith(scheme) else text


def _components(value: str) -> list[str]:
    """A structured value (N, ORG, ADR) split at its unescaped ";", each part unescaped."""
    parts, current, escaped = [], [], False
    for ch in value:
        if escaped:
            current.append("\\" + ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ";":
            parts.append(_unescape("".join(current)).strip())
            current = []
        else:
            current.append(ch)
    parts.append(_unescape("".join(current)).strip())
    return parts


_ESCAPES = {"n": "\n", "N": "\n", ",": ",", ";": ";", ":": ":", "\\": "\\"}


def _unescape(value: str) -> str:
    r"""vCard text unescaped: ``\n`` a new line, ``\,`` ``\;`` ``\:`` ``\\`` the character
    (Google writes ``https\://``); any other backslash kept. Line breaks as ``\n``."""
    text = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), value)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_card(text: str) -> dict[str, str]:
    """One card's text (``BEGIN:VCARD`` … ``END:VCARD``, no more) as ``HEADERS`` → value,
    as an upload's row: what a card's QR code holds (quickcrm/domain/cards/qr.py). Raises
    ``validation.Refused`` when it is not a card or is longer than ``CARD_MAX``."""
    for start, card in _cards(io.StringIO(text)):
        return dict(zip(HEADERS, _row(_properties(card, start)), strict=True))
    raise v.Refused(NOT_A_VCARD)
