"""Companies and contacts: search, edit, last contacted, vCard, merging duplicates."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import vobject
from sqlalchemy import Select, func, literal, or_, select, tuple_, update
from sqlalchemy.orm import Session, selectinload

from quickcrm.domain import activities, matching
from quickcrm.domain import validation as v
from quickcrm.domain.lists import ListQuery
from quickcrm.models import (
    COMPANY_RATINGS,
    COMPANY_TYPES,
    Activity,
    Company,
    Contact,
    Lead,
    Opportunity,
    Segment,
    User,
)

LIST_LIMIT = 100
# The orders of the companies and contacts lists: by name, A to Z or Z to A.
NAME_SORTS = ("name", "-name")


def _sort_of(args: Mapping[str, str]) -> str:
    sort = (args.get("sort") or "").strip()
    return sort if sort in NAME_SORTS else "name"


@dataclass
class CompanyQuery(ListQuery):
    """The companies list's search and filters, read from the URL (a value not in its list
    is ignored), and its cursor (the id of the last company shown)."""

    q: str = ""
    type: str = ""
    rating: str = ""
    segment_id: int | None = None
    sort: str = "name"

    @classmethod
    def filters_from(cls, args: Mapping[str, str]) -> dict[str, object]:
        kind = (args.get("type") or "").strip()
        rating = (args.get("rating") or "").strip().upper()
        return {
            "q": (args.get("q") or "")[:200],
            "type": kind if kind in COMPANY_TYPES else "",
            "rating": rating if rating in COMPANY_RATINGS else "",
            "segment_id": v.record_id(args.get("segment")),
            "sort": _sort_of(args),
        }

    def filter_args(self) -> dict[str, str]:
        return {
            "q": self.q,
            "type": self.type,
            "rating": self.rating,
            "segment": str(self.segment_id or ""),
            "sort": "" if self.sort == "name" else self.sort,
        }


def companies_found(query: CompanyQuery) -> Select:
    """The companies list's statement for ``query``, in its order: the list shows it a
    page at a time, the CSV export all of it."""
    stmt = select(Company).where(Company.merged_into_id.is_(None))
    if query.type:
        stmt = stmt.where(Company.type == query.type)
    if query.rating:
        stmt = stmt.where(Company.rating == query.rating)
    if query.segment_id:
        stmt = stmt.where(Company.segment_id == query.segment_id)
    if query.q.strip():
        typed = query.q.strip()  # (autoescape: "%" and "_" typed are literal)
        stmt = stmt.where(
            or_(*(c.icontains(typed, autoescape=True) for c in (Company.name, Company.industry)))
        )
    return _by_name(stmt, Company, query.sort)


def _by_name(stmt: Select, model, sort: str) -> Select:
    """``stmt`` in name order (``sort`` "-name": Z to A), the id breaking ties."""
    if sort == "-name":
        return stmt.order_by(model.name_sort.desc(), model.id.desc())
    return stmt.order_by(model.name_sort, model.id)


def search_companies(session: Session, q: str = "") -> list[Company]:
    return company_page(session, CompanyQuery(q=q)).rows


@dataclass
class ContactQuery(ListQuery):
    """The contacts list's search, the company whose contacts it lists (when it names one),
    and its cursor (the id of the last contact shown)."""

    q: str = ""
    company_id: int | None = None
    sort: str = "name"

    @classmethod
    def filters_from(cls, args: Mapping[str, str]) -> dict[str, object]:
        return {
            "q": (args.get("q") or "")[:200],
            "company_id": v.record_id(args.get("company")),
            "sort": _sort_of(args),
        }

    def filter_args(self) -> dict[str, str]:
        return {
            "q": self.q,
            "company": str(self.company_id or ""),
            "sort": "" if self.sort == "name" else self.sort,
        }


def contacts_found(q: str = "", company_id: int | None = None, sort: str = "name") -> Select:
    """The contacts list's statement for the search ``q`` (at the company ``company_id``
    when given), in its order (see ``companies_found``)."""
    stmt = select(Contact)
    if company_id is not None:
        stmt = stmt.where(Contact.company_id == company_id)
    if q.strip():
        typed = q.strip()
        searched = (Contact.name, Contact.email, Contact.phone)
        stmt = stmt.where(or_(*(c.icontains(typed, autoescape=True) for c in searched)))
    return _by_name(stmt, Contact, sort)


def contacts_at(session: Session, company_id: int | None) -> list[Contact]:
    """The contacts of a company, by name: the choices of its records' Primary contact."""
    return list(session.scalars(contacts_found(company_id=company_id))) if company_id else []


def search_contacts(session: Session, q: str = "") -> list[Contact]:
    return contact_page(session, ContactQuery(q=q)).rows


