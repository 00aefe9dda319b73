"""Leads sent by websites and webhooks to ``POST /api/leads`` (docs/api.md).

The API's fields are the capture form's, under the names a website uses (``company`` for
the capture's ``company_name``), and pass the same checks (quickcrm/domain/leads.py
``field_checks``): a lead from a website obeys the rules of one typed on a phone.

Idempotency: an ``Idempotency-Key`` names one attempt of a client. The first answer given
to a token's key is stored with the lead in one transaction, and the UNIQUE (token_id, key)
constraint decides which of two concurrent attempts that is: the other one rolls back (its
lead with it) and returns the stored answer. Refusals (4xx) are not stored, so a corrected
retry under the same key can still succeed. These functions commit themselves.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from quickcrm.domain import categories, leads
from quickcrm.domain import validation as v
from quickcrm.domain.transactions import owns_transaction
from quickcrm.models import ApiRequest, ApiToken, Lead, utcnow

# API field → capture field, in the order of docs/api.md's table.
FIELDS = {
    "name": "name",
    "company": "company_name",
    "email": "email",
    "phone": "phone",
    "note": "note",
    "source": "source",
    "temperature": "temperature",
    "next_action_on": "next_action_on",
    # Issue 29: a business lead's person to ask for, its address, the size of the sale.
    "contact_name": "contact_name",
    "address": "address",
    "potential_value": "potential_value",
}
CAPTURE_NAMES = {capture: api for api, capture in FIELDS.items()}
KEY_MAX = 200
KEY_FIELD = "idempotency_key"
# How long a key's first answer is kept for a retry (``flask --app wsgi purge`` forgets it
# after): a client retries within minutes, a queue drained after an outage within days.
KEYS_KEPT = timedelta(days=7)


@dataclass(frozen=True)
class Answer:
    """What the API answers: a status and a JSON body (text, exactly as first sent)."""

    status: int
    body: str
    replayed: bool = False


def lead_form(
    data: Mapping[str, object], *, today: date, phone_region: str | None
) -> tuple[leads.LeadForm, dict[str, str]]:
    """The capture form of the API's ``data``, cleaned, and the errors by API field name.

    Values may be text, or numbers sent as JSON (a phone as 4420…); anything else (a list,
    an object, true) is refused for its field. Fields the API does not know are ignored:
    webhooks send more than a lead.
    """
    raw: dict[str, str] = {}
    errors: dict[str, str] = {}
    for api_name, capture_name in FIELDS.items():
        value = data.get(api_name)
        if value is None:
            raw[capture_name] = ""
        elif isinstance(value, str):
            raw[capture_name] = value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            raw[capture_name] = str(value)
        else:
            errors[api_name] = "Send this field as text."
            raw[capture_name] = ""
    form = leads.LeadForm.clean(None, raw, today=today, phone_region=phone_region)
    for capture_name, message in form.errors.items():
        errors.setdefault(CAPTURE_NAMES[capture_name], message)
    return form, errors


def category_names(data: Mapping[str, object]) -> tuple[list[str], str | None]:
    """The ``categories`` the API was sent, by name: "Retail; North" (or with commas), or
    a JSON list of names; and a message when it is neither. A name not in Admin →
    Categories is skipped when the lead is stored (a website makes no categories)."""
    value = data.get("categories")
    if value is None:
        return [], None
    if isinstance(value, list) and all(isinstance(name, str) for name in value):
        value = ";".join(value)
    if not isinstance(value, str):
        return [], "Send the categories as text (“Retail; North”) or a list of names."
    if not v.storable(value):
        return [], v.UNSTORABLE
    return categories.split_names(value[:10_000]), None


def idempotency_key(value: str | None) -> str | None:
    """The ``Idempotency-Key`` header's value, or ``None`` when not sent or blank (a
    website's empty key must not cost it the lead); raises ``validation.Refused`` for a key that
    cannot be stored as it is (past ``KEY_MAX``, not printable ASCII)."""
    key = (value or "").strip()
    if not key:
        return None
    if len(key) > KEY_MAX or not (key.isascii() and key.isprintable()):
        raise v.Refused(
            f"An Idempotency-Key is 1 to {KEY_MAX} printable ASCII characters (a UUID is ideal)."
        )
    return key


def first_answer(session: Session, token: ApiToken, key: str | None) -> Answer | None:
    """The answer already given to ``key`` of ``token``, if any."""
    if key is None:
        return None
    stored = session.scalars(
        select(ApiRequest).where(ApiRequest.token_id == token.id, ApiRequest.key == key)
    ).one_or_none()
    return Answer(stored.status, stored.body, replayed=True) if stored is not None else None


@owns_transaction("the API's Idempotency-Key: its UNIQUE key settles a retry racing the first")
def store_web_lead(
    session: Session,
    token: ApiToken,
    form: leads.LeadForm,
    *,
    key: str | None,
    url_of: Callable[[Lead], str],
    now: datetime | None = None,
    category_names: Sequence[str] = (),
) -> Answer:
    """Save the cleaned ``form`` as an open lead of the token's owner; commits.

    The token's source, when it names one, is the lead's source (a website cannot pass its
    leads off as another source's); otherwise the lead keeps the source it was sent with.
    With a ``key``, the answer is stored with the lead, and the same key again — even at
    the same moment — gets the first answer back and stores nothing.
    """
    assert form.ok, "store_web_lead needs a cleaned form without errors"
    values = dict(form.values)
    due = values.pop("next_action_on")
    if token.source:
        values["source"] = token.source
    owner = token.owner
    lead = Lead(
        uuid=uuid.uuid4(), owner=owner, status="open", captured_at=now or utcnow(), **values
    )
    session.add(lead)
    if due is not None:
        session.add(leads.new_next_action(lead, owner, due))
    try:
        session.flush()
        named = categories.by_names(session, list(category_names))
        categories.add_to_lead(session, lead.id, [category.id for category in named])
        body = json.dumps({"id": lead.id, "url": url_of(lead)})
        if key is not None:
            session.add(
                ApiRequest(token_id=token.id, key=key, status=201, body=body, lead_id=lead.id)
            )
        session.commit()
    except IntegrityError:
        session.rollback()
        first = first_answer(session, token, key)
        if first is None:
            raise
        return first
    return Answer(201, body)
