"""The whole data model of docs/domain.md: users, leads, companies, contacts,
opportunities, stages and activities."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal

from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    event,
    false,
    func,
    inspect,
    select,
    true,
    update,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    MappedColumn,
    Session,
    mapped_column,
    relationship,
)

from quickcrm.domain.keys import EMAIL_KEY_MAX, PERSON_KEY_MAX, email_key, person_key, phone_tail
from quickcrm.domain.sorting import SORT_KEY_MAX, sort_key

ROLES = ("rep", "coordinator", "admin")
TEMPERATURES = ("cold", "warm", "hot")
LEAD_STATUSES = ("open", "converted", "disqualified")
COMPANY_TYPES = ("prospect", "customer", "partner", "supplier", "reseller", "other")
COMPANY_RATINGS = ("A", "B", "C")
OUTCOMES = ("open", "won", "lost")
ACTIVITY_KINDS = ("note", "call", "email", "meeting", "task")
ATTACHMENT_KINDS = ("card_photo", "voice_note")
REPEAT_UNITS = ("day", "week", "month")
JOB_RESULTS = ("ok", "failed")
REMINDER_KINDS = ("email", "push", "digest")
REMINDER_STATUSES = ("sending", "sent", "failed", "skipped")
# The morning list's default: 07:30 on the user's clock, Monday to Friday (ISO weekdays).
REMINDER_AT = time(7, 30)
WORKING_DAYS = "12345"

# Constraint names that are the same on SQLite and PostgreSQL, so migrations can name them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A moment in time, stored with its time zone and always read back as UTC-aware
    (SQLite would hand back naive datetimes)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None


def _one_of(column: str, values: tuple[str, ...], nullable: bool = False) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    test = f"{column} IN ({allowed})"
    if nullable:
        test = f"{column} IS NULL OR {test}"
    return CheckConstraint(test, name=column)


def _sort_key_of_name(context) -> str:
    return sort_key(context.get_current_parameters().get("name"))


def name_sort_column() -> MappedColumn[str]:
    """A ``name_sort`` column: the record's name as lists sorted by name compare it
    (quickcrm/domain/sorting.py). An object gets it whenever its name is set (``_sort_keys``
    below), a row inserted from a dict (``insert(Company)``) from its ``name``. The bulk
    inserts that bypass both carry it: an import's rows (quickcrm/domain/imports/run.py),
    a restore's (the backup has the column). An UPDATE that sets a name sets it too."""
    return mapped_column(String(SORT_KEY_MAX), default=_sort_key_of_name, server_default="")


