"""One CSV row cleaned into what it will store, or refused with its reason; the keys that
make a row a duplicate; cells made safe to open in a spreadsheet."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from quickcrm.domain import validation as v
from quickcrm.domain.imports.mapping import FIELDS, IGNORE
from quickcrm.domain.leads import field_checks
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
    of the capture form (quickcrm/domain/leads.py ``field_checks``)."""

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
        self.value_map = value_map or {}
        self.labels = FIELDS[kind]
        checks = field_checks(today=today, phone_region=region)
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

    def clean(self, line: int, cells: list[str]) -> Row:
        row = Row(line, cells)
        if len(cells) != len(self.headers):
            row.reason = (
                f"This row has {len(cells)} cells where the header has {len(self.headers)}: "
                "a delimiter too many or too few?"
            )
            return row
        raw = self._gather(cells)
        for name, values in self.value_map.items():
            if raw.get(name, "").strip() in values:
                raw[name] = values[raw[name].strip()] or ""
        errors = []
        for name, value in raw.items():
            try:
                row.values[name] = self.checks[name](value)
            except v.Refused as exc:
                errors.append(f"{self._label(name)}: {exc}")
        if self.kind == "leads" and not errors and not row.values.get("source"):
            row.values["source"] = self.source
        if errors:
            row.values = {}
            row.reason = " ".join(errors)
        else:
            row.keys = duplicate_keys(row.values, self.region)
        return row

    def _label(self, name: str) -> str:
        return self.labels.get(name, name.replace("_", " ").capitalize())

    def _gather(self, cells: list[str]) -> dict[str, str]:
        """The row's raw text per field: first and last names joined into the name when no
        Name cell has one, several Note (Address) columns one after the other."""
        by_field: dict[str, list[tuple[str, str]]] = {}
        for header, mapped, cell in zip(self.headers, self.fields, cells, strict=True):
            if mapped != IGNORE:
                by_field.setdefault(mapped, []).append((header, cell))

        def one(name: str) -> str:
            return by_field.get(name, [("", "")])[0][1]

        raw = {"name": one("name")}
        if not raw["name"].strip():
            raw["name"] = " ".join(
                part.strip() for part in (one("first_name"), one("last_name")) if part.strip()
            )
        for name in ("note", "address"):
            parts = by_field.get(name, [])
            if len(parts) > 1:
                raw[name] = "\n".join(f"{h}: {c.strip()}" for h, c in parts if c.strip())
            elif parts:
                raw[name] = parts[0][1]
        names = self._plain_fields()
        raw |= {name: one(name) for name in names if name in by_field}
        if self.kind == "leads":
            raw = {name: raw.get(name, "") for name in LEAD_VALUES}
        return raw

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
)


def company_key(values: dict) -> str:
    return name_key(values.get("company_name"))
