"""Duplicate hints while someone types (docs/domain.md, "Duplicates"): the leads, contacts
and companies a name, company, email or phone being typed may already be, by the rules the
convert page matches on (quickcrm/domain/matching.py) and the keys of
quickcrm/domain/keys.py. Each look-up reads one index with a small LIMIT: a hint is asked
for at every pause in typing, at 100,000 leads and contacts (bench/duplicates.py).

Who may see what (PRODUCT.md section 3): anyone may learn THAT a lead exists and whose it
is, but only its owner, coordinators and admins get a link to it; companies and contacts
are everyone's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from quickcrm.domain import keys, matching
from quickcrm.domain.validation import phone_key
from quickcrm.models import Company, Contact, Lead, User

# At most this many records of each kind per typed value: a hint is one quiet line or two.
MATCH_LIMIT = 3
# A typed value longer than the longest column it is compared with matches nothing.
VALUE_MAX = 254
# The fields a hint can be asked for, as the forms name them.
FIELDS = ("name", "company_name", "email", "phone")


@dataclass(frozen=True)
class Match:
    """One existing record a typed value may be: ``by`` is the field that matched."""

    by: str
    kind: str  # "lead", "contact" or "company"
    id: int
    name: str
    company: str | None = None
    status: str | None = None  # a lead's
    owner_id: int | None = None  # a lead's
    owner_name: str | None = None
    captured_at: datetime | None = None


@dataclass(frozen=True)
class Typed:
    """What was typed, with the keys it is compared on (empty keys match nothing)."""

    name: str = ""
    company_name: str = ""
    email: str = ""
    phone: str = ""

    def value(self, field: str) -> str:
        text = (getattr(self, field) or "").strip()
        return text if len(text) <= VALUE_MAX else ""


def find(session: Session, typed: Typed, region: str | None) -> list[Match]:
    """The records ``typed`` may already be, field by field (name, company, email, phone),
    at most ``MATCH_LIMIT`` of each kind for each field; each record once, under the first
    field that matched it."""
    found: list[Match] = []
    for field in FIELDS:
        value = typed.value(field)
        if value:
            found += _FINDERS[field](session, value, region)
    seen: set[tuple[str, int]] = set()
    unique = []
    for match in found:
        if (match.kind, match.id) not in seen:
            seen.add((match.kind, match.id))
            unique.append(match)
    return unique


def _by_name(session: Session, value: str, region: str | None) -> list[Match]:
    # A lead's or a contact's name is a person's (or a business's, as on the card).
    key = keys.person_key(value)
    if not key:
        return []
    found = _leads(session, "name", Lead.name_key == key)
    found += _contacts(session, "name", Contact.name_key == key)
    company = matching.name_key(value)
    if company:
        found += _companies(session, "name", Company.name_key == company)
    return found


def _by_company(session: Session, value: str, region: str | None) -> list[Match]:
    key = matching.name_key(value)
    return _companies(session, "company_name", Company.name_key == key) if key else []


def _by_email(session: Session, value: str, region: str | None) -> list[Match]:
    key = keys.email_key(value)
    if not key:
        return []
    found = _leads(session, "email", Lead.email_key == key)
    found += _contacts(session, "email", func.lower(Contact.email) == key)
    domain = matching.email_domain(key)  # free-mail domains say nothing: None
    if domain:
        found += _companies(session, "email", Company.email_domain == domain)
    return found


def _by_phone(session: Session, value: str, region: str | None) -> list[Match]:
    found = []
    tail = keys.phone_tail(value)
    if tail:
        found += _leads(session, "phone", Lead.phone_tail == tail)
    number = phone_key(value, region)
    if number:
        found += _contacts(session, "phone", Contact.phone_key == number)
        found += _companies(session, "phone", Company.phone_key == number)
    return found


_FINDERS: dict[str, Callable[[Session, str, str | None], list[Match]]] = {
    "name": _by_name,
    "company_name": _by_company,
    "email": _by_email,
    "phone": _by_phone,
}

_OWNER = aliased(User)


def _leads(session: Session, by: str, test) -> list[Match]:
    """Leads not merged into another, newest first: the name, company, status, owner and
    capture moment — never the email, phone or note (a rep may not read another's lead)."""
    rows = session.execute(
        select(
            Lead.id,
            Lead.name,
            Lead.company_name,
            Lead.status,
            Lead.owner_id,
            _OWNER.name,
            Lead.captured_at,
        )  # fmt: skip
        .join(_OWNER, _OWNER.id == Lead.owner_id)
        .where(test, Lead.merged_into_id.is_(None))
        .order_by(Lead.id.desc())
        .limit(MATCH_LIMIT)
    )
    return [
        Match(by, "lead", id_, name, company, status, owner_id, owner_name, captured_at)
        for id_, name, company, status, owner_id, owner_name, captured_at in rows
    ]


def _contacts(session: Session, by: str, test) -> list[Match]:
    rows = session.execute(
        select(Contact.id, Contact.name, Company.name)
        .outerjoin(Company, Company.id == Contact.company_id)
        .where(test)
        .order_by(Contact.id.desc())
        .limit(MATCH_LIMIT)
    )
    return [Match(by, "contact", id_, name, company) for id_, name, company in rows]


def _companies(session: Session, by: str, test) -> list[Match]:
    rows = session.execute(
        select(Company.id, Company.name)
        .where(test, Company.merged_into_id.is_(None))
        .order_by(Company.id.desc())
        .limit(MATCH_LIMIT)
    )
    return [Match(by, "company", id_, name) for id_, name in rows]


# --- What the viewer is told ------------------------------------------------------------


def openable(match: Match, viewer: User) -> bool:
    """Whether ``viewer`` gets an Open link: companies and contacts are everyone's; a lead
    is its owner's, and coordinators' and admins'."""
    if match.kind != "lead":
        return True
    return match.owner_id == viewer.id or viewer.can("coordinator")


def describe(match: Match, viewer: User, day: Callable[[datetime], str]) -> str:
    """The hint's sentence: "Maria Novak (Acme) is already an open lead of Chris, captured
    3 Dec", "… a contact at Acme", "Acme is already a company". ``day`` writes a stored
    moment as the viewer reads dates."""
    if match.kind == "company":
        return f"{match.name} is already a company"
    if match.kind == "contact":
        at = f" at {match.company}" if match.company else ""
        return f"{match.name} is already a contact{at}"
    who = f"{match.name} ({match.company})" if match.company else match.name
    article = "an" if match.status == "open" else "a"
    whose = (
        f"your {match.status} lead"
        if match.owner_id == viewer.id
        else f"{article} {match.status} lead of {match.owner_name}"
    )
    captured = f", captured {day(match.captured_at)}" if match.captured_at else ""
    return f"{who} is already {whose}{captured}"