def key_column(type_, source: str, key, server_default: str | None = None) -> MappedColumn:
    """A matching key of the ``source`` column (quickcrm/domain/keys.py), indexed: a row
    inserted from a dict gets it from its ``source`` value; an object whenever ``source``
    is set (``_matching_keys`` below). Bulk inserts that bypass both carry it themselves."""

    def default(context):
        return key(context.get_current_parameters().get(source))

    return mapped_column(
        type_, default=default, server_default=server_default, index=True,
        nullable=server_default is None,
    )  # fmt: skip


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class User(UserMixin, Timestamped, Base):
    __tablename__ = "user"
    __table_args__ = (_one_of("role", ROLES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    name_sort: Mapped[str] = name_sort_column()
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="rep")
    active: Mapped[bool] = mapped_column(default=True)
    # Secret of the user's iCal feed of follow-ups; regenerated to revoke.
    ical_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Part of the id every session and "stay signed in" cookie carries: raising it (signing
    # out, a new password, deactivation) ends all of them at once.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    # Two-step sign-in (quickcrm/domain/two_step.py): the TOTP secret (base32), set once the
    # user confirmed a code from their app; the last time step a code was used at (each code
    # works once).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # The IANA zone this user's "today" and times are in, for a rep who travels; None: the
    # team's (quickcrm/domain/team.py).
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # Reminders (quickcrm/domain/reminders.py, Account → Reminders): the morning list by
    # email, at ``reminder_at`` on the user's clock on the ISO weekdays of ``reminder_days``
    # ("12345": Monday to Friday); a push notification at the same time on each phone
    # subscribed (``PushSubscription``), and a nudge at a timed follow-up's time if asked;
    # for a coordinator, Monday's digest of the week.
    reminder_email: Mapped[bool] = mapped_column(default=True, server_default=true())
    reminder_at: Mapped[time] = mapped_column(
        Time(), default=REMINDER_AT, server_default="07:30:00"
    )
    reminder_days: Mapped[str] = mapped_column(
        String(7), default=WORKING_DAYS, server_default=WORKING_DAYS
    )
    push_nudge: Mapped[bool] = mapped_column(default=False, server_default=false())
    digest: Mapped[bool] = mapped_column(default=False, server_default=false())

    @property
    def is_active(self) -> bool:  # flask-login: deactivated users cannot sign in
        return self.active

    def get_id(self) -> str:
        """What flask-login keeps in the session and the remember cookie: "id:version"."""
        return f"{self.id}:{self.session_version}"

    def can(self, role: str) -> bool:
        """True when this user's role is ``role`` or above it (rep < coordinator < admin)."""
        return ROLES.index(self.role) >= ROLES.index(role)


class Lead(Timestamped, Base):
    """An unqualified prospect: a scrap of information. Only the name is required."""

    __tablename__ = "lead"
    __table_args__ = (
        _one_of("temperature", TEMPERATURES, nullable=True),
        _one_of("status", LEAD_STATUSES),
        # PostgreSQL's CHECK; on SQLite a trigger does the same (revision 0015).
        CheckConstraint(
            "status <> 'disqualified'"
            " OR (disqualified_reason IS NOT NULL AND disqualified_reason <> '')",
            name="disqualified_reason",
        ),
        Index("ix_lead_owner_created", "owner_id", "created_at"),
        Index("ix_lead_status_captured", "status", "captured_at", "id"),
        # Leads of any status in capture order (the export of every lead, revision 0013).
        Index("ix_lead_captured", "captured_at", "id"),
        Index("ix_lead_owner_captured", "owner_id", "captured_at", "id"),
        Index("ix_lead_source", "source"),
        Index("ix_lead_status_next_action", "status", "next_action_on", "id"),
        Index("ix_lead_next_action", "next_action_on", "id"),
        Index("ix_lead_status_name_sort", "status", "name_sort", "id"),
        # The forecast's cohort counts from this index alone (quickcrm/domain/forecast.py).
        Index(
            "ix_lead_owner_source_status_captured", "owner_id", "source", "status", "captured_at"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Made by the client (the phone) or the server: the idempotency key of a capture.
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    name_sort: Mapped[str] = name_sort_column()
    company_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    temperature: Mapped[str | None] = mapped_column(String(10))
    source: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), default="open")
    disqualified_reason: Mapped[str | None] = mapped_column(String(200))
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    # When the rep captured it on the phone (may be earlier than created_at when synced later).
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("opportunity.id"), index=True)
    # The due date of the lead's next action (its earliest open activity with a due date),
    # kept in step with the activities by ``_keep_next_action_dates`` below, so the leads
    # list can sort, filter and page on it with an index.
    next_action_on: Mapped[date | None] = mapped_column(Date)
    # What a conversion did, so it can be undone (quickcrm/domain/convert.py): who converted,
    # and whether the company and the contact were made by it (or were existing ones).
    converted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_company: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_contact: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Filled from a card photo the rep has not looked at yet (read at sync): "from a card —
    # check" until someone marks it checked.
    from_card: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The CSV import that created it (undoing the import removes it); ``None`` otherwise.
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import.id"), index=True)
    # The optional fields behind *More* (revision 0026): the person to ask for when the lead
    # is a business, where it is, and the size of the sale (the team's currency).
    contact_name: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(Text)
    potential_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    # What duplicate matching compares (quickcrm/domain/keys.py), kept in step with the
    # name, email and phone by the listeners below and the columns' defaults.
    name_key: Mapped[str] = key_column(String(PERSON_KEY_MAX), "name", person_key, "")
    email_key: Mapped[str | None] = key_column(String(EMAIL_KEY_MAX), "email", email_key)
    phone_tail: Mapped[str | None] = key_column(String(20), "phone", phone_tail)
    # Set when merged into another lead (quickcrm/domain/merge.py): the lead kept.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("lead.id"), index=True)

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    converted_by: Mapped[User | None] = relationship(foreign_keys=[converted_by_id])
    activities: Mapped[list[Activity]] = relationship(
        back_populates="lead", cascade="all, delete-orphan", passive_deletes=True
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="lead",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Attachment.id",
    )
    categories: Mapped[list[Category]] = relationship(
        secondary="lead_category", order_by="Category.position"
    )


class Company(Timestamped, Base):
    """An organisation or individual customer we have a relationship with."""

    __tablename__ = "company"
    __table_args__ = (
        _one_of("type", COMPANY_TYPES),
        _one_of("rating", COMPANY_RATINGS, nullable=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_sort: Mapped[str] = name_sort_column()
    # Lower-cased, punctuation and legal suffixes removed: what duplicate matching compares.
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    type: Mapped[str] = mapped_column(String(20), default="prospect")
    rating: Mapped[str | None] = mapped_column(String(1))
    industry: Mapped[str | None] = mapped_column(String(120))
    website: Mapped[str | None] = mapped_column(String(255))
    email_domain: Mapped[str | None] = mapped_column(String(255), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    phone_key: Mapped[str | None] = mapped_column(String(40), index=True)
    address: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    # Set when merged into another company: the survivor.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"))
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segment.id"), index=True)
    # The CSV import that created it (undoing the import removes it); ``None`` otherwise.
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import.id"), index=True)

    owner: Mapped[User | None] = relationship()
    segment: Mapped[Segment | None] = relationship()
    contacts: Mapped[list[Contact]] = relationship(back_populates="company")
    opportunities: Mapped[list[Opportunity]] = relationship(back_populates="company")
    # The categories of the leads converted into it (quickcrm/domain/convert.py), and any
    # added on its page: tags, several per company, where its segment is one.
    categories: Mapped[list[Category]] = relationship(
        secondary="company_category", order_by="Category.position"
    )


class Contact(Timestamped, Base):
    """A real person, usually at a company."""

    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_sort: Mapped[str] = name_sort_column()
    title: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    phone_key: Mapped[str | None] = mapped_column(String(40), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    # The CSV import that created it (undoing the import removes it); ``None`` otherwise.
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import.id"), index=True)
    # The name as duplicate matching compares it (quickcrm/domain/keys.py, revision 0026).
    name_key: Mapped[str] = key_column(String(PERSON_KEY_MAX), "name", person_key, "")

    company: Mapped[Company | None] = relationship(back_populates="contacts")


# The companies and contacts lists' order: their first rows and the next page read from
# the index, never a sort of every row (revisions 0014_list_page_indexes and
# 0020_name_sort_keys).
Index("ix_company_name_sort", Company.name_sort, Company.id)
Index("ix_contact_name_sort", Contact.name_sort, Contact.id)
# Contact matching compares emails ignoring case (quickcrm/domain/matching.py).
Index("ix_contact_email_lower", func.lower(Contact.email))


class Stage(Base):
    """A step of the pipeline; ordered by ``position``, admin-editable."""

    __tablename__ = "stage"
    __table_args__ = (
        CheckConstraint("probability BETWEEN 0 AND 100", name="probability"),
        _one_of("outcome", OUTCOMES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    position: Mapped[int]
    probability: Mapped[int]
    # What reaching this stage means for the opportunity: still open, won or lost.
    outcome: Mapped[str] = mapped_column(String(10), default="open")


# Two stages may not differ only by case (the admin's form checks it too).
Index("uq_stage_name_lower", func.lower(Stage.name), unique=True)


class Opportunity(Timestamped, Base):
    """One specific potential sale for a company."""

    __tablename__ = "opportunity"
    __table_args__ = (
        CheckConstraint("probability BETWEEN 0 AND 100", name="probability"),
        _one_of("outcome", OUTCOMES),
        # PostgreSQL's CHECKs; on SQLite triggers do the same (revision 0015).
        CheckConstraint(
            "outcome <> 'lost' OR (lost_reason IS NOT NULL AND lost_reason <> '')",
            name="lost_reason",
        ),
        CheckConstraint("value >= 0", name="value"),
        Index("ix_opportunity_outcome_close", "outcome", "close_on"),
        # A board column's first cards (revision 0014_list_page_indexes).
        Index("ix_opportunity_stage_outcome_close", "stage_id", "outcome", "close_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id"), index=True)
    probability: Mapped[int]
    # True once someone set the probability by hand: it no longer follows the stage.
    probability_manual: Mapped[bool] = mapped_column(default=False)
    close_on: Mapped[date | None] = mapped_column(Date)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(10), default="open")
    lost_reason: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    company: Mapped[Company] = relationship(back_populates="opportunities")
    contact: Mapped[Contact | None] = relationship()
    stage: Mapped[Stage] = relationship()
    owner: Mapped[User | None] = relationship()


class Activity(Timestamped, Base):
    """Something done or to be done, on a lead, company, contact or opportunity."""

    __tablename__ = "activity"
    __table_args__ = (
        _one_of("kind", ACTIVITY_KINDS),
        _one_of("repeat_unit", REPEAT_UNITS, nullable=True),
        CheckConstraint("repeat_every IS NULL OR repeat_every > 0", name="repeat_every"),
        # It belongs to at least one record; on SQLite a trigger (revision 0015).
        CheckConstraint(
            "lead_id IS NOT NULL OR company_id IS NOT NULL"
            " OR contact_id IS NOT NULL OR opportunity_id IS NOT NULL",
            name="record",
        ),
        # The agenda's sections in order, and the next items after the last shown
        # (revision 0014_list_page_indexes).
        Index("ix_activity_assignee_open_due_id", "assignee_id", "done", "due_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text, default="")
    due_on: Mapped[date | None] = mapped_column(Date)
    done: Mapped[bool] = mapped_column(default=False)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    repeat_every: Mapped[int | None]
    repeat_unit: Mapped[str | None] = mapped_column(String(10))
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    # Whose agenda it is on (a follow-up belongs to the lead's owner).
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("lead.id", ondelete="CASCADE"), index=True
    )
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("opportunity.id"), index=True)

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    lead: Mapped[Lead | None] = relationship(back_populates="activities")
    company: Mapped[Company | None] = relationship()
    contact: Mapped[Contact | None] = relationship()
    opportunity: Mapped[Opportunity | None] = relationship()


class Attachment(Base):
    """A card photo or a voice note kept with a lead (and, once the lead is converted,
    with the contact it became). The bytes live in the database, so a backup holds them."""

    __tablename__ = "attachment"
    __table_args__ = (
        _one_of("kind", ATTACHMENT_KINDS),
        CheckConstraint("size >= 0", name="size"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("lead.id", ondelete="CASCADE"), index=True
    )
    # SET NULL: a contact that goes (an undone conversion) leaves the photo with its lead.
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int]
    # Loaded only when the file itself is served, never with a page's list of attachments.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    lead: Mapped[Lead | None] = relationship(back_populates="attachments")


class LostReason(Base):
    """One entry of the admin-editable list a lost opportunity's reason is chosen from."""

    __tablename__ = "lost_reason"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    position: Mapped[int]


class Category(Base):
    """One of the team's own tags for leads (Admin → *Categories*): "industry", "north of
    the river", "size of company"… A lead has any number; converting it gives them to its
    company."""

    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    position: Mapped[int]


class LeadCategory(Base):
    __tablename__ = "lead_category"

    lead_id: Mapped[int] = mapped_column(
        ForeignKey("lead.id", ondelete="CASCADE"), primary_key=True
    )
    category_id: Mapped[int] = mapped_column(
        ForeignKey("category.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class CompanyCategory(Base):
    __tablename__ = "company_category"

    company_id: Mapped[int] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), primary_key=True
    )
    category_id: Mapped[int] = mapped_column(
        ForeignKey("category.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # The lead whose conversion gave the company this category (undoing that conversion
    # takes it away again); ``None`` when it came otherwise (the company's form, an import).
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("lead.id", ondelete="SET NULL"), index=True
    )


class LeadMerge(Base):
    """One lead merged into another (quickcrm/domain/merge.py): who did it and when, and
    what undoing it within a day puts back — the kept lead's values before, the merged
    lead's status, the activities and attachments moved — as JSON in ``undo``."""

    __tablename__ = "lead_merge"

    id: Mapped[int] = mapped_column(primary_key=True)
    kept_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    undo: Mapped[str] = mapped_column(Text)

    kept: Mapped[Lead] = relationship(foreign_keys=[kept_id])
    merged: Mapped[Lead] = relationship(foreign_keys=[merged_id])
    merged_by: Mapped[User | None] = relationship()


class Segment(Base):
    """One entry of the admin-editable list a company's segment is chosen from."""

    __tablename__ = "segment"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    position: Mapped[int]


PASSWORD_TOKEN_PURPOSES = ("invite", "reset", "forgot")


class PasswordToken(Base):
    """A one-time link to choose a password (quickcrm/domain/accounts.py): made by an invite,
    an admin's reset or *Forgot password*; only its hash is stored; it works once, until it
    expires, and any password change ends every token of the user."""

    __tablename__ = "password_token"
    __table_args__ = (_one_of("purpose", PASSWORD_TOKEN_PURPOSES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RecoveryCode(Base):
    """One of a user's ten two-step recovery codes, stored hashed; each works once."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TeamSettings(Timestamped, Base):
    """The team's own time zone, currency, date format (a locale), first day of the week and
    phone region: one row (id 1), in the database so every app server agrees. A value left
    empty falls back to the server's setting (quickcrm/domain/team.py)."""

    __tablename__ = "team_settings"
    __table_args__ = (
        CheckConstraint("id = 1", name="one_row"),
        CheckConstraint("week_start IS NULL OR week_start IN (0, 6)", name="week_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    time_zone: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str | None] = mapped_column(String(3))
    locale: Mapped[str | None] = mapped_column(String(20))
    # 0: Monday, 6: Sunday (Python's weekday numbers).
    week_start: Mapped[int | None]
    phone_region: Mapped[str | None] = mapped_column(String(2))


class MeetingSnapshot(Base):
    """The moment a weekly meeting started: the next meeting compares with it
    (quickcrm/domain/meeting.py). Its rows keep every open opportunity as it was."""

    __tablename__ = "meeting_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    taken_by: Mapped[User | None] = relationship()


class SnapshotOpportunity(Base):
    """An open opportunity as it stood when a meeting snapshot was taken."""

    __tablename__ = "snapshot_opportunity"

    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("meeting_snapshot.id", ondelete="CASCADE"), primary_key=True
    )
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunity.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # No foreign key: a stage may be removed later; the snapshot keeps what it was.
    stage_id: Mapped[int]
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    probability: Mapped[int]
    close_on: Mapped[date | None] = mapped_column(Date)


class OfflineAction(Base):
    """A *Done*, *Snooze* or note sent by a phone under the UUID it made for it: the key
    makes a resend (a reply lost on the way back, a retry) a no-op, like a capture's UUID
    (docs/architecture.md, "offline")."""

    __tablename__ = "offline_action"

    key: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activity.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    activity: Mapped[Activity | None] = relationship()


class RateLimit(Base):
    """How often something keyed (a user's iCal feed, sign-in attempts at an account or from
    an address) was asked for in its current window: the rate limits' state lives in the
    database, so every app server shares it. Keys are stored as their HMAC-SHA256, never as
    typed (quickcrm/domain/ratelimit.py)."""

    __tablename__ = "rate_limit"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    hits: Mapped[int]


class ApiToken(Base):
    """A secret a website or a webhook sends to ``POST /api/leads`` (docs/api.md).
    Only the SHA-256 of the secret is kept; revoking keeps the row for the record."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    # hex SHA-256 of the whole secret: what a request's token is looked up by.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The secret's first characters, so an admin can tell which token a website holds.
    prefix: Mapped[str] = mapped_column(String(20))
    # The source every lead of this token gets (when set) and who the leads go to.
    source: Mapped[str | None] = mapped_column(String(120))
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    # Requests per minute; None follows the app's API_RATE_LIMIT.
    rate_limit: Mapped[int | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


class ApiRequest(Base):
    """The first answer given to an ``Idempotency-Key`` of a token: the same key again gets
    it back. The UNIQUE (token_id, key) constraint decides which of two requests is first."""

    __tablename__ = "api_request"
    __table_args__ = (UniqueConstraint("token_id", "key", name="uq_api_request_token_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_token.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    status: Mapped[int]
    # The answer's JSON body, exactly as it was sent the first time.
    body: Mapped[str] = mapped_column(Text)
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("lead.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# --- Lead.next_action_on follows the lead's activities ------------------------------------

_PENDING = "quickcrm.next_action_leads"


def _sort_keys(model) -> None:
    """Keep ``model.name_sort`` in step with its name whenever the name is set (on a new
    object too: its constructor sets the name)."""

    @event.listens_for(model.name, "set", retval=False)
    def _name_set(target, value, _old, _initiator) -> None:
        target.name_sort = sort_key(value)


for _named in (User, Lead, Company, Contact):
    _sort_keys(_named)


def _matching_keys(attribute, column: str, key) -> None:
    """Keep the matching key ``column`` in step with ``attribute`` whenever it is set."""

    @event.listens_for(attribute, "set", retval=False)
    def _value_set(target, value, _old, _initiator) -> None:
        setattr(target, column, key(value))


_matching_keys(Lead.name, "name_key", person_key)
_matching_keys(Lead.email, "email_key", email_key)
_matching_keys(Lead.phone, "phone_tail", phone_tail)
_matching_keys(Contact.name, "name_key", person_key)


@event.listens_for(Session, "after_flush")
def _note_leads_with_changed_actions(session: Session, _context) -> None:
    """Remember the leads that had an activity added or removed, or an activity's lead,
    done or due date changed, in this flush (the session still lists what was new, dirty
    and deleted)."""
    lead_ids: set[int] = session.info.setdefault(_PENDING, set())
    for obj in (*session.new, *session.deleted):
        if isinstance(obj, Activity) and obj.lead_id is not None:
            lead_ids.add(obj.lead_id)
    for obj in session.dirty:
        if not isinstance(obj, Activity):
            continue
        attrs = inspect(obj).attrs
        if any(attrs[name].history.has_changes() for name in ("lead_id", "done", "due_on")):
            lead_ids.update(
                lead_id
                for lead_id in (obj.lead_id, *attrs["lead_id"].history.deleted)
                if lead_id is not None
            )


def next_action_update(lead_ids: set[int] | None = None):
    """The UPDATE that sets ``next_action_on`` of ``lead_ids`` (of every lead if ``None``)
    from their activities: for writes that bypass the session, such as bulk loads."""
    lead, activity = Lead.__table__, Activity.__table__
    earliest = (
        select(func.min(activity.c.due_on))
        .where(
            activity.c.lead_id == lead.c.id,
            activity.c.done.is_(False),
            activity.c.due_on.is_not(None),
        )
        .scalar_subquery()
    )
    statement = update(lead).values(next_action_on=earliest)
    if lead_ids is not None:
        statement = statement.where(lead.c.id.in_(sorted(lead_ids)))
    return statement


@event.listens_for(Session, "after_flush_postexec")
def _keep_next_action_dates(session: Session, _context) -> None:
    """Recompute ``next_action_on`` of the remembered leads in one UPDATE, in the flush's
    transaction, and have loaded leads read the new value.

    Bulk ``update(Activity)`` statements bypass the flush: none may change an activity's
    lead, done or due date."""
    lead_ids = session.info.pop(_PENDING, None)
    if not lead_ids:
        return
    session.connection().execute(next_action_update(lead_ids))
    for lead_id in lead_ids:
        loaded = session.identity_map.get(session.identity_key(Lead, lead_id))
        if loaded is not None:
            session.expire(loaded, ["next_action_on"])


# --- CSV import (quickcrm/domain/imports/) -------------------------------------------------

IMPORT_KINDS = ("leads", "companies")
# uploaded → waiting for its columns to be mapped; running → batches being imported;
# done → every batch imported; undone → its records removed by an admin.
IMPORT_STATUSES = ("mapping", "running", "done", "undone")
# What a row does whose email or phone is an existing record's: nothing (skip), fill that
# record's empty fields, or update its fields with the row's values.
IMPORT_ON_DUPLICATE = ("skip", "fill", "update")


class Import(Timestamped, Base):
    """One uploaded CSV file and how far importing it has come. The progress counters are
    committed with each batch's records, so a crash between batches loses nothing and
    imports no row twice (quickcrm/domain/imports/run.py)."""

    __tablename__ = "import"
    __table_args__ = (
        _one_of("kind", IMPORT_KINDS),
        _one_of("status", IMPORT_STATUSES),
        _one_of("on_duplicate", IMPORT_ON_DUPLICATE),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="leads")
    status: Mapped[str] = mapped_column(String(20), default="mapping")
    filename: Mapped[str] = mapped_column(String(255))
    encoding: Mapped[str] = mapped_column(String(20))
    delimiter: Mapped[str] = mapped_column(String(10))
    # The header row, as a JSON list of strings.
    headers: Mapped[str] = mapped_column(Text)
    total_rows: Mapped[int] = mapped_column(default=0)
    chunk_count: Mapped[int] = mapped_column(default=0)
    # What each column becomes, as a JSON list of field names ("ignore" for none); set
    # when the admin starts the import, with the source and owner of every record.
    mapping: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(120))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    # How a column's values become a field's (JSON: field → {value as in the file: value
    # stored}), e.g. {"temperature": {"A": "hot", "B": "warm"}}; set with the mapping.
    value_map: Mapped[str | None] = mapped_column(Text)
    on_duplicate: Mapped[str] = mapped_column(String(10), default="skip", server_default="skip")
    # The next chunk to import: claimed by a conditional UPDATE, so two requests never
    # import the same one.
    next_chunk: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)
    imported: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    refused: Mapped[int] = mapped_column(default=0)
    # Duplicates that filled an existing record's empty fields, or updated its fields.
    dup_filled: Mapped[int] = mapped_column(default=0, server_default="0")
    dup_updated: Mapped[int] = mapped_column(default=0, server_default="0")
    # Rows imported with a warning (e.g. a phone number kept in the note).
    warned: Mapped[int] = mapped_column(default=0, server_default="0")
    # How many records undoing removed.
    removed: Mapped[int] = mapped_column(default=0)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])


class ImportChunk(Base):
    """A batch of an uploaded file's rows, parsed at upload: a JSON list of
    [line number, cell, cell, …]. Deleted once imported."""

    __tablename__ = "import_chunk"

    import_id: Mapped[int] = mapped_column(
        ForeignKey("import.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(primary_key=True)
    rows: Mapped[str] = mapped_column(Text)


class ImportKey(Base):
    """The duplicate keys ("e:" + email, "p:" + E.164 phone) an import compares rows with:
    those of the leads and contacts that existed when it started, then those of the rows
    it imported. Deleted when the import is done."""

    __tablename__ = "import_key"

    import_id: Mapped[int] = mapped_column(
        ForeignKey("import.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(260), primary_key=True)
    # The existing record with this key ("lead:12", "contact:7"); none for a key of a row
    # this import stored.
    target: Mapped[str | None] = mapped_column(String(30))


class ImportRefusal(Base):
    """A row an import refused, with its reason and its cells (a JSON list), for the
    report's CSV download."""

    __tablename__ = "import_refusal"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("import.id", ondelete="CASCADE"), index=True)
    line: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    cells: Mapped[str] = mapped_column(Text)
    # A row imported with a warning (the reason says what was kept where), not refused.
    warning: Mapped[bool] = mapped_column(default=False, server_default=false())


class ImportChange(Base):
    """What an import did to a record it did not create, so *Undo import* can put it back:
    ``before`` holds each changed field's earlier value and the value the import wrote
    (JSON: field → [earlier, written]; undo puts back only a field that still holds what
    the import wrote), or is empty for a record the import added to one that existed (a
    follow-up task)."""

    __tablename__ = "import_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("import.id", ondelete="CASCADE"), index=True)
    record_type: Mapped[str] = mapped_column(String(20))  # "lead", "contact", "activity"
    record_id: Mapped[int]
    before: Mapped[str | None] = mapped_column(Text)


class ImportMapping(Base):
    """The mapping an admin chose for a file with these headers, offered the next time a
    file with the same headers (folded, in order) is uploaded."""

    __tablename__ = "import_mapping"
    __table_args__ = (UniqueConstraint("kind", "header_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    # SHA-256 of the folded headers, one per line.
    header_key: Mapped[str] = mapped_column(String(64))
    mapping: Mapped[str] = mapped_column(Text)  # JSON list of field names, as Import.mapping
    value_map: Mapped[str | None] = mapped_column(Text)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ScheduledJob(Base):
    """A job the app servers run by themselves (quickcrm/domain/scheduler.py): when it is
    next due, the lease of the server running it now, and how its last run went. One row
    per job name; the row is the lease, so one server runs each run."""

    __tablename__ = "scheduled_job"
    __table_args__ = (_one_of("result", JOB_RESULTS, nullable=True),)

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Who runs it now ("host:pid:random", a new one per run) and until when; both empty
    # when nobody does. A lease past its end is free: its holder was killed or hangs.
    holder: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[str | None] = mapped_column(String(10))
    # One line: what the run did ("Purged 12 rows"), or why it failed.
    message: Mapped[str | None] = mapped_column(String(500))


class ReminderSent(Base):
    """One reminder of one kind to one user for one day of theirs: the row is taken before
    the message goes (``sending``) and marked after (``sent``, ``failed`` to try again at
    the next run, ``skipped`` when there was nothing to say), so several app servers and a
    server killed mid-send never send a user two of a day."""

    __tablename__ = "reminder_sent"
    __table_args__ = (
        _one_of("kind", REMINDER_KINDS),
        _one_of("status", REMINDER_STATUSES),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(default=1, server_default="1")
    # When the status last changed: a ``sending`` row this old was left by a killed server.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # What happened, in one line ("3 items", the mail server's refusal).
    message: Mapped[str | None] = mapped_column(String(500))


class PushSubscription(Base):
    """A phone that asked to be notified (Account → Reminders → *Notify me on this phone*):
    the push service's endpoint and the keys its payloads are encrypted with (RFC 8291).
    Removed when the push service says it is gone (404/410)."""

    __tablename__ = "push_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    # The browser and system it was made on, for the user to tell their phones apart.
    device: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AppKey(Base):
    """A key the app makes once and keeps (the VAPID key pair web push signs with): in the
    database, so every app server uses the same one."""

    __tablename__ = "app_key"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
