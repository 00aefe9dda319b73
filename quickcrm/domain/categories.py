"""The team's own categories (Admin → *Categories*): tags for leads — "industry, north of
the river, south of the river, size of company" — that a rep adds with one tap on capture,
that filter the leads list, and that a lead's conversion gives to its company (docs/domain.md,
"Categories").

A lead or a company has any number of them (where a company's segment is one). A capture
naming a category that is gone is stored without it: a phone may hold an old list."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, delete, exists, func, insert, literal, select
from sqlalchemy.orm import Session

from quickcrm.domain import validation as v
from quickcrm.models import Category, Company, CompanyCategory, Lead, LeadCategory

NAME_MAX = 120
# More than any team defines; a capture or a URL naming more is cut to this many.
CHOSEN_MAX = 100


def ordered(session: Session) -> list[Category]:
    """The categories in the admin's order."""
    return list(session.scalars(select(Category).order_by(Category.position, Category.id)))


def usage(session: Session) -> dict[int, tuple[int, int]]:
    """How many leads and companies have each category, by category id (one query per
    table, grouped: the admin page shows them beside each)."""
    leads = dict(
        session.execute(
            select(LeadCategory.category_id, func.count()).group_by(LeadCategory.category_id)
        ).all()
    )
    companies = dict(
        session.execute(
            select(CompanyCategory.category_id, func.count()).group_by(CompanyCategory.category_id)
        ).all()
    )
    return {ident: (leads.get(ident, 0), companies.get(ident, 0)) for ident in leads | companies}


def _name(session: Session, raw: str, *, field: str, other: Category | None = None) -> str:
    try:
        clean = v.text(raw, max_length=NAME_MAX, required="Enter the category's name.")
    except v.Refused as exc:
        raise v.Refused({field: str(exc)}) from None
    same = select(Category.id).where(func.lower(Category.name) == clean.lower())
    if other is not None:
        same = same.where(Category.id != other.id)
    if session.scalar(same):
        raise v.Refused({field: f"{clean} is already in the list."})
    return clean


def add(session: Session, name: str) -> Category:
    """Add a category at the end of the list (a name already there, in any case, is
    refused)."""
    clean = _name(session, name, field="name")
    last = session.scalar(select(func.max(Category.position))) or 0
    category = Category(name=clean, position=last + 1)
    session.add(category)
    session.flush()
    return category


def rename(session: Session, category: Category, name: str) -> Category:
    """A new name; its leads and companies keep it (they hold its id)."""
    category.name = _name(session, name, field="name", other=category)
    session.flush()
    return category


def move(session: Session, category: Category, direction: int) -> None:
    """Swap the category with its neighbour (-1 up, +1 down); the ends stay put."""
    listed = ordered(session)
    index = listed.index(category)
    other = index + direction
    if not 0 <= other < len(listed):
        return
    # Positions may repeat after removals: number them all, then swap.
    for position, each in enumerate(listed, start=1):
        each.position = position
    category.position, listed[other].position = listed[other].position, category.position
    session.flush()


def remove(session: Session, category: Category) -> tuple[int, int]:
    """Remove the category from the list and from every lead and company that had it;
    returns how many leads and companies had it."""
    leads, companies = usage(session).get(category.id, (0, 0))
    session.execute(delete(LeadCategory).where(LeadCategory.category_id == category.id))
    session.execute(delete(CompanyCategory).where(CompanyCategory.category_id == category.id))
    session.delete(category)
    session.flush()
    return leads, companies


# --- Which categories a request names ----------------------------------------------------


def chosen_ids(values: Iterable[object]) -> list[int]:
    """The category ids a form, a queued capture or a URL names: each value may hold several,
    separated by commas; anything that cannot be an id is dropped, as are repeats. Whether
    each still exists is for the statement that uses them."""
    found: list[int] = []
    for value in values:
        for part in str(value if value is not None else "").split(","):
            ident = v.record_id(part)
            if ident is not None and ident not in found:
                found.append(ident)
    return found[:CHOSEN_MAX]


def existing_ids(session: Session, ids: Sequence[int]) -> list[int]:
    """Those of ``ids`` that name a category now, in the admin's order."""
    if not ids:
        return []
    return list(
        session.scalars(
            select(Category.id).where(Category.id.in_(ids)).order_by(Category.position, Category.id)
        )
    )


_NAME_SPLIT = re.compile(r"[;,]")


def split_names(value: str | None) -> list[str]:
    """Category names as a cell of a CSV or the API writes them: "Retail; North", or with
    commas; blanks dropped, white space folded, repeats (in any case) once."""
    names: list[str] = []
    for part in _NAME_SPLIT.split(value or ""):
        name = re.sub(r"\s+", " ", part).strip()[:NAME_MAX]
        if name and name.lower() not in {each.lower() for each in names}:
            names.append(name)
    return names


