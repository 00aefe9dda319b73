"""Converting a lead into company + contact + opportunity: one transaction, once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from quickcrm.domain import attachments, categories, matching
from quickcrm.domain import validation as v
from quickcrm.domain.money import typed
from quickcrm.domain.stages import ordered_stages
from quickcrm.domain.transactions import owns_transaction
from quickcrm.models import (
    Activity,
    Attachment,
    Company,
    Contact,
    Lead,
    Opportunity,
    SnapshotOpportunity,
    Stage,
    User,
    utcnow,
)

CLOSE_AFTER = timedelta(days=30)

FIELDS = (
    "company",
    "company_name",
    "contact",
    "contact_name",
    "contact_email",
    "contact_phone",
    "create_opportunity",
    "opportunity_title",
    "value",
    "stage_id",
    "probability",
    "close_on",
)


@dataclass
class ConvertForm(v.Form):
    """The convert screen: ``ConvertForm.clean(session, raw, phone_region=)``."""

    FIELDS = FIELDS

    @classmethod
    def initial(cls, session: Session, lead: Lead, suggested: list[Company], today: date):
        """The form as first shown: the best suggestion (or a new company) and a new contact."""
        first = ordered_stages(session)[0]
        title = f"{lead.company_name or lead.name}"
        # A business lead (its name is the business, its contact name the person to ask
        # for): the new contact is that person; the company is named by the lead's company
        # name, else by the lead's own name — a business either way.
        value = typed(lead.potential_value) if lead.potential_value else ""  # 0 is no deal
        return cls(
            raw={
                "company": str(suggested[0].id) if suggested else "new",
                "company_name": lead.company_name or lead.name,
                "contact": "new",
                "contact_name": lead.contact_name or lead.name,
                "contact_email": lead.email or "",
                "contact_phone": lead.phone or "",
                # No opportunity unless asked for (or a value is typed): an unqualified
                # deal of 0 is the forecast junk QuickCRM exists to prevent. The rep's
                # potential value (issue 29) is that value, typed at capture: it is the
                # opportunity's, ticked, for the coordinator to keep or clear.
                "create_opportunity": "on" if value else "",
                "opportunity_title": title,
                "value": value,
                "stage_id": str(first.id),
                "probability": str(first.probability),
                "close_on": (today + CLOSE_AFTER).isoformat(),
            }
        )

    def validate(self, session: Session, *, phone_region: str | None) -> None:
        raw, values = self.raw, self.values
        self._company(session)
        self._contact(session, phone_region)
        ticked = raw["create_opportunity"] in ("on", "1", "true", "yes")
        values["create_opportunity"] = ticked or bool(raw["value"])
        if values["create_opportunity"]:
            self._opportunity(session)

    def _company(self, session: Session) -> None:
        choice = self.raw["company"]
        if choice == "new":
            self.values["company"] = None
            self.check(
                "company_name",
                lambda s: v.text(s, max_length=200, required="Enter the company's name."),
            )
            return
        company = v.chosen(session, Company, choice)
        if company is None or company.merged_into_id is not None:
            self.errors["company"] = "Choose a company from the list, or New company."
        self.values["company"] = company

    def _contact(self, session: Session, region: str | None) -> None:
        choice = self.raw["contact"]
        if choice == "new":
            self.values["contact"] = None
            self.check(
                "contact_name",
                lambda s: v.text(s, max_length=200, required="Enter the contact's name."),
            )
            self.check("contact_email", v.email)
            self.check("contact_phone", lambda s: v.phone(s, region))
            return
        contact = v.chosen(session, Contact, choice)
        company = self.values.get("company")
        if contact is None or company is None or contact.company_id != company.id:
            self.errors["contact"] = "Choose a contact at the chosen company, or New contact."
        self.values["contact"] = contact

    def _opportunity(self, session: Session) -> None:
        self.check(
            "opportunity_title",
            lambda s: v.text(s, max_length=200, required="Enter a title for the opportunity."),
        )
        self.check("value", v.money)
        raw_stage = self.raw["stage_id"]
        stage = v.chosen(session, Stage, raw_stage)
        if stage is None:
            self.errors["stage_id"] = "Choose a stage."
        self.values["stage"] = stage
        self.check("probability", _percent)
        self.check("close_on", _date)


def _percent(value: str) -> int:
    return v.percentage(value, "Enter a whole number from 0 to 100.")


def _date(value: str) -> date | None:
    return v.day(value)


@dataclass
class Conversion:
    lead: Lead
    company: Company
    contact: Contact
    opportunity: Opportunity | None


@owns_transaction("the claim: one conditional UPDATE, so a lead is converted once")
def convert_lead(
    session: Session, lead: Lead, user: User, form: ConvertForm, *, phone_region: str | None
) -> Conversion:
    """Convert ``lead`` as ``form`` says, in one transaction. The first statement claims the
    lead (open → converted); if another conversion claimed it first (or it was
    disqualified), nothing is created and ``validation.Conflict`` is raised. Nothing
    before the claim is committed on its own: what the caller wrote first shares the
    conversion's fate."""
    assert form.ok, "convert_lead needs a cleaned form without errors"
    claimed = session.execute(
        update(Lead)
        .where(Lead.id == lead.id, Lead.status == "open")
        .values(
            status="converted", converted_at=utcnow(), updated_at=utcnow(), converted_by_id=user.id
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        session.rollback()
        session.refresh(lead)
        raise v.Conflict(f"{lead.name} was already {lead.status}.")
    try:
        conversion = _create(session, lead, form, phone_region)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    session.refresh(lead)
    return conversion


def _create(session, lead, form, region) -> Conversion:
    values = form.values
    company = values["company"]
    if company is None:
        company = Company(
            name=values["company_name"],
            email_domain=matching.email_domain(values.get("contact_email") or lead.email),
            phone=values.get("contact_phone") if lead.company_name else None,
            address=lead.address,
            owner_id=lead.owner_id,
        )
        matching.company_keys(company, region)
        session.add(company)
    contact = values["contact"]
    if contact is None:
        contact = Contact(
            company=company,
            name=values["contact_name"],
            email=values["contact_email"],
            phone=values["contact_phone"],
            owner_id=lead.owner_id,
        )
        matching.contact_keys(contact, region)
        session.add(contact)
    else:
        _fill_gaps(company, contact, lead, region)
    if not company.address and lead.address:  # an existing company without one learns it
        company.address = lead.address
    opportunity = None
    if values["create_opportunity"]:
        stage = values["stage"]
        opportunity = Opportunity(
            company=company,
            contact=contact,
            title=values["opportunity_title"],
            value=values["value"],
            stage=stage,
            probability=values["probability"],
            probability_manual=values["probability"] != stage.probability,
            close_on=values["close_on"],
            owner_id=lead.owner_id,
            outcome=stage.outcome,
        )
        session.add(opportunity)
    session.flush()
    # The lead's categories become the company's tags (several per company, where its
    # segment is one: docs/domain.md, "Categories").
    categories.carry_to_company(session, lead, company)
    _move_timeline(session, lead, company, contact, opportunity)
    attachments.carry_to_contact(session, lead, contact)
    session.execute(
        update(Lead)
        .where(Lead.id == lead.id)
        .values(
            company_id=company.id,
            contact_id=contact.id,
            opportunity_id=opportunity and opportunity.id,
            created_company=values["company"] is None,
            created_contact=values["contact"] is None,
        )
        .execution_options(synchronize_session=False)
    )
    return Conversion(lead, company, contact, opportunity)


def _fill_gaps(company: Company, contact: Contact, lead: Lead, region: str | None) -> None:
    """An existing contact (and its company) learn what the lead knows that they do not: an
    empty email or phone is filled from the lead; nothing they already have is overwritten
    (the company's empty address too, by ``_create``, whichever the contact)."""
    if not contact.email and lead.email:
        contact.email = lead.email
    if not contact.phone and lead.phone:
        contact.phone = lead.phone
        matching.contact_keys(contact, region)
    if not company.email_domain:
        company.email_domain = matching.email_domain(lead.email)


def _move_timeline(session, lead, company, contact, opportunity) -> None:
    """The lead's activities (and its capture note) join the new records' timelines; they
    keep their lead link, so the lead page still shows them."""
    if lead.note:
        session.add(Activity(kind="note", text=lead.note, author_id=lead.owner_id, lead_id=lead.id))
        session.flush()
    for activity in session.scalars(select(Activity).where(Activity.lead_id == lead.id)):
        activity.company_id = company.id
        activity.contact_id = contact.id
        if opportunity is not None and (activity.kind == "task" and not activity.done):
            activity.opportunity_id = opportunity.id


# --- undoing a conversion (docs/pipeline.md, "Undo a conversion") --------------------------

UNDO_WINDOW = timedelta(hours=24)


def _added_since(session: Session, lead: Lead) -> list[str]:
    """What was added to (or changed on) the records the conversion made since, and by
    whom — each a reason the conversion can no longer be undone."""
    found: list[str] = []
    others = select(Activity).where(Activity.lead_id.is_(None) | (Activity.lead_id != lead.id))
    links = []
    if lead.created_company:
        links.append(Activity.company_id == lead.company_id)
    if lead.created_contact:
        links.append(Activity.contact_id == lead.contact_id)
    if lead.opportunity_id:
        links.append(Activity.opportunity_id == lead.opportunity_id)
    if links:
        for activity in session.scalars(others.where(or_(*links)).order_by(Activity.id)):
            found.append(f"a {activity.kind} by {activity.author.name}")
    if lead.created_company:
        contacts = session.scalars(
            select(Contact.name).where(
                Contact.company_id == lead.company_id, Contact.id != lead.contact_id
            )
        )
        found += [f"the contact {name}" for name in contacts]
        deals = select(Opportunity.title).where(Opportunity.company_id == lead.company_id)
        if lead.opportunity_id:
            deals = deals.where(Opportunity.id != lead.opportunity_id)
        found += [f"the opportunity “{title}”" for title in session.scalars(deals)]
        converted = select(Lead.name).where(Lead.company_id == lead.company_id, Lead.id != lead.id)
        found += [f"the converted lead {name}" for name in session.scalars(converted)]
    if lead.created_contact:
        converted = select(Lead.name).where(Lead.contact_id == lead.contact_id, Lead.id != lead.id)
        if lead.created_company:  # already named above, as leads of the company
            converted = converted.where(Lead.company_id != lead.company_id)
        found += [f"the converted lead {name}" for name in session.scalars(converted)]
        deals = select(Opportunity.title).where(Opportunity.contact_id == lead.contact_id)
        if lead.opportunity_id:
            deals = deals.where(Opportunity.id != lead.opportunity_id)
        found += [f"the opportunity “{title}”" for title in session.scalars(deals)]
    if lead.opportunity_id:
        deal = session.get(Opportunity, lead.opportunity_id)
        if deal is not None and deal.updated_at - deal.created_at > EDIT_TOLERANCE:
            found.append(f"changes to the opportunity “{deal.title}”")
    return found


# Rows the conversion writes get their updated_at a moment after created_at: later means an edit.
EDIT_TOLERANCE = timedelta(seconds=2)


def undo_refusal(
    session: Session, lead: Lead, user: User, now: datetime | None = None
) -> str | None:
    """Why ``user`` may not undo the conversion of ``lead`` now, or ``None`` if they may."""
    now = now or utcnow()
    if lead.status != "converted" or lead.converted_at is None:
        return f"{lead.name} is not converted."
    if now - lead.converted_at > UNDO_WINDOW:
        return "A conversion can be undone for 24 hours only."
    if not (user.can("admin") or (user.can("coordinator") and lead.converted_by_id == user.id)):
        return "Only the coordinator who converted it, or an admin, can undo it."
    added = _added_since(session, lead)
    if added:
        return "Added since the conversion: " + "; ".join(added) + "."
    return None


@owns_transaction("the claim: one conditional UPDATE, so a conversion is undone once")
def undo_conversion(session: Session, lead: Lead, user: User, now: datetime | None = None) -> None:
    """Make the lead open again with its activities back and remove the records the
    conversion created, in one transaction; raises ``validation.Conflict`` with the reason."""
    refusal = undo_refusal(session, lead, user, now)
    if refusal:
        raise v.Conflict(refusal)
    company_id, contact_id, opportunity_id = lead.company_id, lead.contact_id, lead.opportunity_id
    created_company, created_contact = lead.created_company, lead.created_contact
    converted_at = lead.converted_at
    try:
        claimed = session.execute(
            update(Lead)
            .where(Lead.id == lead.id, Lead.status == "converted")
            .values(
                status="open",
                converted_at=None,
                converted_by_id=None,
                company_id=None,
                contact_id=None,
                opportunity_id=None,
                created_company=False,
                created_contact=False,
                updated_at=utcnow(),
            )  # fmt: skip
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            raise v.Conflict(f"{lead.name} is not converted any more.")
        # The note the conversion copied from the lead goes; the rest lose their new links.
        session.execute(
            delete(Activity)
            .where(Activity.lead_id == lead.id, Activity.created_at >= converted_at)
            .where(Activity.kind == "note")
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Activity)
            .where(Activity.lead_id == lead.id)
            .values(company_id=None, contact_id=None, opportunity_id=None)
            .execution_options(synchronize_session=False)
        )
        # Card photos and voice notes go back to the lead alone: on a contact every rep may
        # open them (attachments.may_see), and a contact the undo removes must not hold them.
        session.execute(
            update(Attachment)
            .where(Attachment.lead_id == lead.id)
            .values(contact_id=None)
            .execution_options(synchronize_session=False)
        )
        if opportunity_id:
            session.execute(
                delete(SnapshotOpportunity).where(
                    SnapshotOpportunity.opportunity_id == opportunity_id
                )
            )
            session.execute(delete(Opportunity).where(Opportunity.id == opportunity_id))
        if not created_company and company_id:
            categories.uncarry_from_company(session, lead, company_id)
        if created_contact:
            session.execute(delete(Contact).where(Contact.id == contact_id))
        if created_company:
            session.execute(delete(Company).where(Company.id == company_id))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    session.expire_all()
