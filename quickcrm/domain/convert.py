"""Converting a lead into company + contact + opportunity: one transaction, once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from quickcrm.domain import attachments, matching
from quickcrm.domain import validation as v
from quickcrm.domain.stages import ordered_stages
from quickcrm.models import Activity, Company, Contact, Lead, Opportunity, Stage, User, utcnow

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


class AlreadyConverted(Exception):
    """The lead is no longer open: someone converted (or disqualified) it first."""

    def __init__(self, lead: Lead):
        super().__init__(f"{lead.name} was already {lead.status}.")
        self.lead = lead


@dataclass
class ConvertForm:
    raw: dict[str, str]
    values: dict[str, object] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, str]) -> ConvertForm:
        return cls(raw={name: (data.get(name) or "").strip() for name in FIELDS})

    @classmethod
    def initial(cls, session: Session, lead: Lead, suggested: list[Company], today: date):
        """The form as first shown: the best suggestion (or a new company) and a new contact."""
        first = ordered_stages(session)[0]
        title = f"{lead.company_name or lead.name}"
        return cls(
            raw={
                "company": str(suggested[0].id) if suggested else "new",
                "company_name": lead.company_name or lead.name,
                "contact": "new",
                "contact_name": lead.name,
                "contact_email": lead.email or "",
                "contact_phone": lead.phone or "",
                "create_opportunity": "on",
                "opportunity_title": title,
                "value": "",
                "stage_id": str(first.id),
                "probability": str(first.probability),
                "close_on": (today + CLOSE_AFTER).isoformat(),
            }
        )

    @property
    def ok(self) -> bool:
        return not self.errors

    def clean(self, session: Session, *, phone_region: str | None) -> ConvertForm:
        raw, values = self.raw, self.values
        self._company(session)
        self._contact(session, phone_region)
        values["create_opportunity"] = raw["create_opportunity"] in ("on", "1", "true", "yes")
        if values["create_opportunity"]:
            self._opportunity(session)
        return self

    def _check(self, name: str, check) -> None:
        try:
            self.values[name] = check(self.raw[name])
        except v.Invalid as exc:
            self.errors[name] = str(exc)

    def _company(self, session: Session) -> None:
        choice = self.raw["company"]
        if choice == "new":
            self.values["company"] = None
            self._check(
                "company_name",
                lambda s: v.text(s, max_length=200, required="Enter the company's name."),
            )
            return
        company = _get(session, Company, choice)
        if company is None or company.merged_into_id is not None:
            self.errors["company"] = "Choose a company from the list, or New company."
        self.values["company"] = company

    def _contact(self, session: Session, region: str | None) -> None:
        choice = self.raw["contact"]
        if choice == "new":
            self.values["contact"] = None
            self._check(
                "contact_name",
                lambda s: v.text(s, max_length=200, required="Enter the contact's name."),
            )
            self._check("contact_email", v.email)
            self._check("contact_phone", lambda s: v.phone(s, region))
            return
        contact = _get(session, Contact, choice)
        company = self.values.get("company")
        if contact is None or company is None or contact.company_id != company.id:
            self.errors["contact"] = "Choose a contact at the chosen company, or New contact."
        self.values["contact"] = contact

    def _opportunity(self, session: Session) -> None:
        self._check(
            "opportunity_title",
            lambda s: v.text(s, max_length=200, required="Enter a title for the opportunity."),
        )
        self._check("value", _money)
        raw_stage = self.raw["stage_id"]
        stage = _get(session, Stage, raw_stage)
        if stage is None:
            self.errors["stage_id"] = "Choose a stage."
        self.values["stage"] = stage
        self._check("probability", _percent)
        self._check("close_on", _date)


def _money(value: str) -> Decimal:
    return v.money(value)


def _percent(value: str) -> int:
    return v.percentage(value, "Enter a whole number from 0 to 100.")


def _date(value: str) -> date | None:
    return v.day(value)


def _get(session: Session, model, raw: str):
    """The ``model`` row whose id is typed in ``raw``, or ``None``."""
    ident = v.record_id(raw)
    return session.get(model, ident) if ident is not None else None


@dataclass
class Conversion:
    lead: Lead
    company: Company
    contact: Contact
    opportunity: Opportunity | None


def convert_lead(
    session: Session, lead: Lead, user: User, form: ConvertForm, *, phone_region: str | None
) -> Conversion:
    """Convert ``lead`` as ``form`` says, in one transaction. The first statement claims the
    lead (open → converted); if another conversion claimed it first, nothing is created and
    ``AlreadyConverted`` is raised."""
    assert form.ok, "convert_lead needs a cleaned form without errors"
    session.commit()  # end any read transaction: the claim below must open the write one
    claimed = session.execute(
        update(Lead)
        .where(Lead.id == lead.id, Lead.status == "open")
        .values(status="converted", converted_at=utcnow(), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        session.rollback()
        session.refresh(lead)
        raise AlreadyConverted(lead)
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
    _move_timeline(session, lead, company, contact, opportunity)
    attachments.carry_to_contact(session, lead, contact)
    session.execute(
        update(Lead)
        .where(Lead.id == lead.id)
        .values(
            company_id=company.id,
            contact_id=contact.id,
            opportunity_id=opportunity and opportunity.id,
        )
        .execution_options(synchronize_session=False)
    )
    return Conversion(lead, company, contact, opportunity)


def _fill_gaps(company: Company, contact: Contact, lead: Lead, region: str | None) -> None:
    """An existing contact (and its company) learn what the lead knows that they do not: an
    empty email or phone is filled from the lead; nothing they already have is overwritten."""
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
