"""Companies and contacts: search, edit, last contacted, vCard, merging duplicates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from quickcrm.domain import matching
from quickcrm.domain import validation as v
from quickcrm.models import (
    COMPANY_RATINGS,
    COMPANY_TYPES,
    Activity,
    Company,
    Contact,
    Lead,
    Opportunity,
)

LIST_LIMIT = 100


def _pattern(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def companies_found(q: str = "") -> Select:
    """The companies list's statement for the search ``q``, in its order: the list shows
    its first ``LIST_LIMIT``, the CSV export all of them."""
    stmt = select(Company).where(Company.merged_into_id.is_(None))
    if q.strip():
        p = _pattern(q.strip())
        stmt = stmt.where(
            or_(Company.name.ilike(p, escape="\\"), Company.industry.ilike(p, escape="\\"))
        )
    return stmt.order_by(Company.name, Company.id)


def search_companies(session: Session, q: str = "") -> list[Company]:
    return list(session.scalars(companies_found(q).limit(LIST_LIMIT)))


def contacts_found(q: str = "") -> Select:
    """The contacts list's statement for the search ``q``, in its order (see
    ``companies_found``)."""
    stmt = select(Contact)
    if q.strip():
        p = _pattern(q.strip())
        stmt = stmt.where(
            or_(*(c.ilike(p, escape="\\") for c in (Contact.name, Contact.email, Contact.phone)))
        )
    return stmt.order_by(Contact.name, Contact.id)


def search_contacts(session: Session, q: str = "") -> list[Contact]:
    return list(session.scalars(contacts_found(q).limit(LIST_LIMIT)))


@dataclass
class RecordForm:
    """A company or contact as typed: raw values, then cleaned values or errors."""

    raw: dict[str, str]
    values: dict[str, object] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def _run(self, checks: dict) -> RecordForm:
        for name, check in checks.items():
            try:
                self.values[name] = check(self.raw.get(name, ""))
            except v.Invalid as exc:
                self.errors[name] = str(exc)
        return self


COMPANY_FIELDS = ("name", "type", "rating", "industry", "website", "phone", "address")
CONTACT_FIELDS = ("name", "title", "email", "phone")


def _rating(value: str) -> str | None:
    rating = value.strip().upper()
    if rating and rating not in COMPANY_RATINGS:
        raise v.Invalid("Choose A, B or C.")
    return rating or None


def company_form(data: Mapping[str, str], region: str | None) -> RecordForm:
    form = RecordForm(raw={name: (data.get(name) or "") for name in COMPANY_FIELDS})
    return form._run(
        {
            "name": lambda s: v.text(s, max_length=200, required="Enter the company's name."),
            "type": lambda s: v.choice(s, COMPANY_TYPES, "Choose a type from the list.")
            or "prospect",
            "rating": _rating,
            "industry": lambda s: v.text(s, max_length=120),
            "website": v.url,
            "phone": lambda s: v.phone(s, region),
            "address": lambda s: v.long_text(s, max_length=1000),
        }
    )  # fmt: skip


def contact_form(data: Mapping[str, str], region: str | None) -> RecordForm:
    form = RecordForm(raw={name: (data.get(name) or "") for name in CONTACT_FIELDS})
    return form._run(
        {
            "name": lambda s: v.text(s, max_length=200, required="Enter the person's name."),
            "title": lambda s: v.text(s, max_length=120),
            "email": v.email,
            "phone": lambda s: v.phone(s, region),
        }
    )


def update_company(session: Session, company: Company, form: RecordForm, region) -> Company:
    assert form.ok
    for name, value in form.values.items():
        setattr(company, name, value)
    matching.company_keys(company, region)
    session.commit()
    return company


def update_contact(session: Session, contact: Contact, form: RecordForm, region) -> Contact:
    assert form.ok
    for name, value in form.values.items():
        setattr(contact, name, value)
    matching.contact_keys(contact, region)
    session.commit()
    return contact


def last_contacted(session: Session, contact: Contact) -> datetime | None:
    """When the latest call, email, meeting or note with this contact was logged."""
    return session.scalar(
        select(func.max(Activity.created_at)).where(
            Activity.contact_id == contact.id, Activity.kind != "task"
        )
    )


def opportunities_of(session: Session, **where) -> list[Opportunity]:
    column, value = next(iter(where.items()))
    return list(
        session.scalars(
            select(Opportunity)
            .where(getattr(Opportunity, column) == value)
            .order_by(Opportunity.outcome, Opportunity.close_on, Opportunity.id)
        )
    )


def _vcard_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace(",", "\\,").replace(";", "\\;")


def vcard(contact: Contact) -> str:
    """The contact as a vCard 3.0, to add to a phone's address book."""
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"FN:{_vcard_escape(contact.name)}"]
    parts = contact.name.rsplit(" ", 1)
    family, given = (parts[1], parts[0]) if len(parts) == 2 else (parts[0], "")
    lines.append(f"N:{_vcard_escape(family)};{_vcard_escape(given)};;;")
    if contact.company is not None:
        lines.append(f"ORG:{_vcard_escape(contact.company.name)}")
    if contact.title:
        lines.append(f"TITLE:{_vcard_escape(contact.title)}")
    if contact.phone:
        lines.append(f"TEL;TYPE=WORK,VOICE:{_vcard_escape(contact.phone)}")
    if contact.email:
        lines.append(f"EMAIL;TYPE=INTERNET:{_vcard_escape(contact.email)}")
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


class MergeRefused(Exception):
    pass


def merge_companies(session: Session, survivor: Company, duplicate: Company) -> Company:
    """Move the duplicate's contacts, opportunities, timeline and converted leads to the
    survivor, fill the survivor's empty details from it, and mark it merged — one commit."""
    if survivor.id == duplicate.id:
        raise MergeRefused("Choose two different companies.")
    if survivor.merged_into_id is not None or duplicate.merged_into_id is not None:
        raise MergeRefused("One of these companies was already merged.")
    try:
        for model in (Contact, Opportunity, Activity, Lead):
            session.execute(
                update(model)
                .where(model.company_id == duplicate.id)
                .values(company_id=survivor.id)
                .execution_options(synchronize_session=False)
            )
        for name in ("industry", "website", "email_domain", "phone", "phone_key", "address",
                     "rating"):  # fmt: skip
            if getattr(survivor, name) is None and getattr(duplicate, name) is not None:
                setattr(survivor, name, getattr(duplicate, name))
        duplicate.merged_into_id = survivor.id
        session.commit()
    except BaseException:
        session.rollback()
        raise
    session.expire_all()
    return survivor
