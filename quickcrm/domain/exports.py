"""CSV exports of leads, companies, contacts, opportunities and activities.

Each export is the statement of the list it comes from (same filters, same visibility, same
order, without the list's page limit) reduced to readable columns, written as CSV that
Excel and LibreOffice open as they are: UTF-8 with a byte order mark, a header row, ISO
dates (a day as the team wrote it: a next action, a close date), and every moment in UTC as
ISO 8601 with a ``Z`` (``2026-12-05T22:00:00Z``), its header saying so ("Captured at
(UTC)"). Rows are read in batches through a
server-side cursor and sent as they are written, so 100,000 rows are never in memory.

A cell a person typed that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return gets a leading ``'``: a spreadsheet would otherwise run it as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Numeric, Select, cast, select
from sqlalchemy.orm import Session, aliased

from quickcrm.domain import categories, companies, leads, opportunities
from quickcrm.domain.money import weighted
from quickcrm.domain.team import MONDAY, UTC_ZONE
from quickcrm.models import Activity, Company, Contact, Lead, Opportunity, Stage, User

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BATCH = 1000
MONEY = Numeric(14, 2)


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet shows it without running it: a leading ``'`` when it starts
    like a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value: object) -> str:
    """One value as a CSV cell. Numbers stay numbers (a negative one is not a formula);
    only text someone typed can be one."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, int | float):
        return repr(value)
    return neutralise(str(value))


@dataclass(frozen=True)
class Export:
    """What an export sends: its name (in the file name), headers and rows' statement."""

    name: str
    headers: tuple[str, ...]
    statement: Select

    def filename(self, today: date) -> str:
        return f"quickcrm-{self.name}-{today.isoformat()}.csv"


def _export(name: str, statement: Select, columns: Sequence[tuple[str, ColumnElement]]) -> Export:
    headers = tuple(header for header, _ in columns)
    return Export(name, headers, statement.with_only_columns(*(c for _, c in columns)))


def stream(session: Session, export: Export, batch: int = BATCH) -> Iterator[bytes]:
    """The export as UTF-8 CSV chunks: the BOM and header row as soon as the statement
    runs (a refused statement raises before anything is sent), then one chunk per
    ``batch`` rows read through a server-side cursor."""
    result = session.execute(export.statement.execution_options(yield_per=batch))
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def take() -> bytes:
        chunk = buffer.getvalue().encode("utf-8", errors="replace")
        buffer.seek(0)
        buffer.truncate()
        return chunk

    buffer.write(BOM)
    writer.writerow(export.headers)
    try:
        yield take()
        for rows in result.partitions():
            writer.writerows([cell(value) for value in row] for row in rows)
            yield take()
    finally:
        result.close()


def _people(*users: tuple[str, type[User]]) -> list[tuple[str, ColumnElement]]:
    """The name and email columns of each (label, aliased user)."""
    return [
        column
        for label, user in users
        for column in ((label, user.name), (f"{label} email", user.email))
    ]


def lead_export(
    session: Session,
    query: leads.LeadQuery,
    viewer: User,
    *,
    today: date,
    zone: ZoneInfo = UTC_ZONE,
    week_start: int = MONDAY,
) -> Export:
    """The leads list's leads for ``viewer`` (a rep sees their own) with its filters, read
    in the viewer's days as the list reads them."""
    owner = aliased(User)
    columns = [
        ("ID", Lead.id),
        ("Name", Lead.name),
        ("Company", Lead.company_name),
        ("Contact name", Lead.contact_name),  # issue 29
        ("Email", Lead.email),
        ("Phone", Lead.phone),
        ("Address", Lead.address),  # issue 29
        ("Potential value", Lead.potential_value),  # issue 29
        ("Temperature", Lead.temperature),
        ("Status", Lead.status),
        ("Disqualified because", Lead.disqualified_reason),
        ("Source", Lead.source),
        ("Categories", categories.lead_names()),
        ("Note", Lead.note),
        ("Next action date", Lead.next_action_on),
        *_people(("Owner", owner)),
        ("Captured at (UTC)", Lead.captured_at),
        ("Converted at (UTC)", Lead.converted_at),
        ("Created at (UTC)", Lead.created_at),
        ("Updated at (UTC)", Lead.updated_at),
    ]
    statement = leads.listed(session, query, viewer, today=today, zone=zone, week_start=week_start)
    return _export("leads", statement.join_from(Lead, owner, Lead.owner_id == owner.id), columns)


