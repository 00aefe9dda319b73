"""One CSV row cleaned into what it will store, or refused with its reason; the keys that
make a row a duplicate; cells made safe to open in a spreadsheet."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from quickcrm.domain import validation as v
from quickcrm.domain.categories import split_names
from quickcrm.domain.imports.mapping import (
    FIELDS,
    IGNORE,
    MULTI,
    NAMES,
    REPEATABLE,
    VALUE_FIELDS,
    guess_value,
    priority,
)
from quickcrm.domain.leads import NOTE_MAX, field_checks
from quickcrm.domain.matching import name_key

# A cell starting with one of these is a formula to Excel and LibreOffice (tab and carriage
# return too, as OWASP's "CSV injection" advice says).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """``cell`` as text a spreadsheet shows but never runs: a leading ``'`` before a
    formula."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


@dataclass
class Row:
    """A row as it will be stored (``values``), or why it is refused (``reason``)."""

    line: int
    cells: list[str]
    values: dict[str, object] = field(default_factory=dict)
    reason: str | None = None
    # What makes it a duplicate (``duplicate_keys``), worked out with the cleaning.
    keys: list[str] = field(default_factory=list)
    # Imported, but with something to say (e.g. a phone number kept in the note).
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reason is None


def email_key(email: str | None) -> str | None:
    return f"e:{email.casefold()}" if email else None


def phone_match_key(phone: str | None, region: str | None) -> str | None:
    key = v.phone_key(phone, region)
    return f"p:{key}" if key else None


def duplicate_keys(values: dict, region: str | None) -> list[str]:
    """What makes two people the same: the same email (any case) or the same phone number
    (E.164, so "+44 20 7946 0958" and "020 7946 0958" in the UK are one)."""
    keys = (email_key(values.get("email")), phone_match_key(values.get("phone"), region))
    return [key for key in keys if key]