@dataclass
class ListPage:
    """One page of a list ordered by ``(name_sort, id)``; ``after`` is the id of its last row when
    another page follows (the next page is the rows after it), else ``None``."""

    rows: list
    after: int | None


def _page(session: Session, stmt: Select, model, after: str, sort: str = "name") -> ListPage:
    """``LIST_LIMIT`` rows of ``stmt`` from just after the row whose id is ``after`` (keyset
    paging on the ``(name_sort, id)`` index of revision 0020, read backwards for Z to A: a
    later page reads as few rows as the first)."""
    last = v.chosen(session, model, after)
    if last is not None:
        key, at = tuple_(model.name_sort, model.id), tuple_(literal(last.name_sort), last.id)
        stmt = stmt.where(key < at if sort == "-name" else key > at)
    rows = list(session.scalars(stmt.limit(LIST_LIMIT + 1)))
    more = len(rows) > LIST_LIMIT
    del rows[LIST_LIMIT:]
    return ListPage(rows, rows[-1].id if more else None)


def company_page(session: Session, query: CompanyQuery) -> ListPage:
    """A page of the companies list (with each row's segment, in one query)."""
    stmt = companies_found(query).options(selectinload(Company.segment))
    return _page(session, stmt, Company, query.after, query.sort)


def contact_page(session: Session, query: ContactQuery) -> ListPage:
    """A page of the contacts list; each row names the contact's company: one query for
    all of them, not one a row."""
    stmt = contacts_found(query.q, query.company_id, query.sort)
    stmt = stmt.options(selectinload(Contact.company))
    return _page(session, stmt, Contact, query.after, query.sort)


COMPANY_FIELDS = ("name", "type", "rating", "industry", "website", "phone", "address")
CONTACT_FIELDS = ("name", "title", "email", "phone")
# Fields a form may leave out: a form without them keeps what the record has.
CHOSEN_FIELDS = ("segment_id", "owner_id")


def _rating(value: str) -> str | None:
    rating = value.strip().upper()
    if rating and rating not in COMPANY_RATINGS:
        raise v.Refused("Choose A, B or C.")
    return rating or None


def _pick(session: Session, model, message: str, *, active_user: bool = False):
    """A check for a select of ``model`` rows: the chosen row's id, or ``None`` for none."""

    def check(raw: str) -> int | None:
        if not raw.strip():
            return None
        row = v.chosen(session, model, raw)
        if row is None or (active_user and not row.active):
            raise v.Refused(message)
        return row.id

    return check