def company_export(query: companies.CompanyQuery) -> Export:
    """The companies list's companies for its search and filters."""
    owner = aliased(User)
    columns = [
        ("ID", Company.id),
        ("Name", Company.name),
        ("Type", Company.type),
        ("Rating", Company.rating),
        ("Industry", Company.industry),
        ("Website", Company.website),
        ("Phone", Company.phone),
        ("Address", Company.address),
        ("Categories", categories.company_names()),
        *_people(("Owner", owner)),
        ("Created at (UTC)", Company.created_at),
        ("Updated at (UTC)", Company.updated_at),
    ]
    statement = companies.companies_found(query).outerjoin_from(
        Company, owner, Company.owner_id == owner.id
    )
    return _export("companies", statement, columns)


def contact_export(query: companies.ContactQuery) -> Export:
    """The contacts list's contacts for its search. Not by company: *Export CSV* is offered
    on the list of every contact, not on a company's."""
    owner = aliased(User)
    columns = [
        ("ID", Contact.id),
        ("Name", Contact.name),
        ("Title", Contact.title),
        ("Company", Company.name),
        ("Email", Contact.email),
        ("Phone", Contact.phone),
        *_people(("Owner", owner)),
        ("Created at (UTC)", Contact.created_at),
        ("Updated at (UTC)", Contact.updated_at),
    ]
    statement = (
        companies.contacts_found(query.q, sort=query.sort)
        .outerjoin_from(Contact, Company, Contact.company_id == Company.id)
        .outerjoin_from(Contact, owner, Contact.owner_id == owner.id)
    )
    return _export("contacts", statement, columns)


def opportunity_export(query: opportunities.OpportunityQuery) -> Export:
    """The opportunities list's opportunities with its filters."""
    owner = aliased(User)
    columns = [
        ("ID", Opportunity.id),
        ("Title", Opportunity.title),
        ("Company", Company.name),
        ("Contact", Contact.name),
        ("Value", Opportunity.value),
        ("Stage", Stage.name),
        ("Probability %", Opportunity.probability),
        (
            "Weighted value",
            cast(weighted(Opportunity.value, Opportunity.probability), MONEY),
        ),
        ("Close date", Opportunity.close_on),
        ("Outcome", Opportunity.outcome),
        ("Lost reason", Opportunity.lost_reason),
        *_people(("Owner", owner)),
        ("Closed at (UTC)", Opportunity.closed_at),
        ("Created at (UTC)", Opportunity.created_at),
        ("Updated at (UTC)", Opportunity.updated_at),
    ]
    statement = (
        opportunities.opportunities_filtered(query)
        .join_from(Opportunity, Company, Opportunity.company_id == Company.id)
        .join_from(Opportunity, Stage, Opportunity.stage_id == Stage.id)
        .outerjoin_from(Opportunity, Contact, Opportunity.contact_id == Contact.id)
        .outerjoin_from(Opportunity, owner, Opportunity.owner_id == owner.id)
    )
    return _export("opportunities", statement, columns)


def activity_export() -> Export:
    """Every activity, oldest first, with what it is on and who wrote it (admins only)."""
    author, assignee = aliased(User), aliased(User)
    lead, company, contact, opportunity = (
        aliased(Lead),
        aliased(Company),
        aliased(Contact),
        aliased(Opportunity),
    )
    columns = [
        ("ID", Activity.id),
        ("Kind", Activity.kind),
        ("Text", Activity.text),
        ("Due date", Activity.due_on),
        ("Done", Activity.done),
        ("Done at (UTC)", Activity.done_at),
        ("Repeats every", Activity.repeat_every),
        ("Repeat unit", Activity.repeat_unit),
        ("Lead", lead.name),
        ("Company", company.name),
        ("Contact", contact.name),
        ("Opportunity", opportunity.title),
        *_people(("Author", author), ("Assignee", assignee)),
        ("Created at (UTC)", Activity.created_at),
    ]
    statement = (
        select(Activity)
        .join_from(Activity, author, Activity.author_id == author.id)
        .outerjoin_from(Activity, assignee, Activity.assignee_id == assignee.id)
        .outerjoin_from(Activity, lead, Activity.lead_id == lead.id)
        .outerjoin_from(Activity, company, Activity.company_id == company.id)
        .outerjoin_from(Activity, contact, Activity.contact_id == contact.id)
        .outerjoin_from(Activity, opportunity, Activity.opportunity_id == opportunity.id)
        .order_by(Activity.id)
    )
    return _export("activities", statement, columns)