def by_names(session: Session, names: Sequence[str], *, create: bool = False) -> list[Category]:
    """The categories named (in any case). An unknown name is left out — or, with ``create``
    (an admin's import), added at the end of the list."""
    found: list[Category] = []
    if not names:
        return found
    lower = {name.lower() for name in names}
    known = {
        category.name.lower(): category
        for category in session.scalars(
            select(Category).where(func.lower(Category.name).in_(lower))
        )
    }
    for name in names:
        category = known.get(name.lower())
        if category is None and create and v.storable(name):
            category = known[name.lower()] = add(session, name)
        if category is not None and category not in found:
            found.append(category)
    return found


# --- A lead's and a company's categories --------------------------------------------------


def add_to_lead(session: Session, lead_id: int, ids: Sequence[int]) -> None:
    """Give the lead those of ``ids`` that exist (one INSERT … SELECT: an id removed since
    the phone loaded its list is skipped, never a refused capture)."""
    if not ids:
        return
    have = select(LeadCategory.category_id).where(LeadCategory.lead_id == lead_id)
    session.execute(
        insert(LeadCategory).from_select(
            ["lead_id", "category_id"],
            select(literal(lead_id), Category.id).where(
                Category.id.in_(ids), Category.id.not_in(have)
            ),
        )
    )


def set_lead_categories(session: Session, lead: Lead, ids: Sequence[int]) -> list[Category]:
    """The lead's categories become those of ``ids`` that exist; returns them."""
    session.execute(
        delete(LeadCategory).where(
            LeadCategory.lead_id == lead.id, LeadCategory.category_id.not_in(list(ids) or [0])
        )
    )
    add_to_lead(session, lead.id, ids)
    session.flush()
    session.expire(lead, ["categories"])
    return lead.categories


def carry_to_company(session: Session, lead: Lead, company: Company) -> list[int]:
    """At conversion: the company gets the lead's categories it does not have yet (tags:
    several per company), each marked as given by ``lead``. Returns the ids it got."""
    have = select(CompanyCategory.category_id).where(CompanyCategory.company_id == company.id)
    added = list(
        session.scalars(
            select(LeadCategory.category_id).where(
                LeadCategory.lead_id == lead.id, LeadCategory.category_id.not_in(have)
            )
        )
    )
    if added:
        session.execute(
            insert(CompanyCategory),
            [
                {"company_id": company.id, "category_id": ident, "lead_id": lead.id}
                for ident in added
            ],
        )
    return added


def uncarry_from_company(session: Session, lead: Lead, company_id: int) -> None:
    """Undoing a conversion into an existing company: it loses the categories that
    conversion gave it, and keeps those it had before."""
    session.execute(
        delete(CompanyCategory)
        .where(CompanyCategory.company_id == company_id, CompanyCategory.lead_id == lead.id)
        .execution_options(synchronize_session=False)
    )


def set_company_categories(
    session: Session, company: Company, ids: Sequence[int]
) -> list[Category]:
    """The company's categories become those of ``ids`` that exist; returns them."""
    session.execute(
        delete(CompanyCategory).where(
            CompanyCategory.company_id == company.id,
            CompanyCategory.category_id.not_in(list(ids) or [0]),
        )
    )
    existing = existing_ids(session, ids)
    have = set(
        session.scalars(
            select(CompanyCategory.category_id).where(CompanyCategory.company_id == company.id)
        )
    )
    rows = [{"company_id": company.id, "category_id": i} for i in existing if i not in have]
    if rows:
        session.execute(insert(CompanyCategory), rows)
    session.flush()
    session.expire(company, ["categories"])
    return company.categories


def lead_has(category_id: int):
    """The condition "the lead has this category": an EXISTS on lead_category's primary
    key (lead_id, category_id), an index look-up per lead."""
    return exists().where(LeadCategory.lead_id == Lead.id, LeadCategory.category_id == category_id)


def label(categories: Iterable[Category]) -> str:
    """ "Retail; North": how a CSV cell and a line of text show them."""
    return "; ".join(category.name for category in categories)


def names_column(link, owner_column, owner_id) -> ColumnElement[str]:
    """A record's categories as one text, "Retail; North" in the admin's order, for an
    export's column: ``link`` is lead_category or company_category, ``owner_column`` its
    column naming the record, ``owner_id`` the exported record's id. (Ordered in a derived
    table: SQLite before 3.44 has no ORDER BY inside an aggregate.)"""
    ordered_names = (
        select(Category.name.label("name"))
        .join(link, link.category_id == Category.id)
        .where(owner_column == owner_id)
        .order_by(Category.position, Category.id)
        .correlate(owner_id.table)
        .subquery()
    )
    return select(func.aggregate_strings(ordered_names.c.name, "; ")).scalar_subquery()


def lead_names():
    """``names_column`` of the exported lead."""
    return names_column(LeadCategory, LeadCategory.lead_id, Lead.id)


def company_names():
    """``names_column`` of the exported company."""
    return names_column(CompanyCategory, CompanyCategory.company_id, Company.id)
