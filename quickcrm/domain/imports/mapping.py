"""What each CSV column becomes: guessed from its header, chosen by the admin, checked."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from quickcrm.domain import validation as v

IGNORE = "ignore"
# The choices of each kind, in the order the selects list them: field → label.
LEAD_FIELDS = {
    "name": "Name",
    "first_name": "First name",
    "last_name": "Last name",
    "company_name": "Company",
    "email": "Email",
    "phone": "Phone",
    "note": "Note",
    "temperature": "Temperature",
    "next_action_on": "Next action date",
    "source": "Source",
    IGNORE: "Ignore",
}
COMPANY_FIELDS = {
    "company_name": "Company",
    "name": "Name",
    "first_name": "First name",
    "last_name": "Last name",
    "title": "Job title",
    "email": "Email",
    "phone": "Phone",
    "website": "Website",
    "industry": "Industry",
    "address": "Address",
    IGNORE: "Ignore",
}
FIELDS = {"leads": LEAD_FIELDS, "companies": COMPANY_FIELDS}
# Fields several columns may go to: their values are kept one after the other.
REPEATABLE = {"note", "address"}
# Fields several columns may go to where a row takes the first non-empty one (in
# ``priority`` order) and keeps the others in its note.
MULTI: set[str] = set()
# Fields whose values are mapped (a Rating of "A" is hot): ``guess_values``.
VALUE_FIELDS = ("temperature",)


@dataclass(frozen=True)
class Guess:
    """What a column is guessed to be, and why (shown beside it in the preview)."""

    field: str
    reason: str


# Headers as people write them, folded by ``fold`` (no case, accents, spaces or
# punctuation): "E-mail", "Email address" and "e_mail" all read "email…".
VARIANTS = {
    "name": (
        "name", "fullname", "contact", "contactname", "contactperson", "person", "leadname",
        "attendee", "attendeename", "participant", "customername", "nom", "nomcomplet",
    ),
    "first_name": ("firstname", "first", "givenname", "forename", "prenom", "vorname"),
    "last_name": ("lastname", "last", "surname", "familyname", "nomdefamille", "nachname"),
    "company_name": (
        "company", "companyname", "organisation", "organization", "organisationname",
        "organizationname", "org", "employer", "business", "businessname", "account",
        "accountname", "firm", "societe", "entreprise", "firma", "unternehmen",
    ),
    "email": (
        "email", "emailaddress", "mail", "mailaddress", "workemail", "businessemail",
        "courriel", "adressemail", "adresseemail",
    ),
    "phone": (
        "phone", "phonenumber", "telephone", "telephonenumber", "tel", "mobile",
        "mobilephone", "mobilenumber", "cell", "cellphone", "cellnumber", "workphone",
        "businessphone", "directphone", "portable", "telefon", "handy",
    ),
    "note": ("note", "notes", "comment", "comments", "remark", "remarks", "description"),
    "temperature": ("temperature", "temp", "leadtemperature", "heat"),
    "next_action_on": (
        "nextactiondate", "nextaction", "nextactionon", "followup", "followupdate",
        "followupon", "nextstep", "nextstepdate", "duedate",
    ),
    "source": ("source", "leadsource", "event", "eventname", "campaign", "origin", "channel"),
    "title": ("title", "jobtitle", "position", "role", "function", "poste"),
    "website": ("website", "web", "site", "url", "homepage", "websiteurl"),
    "industry": ("industry", "sector", "branche", "secteur"),
    "address": (
        "address", "street", "streetaddress", "city", "town", "postcode", "zip", "zipcode",
        "postalcode", "country", "state", "region", "adresse", "ville", "pays",
    ),
}  # fmt: skip
_GUESS = {variant: field for field, variants in VARIANTS.items() for variant in variants}


def fold(header: str) -> str:
    """``header`` without case, accents, spaces or punctuation: how it is compared."""
    text = unicodedata.normalize("NFKD", header or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[\W_]+", "", text)


def guess_columns(
    headers: list[str], kind: str = "leads", rows: list[list[str]] | None = None
) -> list[Guess]:
    """The field of each column, guessed from its header (and ``rows``, some of the file's
    first data rows), with the reason; a field goes to the first column that claims it
    (except the repeatable ones), the others are ignored."""
    allowed = FIELDS[kind]
    taken: set[str] = set()
    guesses = []
    for header in headers:
        field = _GUESS.get(fold(header), IGNORE)
        if kind == "companies" and field == "source":
            field = IGNORE
        if field not in allowed or (field in taken and field not in REPEATABLE):
            field = IGNORE
        taken.add(field)
        reason = f"from the header “{header}”" if field != IGNORE else "not recognised"
        guesses.append(Guess(field, reason))
    return guesses


def guess(
    headers: list[str], kind: str = "leads", rows: list[list[str]] | None = None
) -> list[str]:
    """The field of each column (``guess_columns`` without the reasons)."""
    return [g.field for g in guess_columns(headers, kind, rows)]


_TEMPERATURE_WORDS = {"hot": "hot", "warm": "warm", "cold": "cold"}


def guess_values(field: str, values: list[str]) -> dict[str, str | None]:
    """What each distinct value of a ``field`` column (as in the file, stripped) is stored
    as; ``None`` where it means nothing QuickCRM knows."""
    return {value: _TEMPERATURE_WORDS.get(fold(value)) for value in values}


def check(chosen: list[str | None], headers: list[str], kind: str = "leads") -> list[str]:
    """The chosen field of each column, or ``validation.Refused``: an unknown choice, a
    field chosen for two columns, no name (leads: Name, or First and/or Last name;
    companies: Company). Its messages are keyed by the form's inputs (``column_3``, and
    ``column`` for the mapping as a whole), its ``detail`` by column index (``None``)."""
    allowed = FIELDS[kind]
    errors: dict[int | None, str] = {}
    fields = []
    for index, field in enumerate(chosen):
        if field not in allowed:
            errors[index] = "Choose what this column is, or Ignore."
            field = IGNORE
        fields.append(field)
    for index, field in enumerate(fields):
        if field in (IGNORE, *REPEATABLE):
            continue
        others = [headers[i] for i, f in enumerate(fields) if f == field and i != index]
        if others:
            errors[index] = (
                f"{allowed[field]} is also chosen for “{others[0]}”: choose it for one column."
            )
    named = set(fields) & {"name", "first_name", "last_name"}
    if kind == "leads" and not named:
        errors[None] = "Choose the column with the name: Name, or First name and Last name."
    if kind == "companies" and "company_name" not in fields:
        errors[None] = "Choose the column with the company's name: Company."
    if errors:
        by_input = {("column" if key is None else f"column_{key}"): m for key, m in errors.items()}
        raise v.Refused(by_input, detail=errors)
    return fields