@dataclass
class CompanyForm(v.Form):
    """A new or edited company: ``CompanyForm.clean(session, raw, region=)``. Its segment
    and owner are read only when the form has them (``CHOSEN_FIELDS``)."""

    FIELDS = COMPANY_FIELDS + CHOSEN_FIELDS

    @classmethod
    def from_mapping(cls, data: Mapping[str, str]) -> CompanyForm:
        form = super().from_mapping(data)
        for name in CHOSEN_FIELDS:
            if name not in data:
                del form.raw[name]
        return form

    def validate(self, session: Session, *, region: str | None) -> None:
        chosen = {
            "segment_id": _pick(session, Segment, "Choose a segment from the list."),
            "owner_id": _pick(session, User, "Choose an active user.", active_user=True),
        }
        self.check_all({name: check for name, check in chosen.items() if name in self.raw})
        self.check_all(
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


@dataclass
class ContactForm(v.Form):
    """A new or edited contact: ``ContactForm.clean(session, raw, region=)``; reads no
    records (``session`` may be ``None``)."""

    FIELDS = CONTACT_FIELDS

    def validate(self, session: Session | None, *, region: str | None) -> None:
        self.check_all(
            {
                "name": lambda s: v.text(s, max_length=200, required="Enter the person's name."),
                "title": lambda s: v.text(s, max_length=120),
                "email": v.email,
                "phone": lambda s: v.phone(s, region),
            }
        )


def update_company(session: Session, company: Company, form: CompanyForm, region) -> Company:
    assert form.ok
    for name, value in form.values.items():
        setattr(company, name, value)
    matching.company_keys(company, region)
    session.flush()
    return company


def create_company(session: Session, form: CompanyForm, region, *, owner: User) -> Company:
    """A new company from a cleaned form; its owner is the form's, else ``owner``."""
    assert form.ok
    company = Company(**{name: value for name, value in form.values.items()})
    if company.owner_id is None:
        company.owner_id = owner.id
    matching.company_keys(company, region)
    session.add(company)
    session.flush()
    return company


def create_contact(
    session: Session, company: Company, form: ContactForm, region, *, owner: User
) -> Contact:
    """A new contact at ``company``, owned by the person who added them."""
    assert form.ok
    contact = Contact(company_id=company.id, owner_id=owner.id, **form.values)
    matching.contact_keys(contact, region)
    session.add(contact)
    session.flush()
    return contact


def update_contact(session: Session, contact: Contact, form: ContactForm, region) -> Contact:
    assert form.ok
    for name, value in form.values.items():
        setattr(contact, name, value)
    matching.contact_keys(contact, region)
    session.flush()
    return contact


def last_contacted(session: Session, record: Company | Contact) -> datetime | None:
    """When someone last called, emailed or met the company or contact."""
    return activities.last_contacted(session, record)


def segments(session: Session) -> list[Segment]:
    return list(session.scalars(select(Segment).order_by(Segment.position, Segment.id)))


def add_segment(session: Session, name: str) -> Segment:
    """Add a segment at the end of the admin's list."""
    try:
        clean = v.text(name, max_length=120, required="Enter the segment's name.")
    except v.Refused as exc:
        raise v.Refused({"segment": str(exc)}) from None
    if session.scalar(select(Segment.id).where(func.lower(Segment.name) == clean.lower())):
        raise v.Refused({"segment": f"{clean} is already in the list."})
    last = session.scalar(select(func.max(Segment.position))) or 0
    segment = Segment(name=clean, position=last + 1)
    session.add(segment)
    session.flush()
    return segment


def remove_segment(session: Session, segment: Segment) -> int:
    """Remove a segment; its companies keep no segment. Returns how many had it."""
    used = session.execute(
        update(Company).where(Company.segment_id == segment.id).values(segment_id=None)
    ).rowcount
    session.delete(segment)
    session.flush()
    return used


# A company's or contact's page shows this many of its contacts and of its opportunities,
# and how many there are in all.
DETAIL_LIMIT = 50


@dataclass
class FirstOf:
    """The first rows of a record's contacts or opportunities, and how many it has."""

    rows: list
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def _first_of(session: Session, stmt: Select) -> FirstOf:
    rows = list(session.scalars(stmt.limit(DETAIL_LIMIT)))
    if len(rows) < DETAIL_LIMIT:
        return FirstOf(rows, len(rows))
    count = select(func.count()).select_from(stmt.order_by(None).subquery())
    return FirstOf(rows, session.scalar(count))


def contacts_of(session: Session, company: Company) -> FirstOf:
    """The company's first contacts by name (all of them in the contacts list)."""
    return _first_of(session, contacts_found(company_id=company.id))


def opportunities_of(session: Session, **where) -> FirstOf:
    """A company's or contact's first opportunities (``company_id=`` or ``contact_id=``):
    open ones first, by close date."""
    column, value = next(iter(where.items()))
    return _first_of(
        session,
        select(Opportunity)
        .where(getattr(Opportunity, column) == value)
        .order_by(Opportunity.outcome != "open", Opportunity.close_on, Opportunity.id)
        .options(selectinload(Opportunity.stage)),
    )


# Every line break Python's str.splitlines knows, CR LF as one: an address book that split
# a value on any of them would read what follows as a property of its own.
LINE_BREAK = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")


def _one_line(value: str) -> str:
    """``value`` on one line: each line break a space, then runs of spaces folded and the
    ends trimmed, as ``validation.text`` cleans one-line fields."""
    return re.sub(r"[ \t]+", " ", LINE_BREAK.sub(" ", value)).strip()


def vcard(contact: Contact) -> str:
    """The contact as a vCard 3.0, to add to a phone's address book. vobject writes it
    (escapes ``\\ ; ,``, folds long lines); every value is made one line first."""
    card = vobject.vCard()
    name = _one_line(contact.name)
    card.add("fn").value = name
    parts = name.rsplit(" ", 1)
    family, given = (parts[1], parts[0]) if len(parts) == 2 else (parts[0], "")
    card.add("n").value = vobject.vcard.Name(family=family, given=given)
    if contact.company is not None:
        card.add("org").value = [_one_line(contact.company.name)]
    if contact.title:
        card.add("title").value = _one_line(contact.title)
    if contact.phone:
        tel = card.add("tel")
        tel.value = _one_line(contact.phone)
        tel.type_paramlist = ["WORK", "VOICE"]
    if contact.email:
        email = card.add("email")
        email.value = _one_line(contact.email)
        email.type_param = "INTERNET"
    return card.serialize()


def merge_companies(session: Session, survivor: Company, duplicate: Company) -> Company:
    """Move the duplicate's contacts, opportunities, timeline and converted leads to the
    survivor, fill the survivor's empty details from it, and mark it merged (flushed: the
    caller commits it as one transaction)."""
    if survivor.id == duplicate.id:
        raise v.Refused({"duplicate": "Choose two different companies."})
    if survivor.merged_into_id is not None or duplicate.merged_into_id is not None:
        raise v.Refused({"duplicate": "One of these companies was already merged."})
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
    session.flush()
    session.expire_all()
    return survivor