class Cleaner:
    """Cleans rows of one file, mapped by ``fields`` (one per column), with the lead rules
    of the capture form (quickcrm/domain/leads/capture.py ``field_checks``).

    What each column does is worked out once, here, not per row: an import cleans 50,000
    rows. A MULTI field (email, phone) takes the first non-empty of its columns in
    ``mapping.priority`` order, and the others go into the note with their header. A
    phone that cannot be read is kept in the note ("Phone: …") with a warning on the row,
    never a reason to refuse it; so is a temperature that means nothing (left empty).
    """

    def __init__(
        self,
        kind: str,
        headers: list[str],
        fields: list[str],
        *,
        today: date,
        region: str | None,
        source: str | None = None,
        value_map: dict[str, dict[str, str | None]] | None = None,
    ):
        self.kind, self.headers, self.fields = kind, headers, fields
        self.region, self.source = region, source
        # The admin's value map; values it does not name are guessed (once each).
        self.value_map = {
            name: {str(key).strip(): value for key, value in values.items()}
            for name, values in (value_map or {}).items()
        }
        self.guessed: dict[str, dict[str, str | None]] = {}
        self.labels = FIELDS[kind]
        checks = field_checks(today=today, phone_region=region)
        # The team's categories by name, "Retail; North" (made at the import if new).
        checks["categories"] = _category_names
        if kind == "companies":
            checks |= {
                "company_name": lambda s: v.text(
                    s, max_length=200, required="The company's name is empty."
                ),
                "name": lambda s: v.text(s, max_length=200),
                "title": lambda s: v.text(s, max_length=120),
                "website": v.url,
                "industry": lambda s: v.text(s, max_length=120),
                "address": lambda s: v.long_text(s, max_length=2000),
            }
        self.checks = checks
        columns: dict[str, list[int]] = {}
        for index, mapped in enumerate(fields):
            if mapped != IGNORE:
                columns.setdefault(mapped, []).append(index)
        for name in MULTI & set(columns):
            columns[name] = priority(headers, columns[name])
        self.columns = columns
        self.width = len(headers)
        self.keeps_notes = "note" in self.labels
        wanted = LEAD_VALUES if kind == "leads" else list(self._plain_fields())
        self.plain = [
            (name, columns[name][0])
            for name in wanted
            if name in columns and name not in (*MULTI, *REPEATABLE, *NAMES)
        ]
        self.multi = [(name, columns[name]) for name in sorted(MULTI) if name in columns]
        self.mapped = [name for name in VALUE_FIELDS if name in columns]

    def clean(self, line: int, cells: list[str]) -> Row:
        row = Row(line, cells)
        if len(cells) != self.width:
            row.reason = (
                f"This row has {len(cells)} cells where the header has {self.width}: "
                "a delimiter too many or too few?"
            )
            return row
        raw, extras = self._gather(cells, row)
        errors = []
        for name, value in raw.items():
            if name == "phone":
                continue
            try:
                row.values[name] = self.checks[name](value)
            except v.Refused as exc:
                errors.append(f"{self._label(name)}: {exc}")
        self._phone(raw.get("phone"), row, extras)
        if extras and not errors and self.keeps_notes:
            try:  # the extras' text checked as a note's (a NUL refuses the row)
                row.values["note"] = self.checks["note"](self._add_to_note(row, extras))
            except v.Refused as exc:
                errors.append(f"{self._label('note')}: {exc}")
        if self.kind == "leads" and not errors and not row.values.get("source"):
            row.values["source"] = self.source
        if errors:
            row.values = {}
            row.warnings = []
            row.reason = " ".join(errors)
        else:
            row.keys = duplicate_keys(row.values, self.region)
        return row

    def _phone(self, phones: list[tuple[str, str]] | None, row: Row, extras: list[str]):
        """The first phone of the row that reads; the ones that do not are kept in the
        note with a warning, the others that come after in the note with their header."""
        if phones is None:  # a company file without a phone column
            return
        row.values["phone"] = None
        check = self.checks["phone"]
        for header, cell in phones:
            if row.values["phone"] is not None:
                if cell != row.values["phone"]:
                    extras.append(f"{header}: {cell}")
                continue
            try:
                row.values["phone"] = check(cell)
            except v.Refused:
                if self.keeps_notes:
                    extras.append(f"{header}: {cell}")
                    row.warnings.append(
                        f"The phone number “{cell}” cannot be read: kept in the note."
                    )
                else:
                    row.warnings.append(f"The phone number “{cell}” cannot be read: left out.")

    def _label(self, name: str) -> str:
        return self.labels.get(name, name.replace("_", " ").capitalize())

    def _add_to_note(self, row: Row, extras: list[str]) -> str:
        """The row's note with its other emails and phones below it, as many as fit the
        note's length: the others are left out with a warning — never a reason to refuse
        the row."""
        kept = row.values.get("note") or ""
        left_out = []
        for extra in extras:
            joined = f"{kept}\n{extra}" if kept else extra
            if len(joined) <= NOTE_MAX:
                kept = joined
            else:
                left_out.append(extra)
        if left_out:
            row.warnings.append(
                f"The note is full ({NOTE_MAX:,} characters): left out {'; '.join(left_out)}"
            )
        return kept

    def _gather(self, cells: list[str], row: Row) -> tuple[dict, list[str]]:
        """The row's raw text per field (the phones as (header, cell) pairs, in order), and
        what goes to the note after its own: first and last names joined into the name
        when no Name cell has one, several Note (Address) columns one after the other, the
        other columns of a MULTI field with their header."""
        columns, headers = self.columns, self.headers
        extras: list[str] = []
        name = cells[columns["name"][0]] if "name" in columns else ""
        if not name.strip():
            parts = [
                cells[columns[f][0]].strip() for f in ("first_name", "last_name") if f in columns
            ]
            name = " ".join(part for part in parts if part)
        raw: dict = {"name": name}
        for target in ("note", "address"):
            indexes = columns.get(target)
            if indexes and len(indexes) > 1:
                raw[target] = "\n".join(
                    f"{headers[i]}: {cells[i].strip()}" for i in indexes if cells[i].strip()
                )
            elif indexes:
                raw[target] = cells[indexes[0]]
        for target, index in self.plain:
            raw[target] = cells[index]
        for target, indexes in self.multi:
            found = [(headers[i], cells[i].strip()) for i in indexes if cells[i].strip()]
            if target == "phone":
                raw["phone"] = found
                continue
            raw[target] = found[0][1] if found else ""
            chosen = raw[target].casefold()
            extras.extend(f"{h}: {cell}" for h, cell in found[1:] if cell.casefold() != chosen)
        for target in self.mapped:
            raw[target] = self._value(target, raw.get(target, ""), row)
        if self.kind == "leads":
            raw = {target: raw.get(target, "") for target in LEAD_VALUES}
            raw["phone"] = raw["phone"] or []
            if "categories" in self.columns:  # only when mapped: a lead row's values stay as before
                raw["categories"] = cells[self.columns["categories"][0]]
        return raw, extras

    def _value(self, field: str, cell: str, row: Row) -> str:
        """A mapped field's cell as stored: as the admin's value map says, else as guessed
        (``mapping.guess_value``); a value that means nothing is left empty, with a
        warning."""
        text = cell.strip()
        if not text:
            return ""
        chosen = self.value_map.get(field, {})
        if text in chosen:
            return chosen[text] or ""
        guessed = self.guessed.setdefault(field, {})
        if text not in guessed:
            guessed[text] = guess_value(field, text)
        if guessed[text] is None:
            row.warnings.append(
                f"{self._label(field)} “{text}” means nothing QuickCRM knows: left empty."
            )
        return guessed[text] or ""

    def _plain_fields(self) -> Iterable[str]:
        skip = {IGNORE, "name", "first_name", "last_name", "note", "address"}
        return [name for name in self.labels if name not in skip]


# What a lead row stores, in the capture form's terms.
LEAD_VALUES = (
    "name",
    "company_name",
    "email",
    "phone",
    "note",
    "temperature",
    "next_action_on",
    "source",
    "contact_name",  # issue 29
    "address",
    "potential_value",
)


def _category_names(cell: str | None) -> list[str]:
    return split_names(v.long_text(cell, max_length=2000))


def company_key(values: dict) -> str:
    return name_key(values.get("company_name"))
