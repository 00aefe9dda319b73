"""API tokens (made, hashed, verified, revoked) and the web-to-lead rules: the capture's
checks under the API's names, the token's source and owner, the first answer per key."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from quickcrm.domain import api_tokens, web_leads
from quickcrm.domain import validation as v
from quickcrm.models import Activity, ApiRequest, ApiToken, Lead, utcnow
from tests import factories

TODAY = utcnow().date()


def bearer(secret: str) -> str:
    return f"Bearer {secret}"


@pytest.fixture
def made(db, owner):
    made = factories.api_token(db, owner, "Website", source="website")
    return made


def test_a_token_is_a_long_random_secret_stored_only_as_its_sha256(db, made):
    token, secret = made
    assert secret.startswith("qcrm_") and len(secret) == len("qcrm_") + 43
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:9]
    stored = db.execute(select(ApiToken.__table__)).one()
    assert secret not in repr(stored)
    other = factories.api_token(db, token.owner, "Website")[1]
    assert other != secret


def test_the_header_must_carry_the_token_itself(db, made):
    token, secret = made
    assert api_tokens.authenticate(db, bearer(secret)) == token
    assert api_tokens.authenticate(db, f"bearer   {secret} ") == token
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for header in (
        None,
        "",
        secret,
        f"Basic {secret}",
        bearer(wrong),
        bearer(secret + "x"),
        bearer(secret.upper()),
        bearer("qcrm_" + "é" * 43),
        bearer(secret) + "\x00",
    ):
        assert api_tokens.authenticate(db, header) is None, header


def test_a_revoked_token_opens_nothing_and_stays_listed(db, made):
    token, secret = made
    assert api_tokens.revoke(db, token) is True
    assert api_tokens.revoke(db, token) is False
    assert api_tokens.authenticate(db, bearer(secret)) is None
    fresh, _ = factories.api_token(db, token.owner, "Newer")
    assert api_tokens.list_tokens(db) == [fresh, token]


def test_last_used_is_noted_to_the_minute(db, made):
    token, secret = made
    now = utcnow()
    api_tokens.authenticate(db, bearer(secret), now=now)
    db.commit()  # as the API's view does
    api_tokens.authenticate(db, bearer(secret), now=now + timedelta(seconds=30))
    db.commit()
    db.expire_all()
    assert db.get(ApiToken, token.id).last_used_at == now
    later = now + timedelta(minutes=2)
    api_tokens.authenticate(db, bearer(secret), now=later)
    db.commit()
    db.expire_all()
    assert db.get(ApiToken, token.id).last_used_at == later


@pytest.mark.parametrize(
    ("name", "values", "field"),
    [
        ("", {}, "token_name"),
        ("x" * 121, {}, "token_name"),
        ("Site", {"source": "s" * 121}, "source"),
        ("Site", {"rate_limit": "0"}, "rate_limit"),
        ("Site", {"rate_limit": "9" * 30}, "rate_limit"),
        ("Site", {"rate_limit": "²"}, "rate_limit"),
    ],
)
def test_a_token_needs_a_name_and_sane_settings(db, owner, name, values, field):
    raw = {"token_name": name, "owner": str(owner.id), **values}
    assert list(api_tokens.ApiTokenForm.clean(db, raw).errors) == [field]


def test_the_leads_go_to_an_active_user(db, make_user):
    gone = make_user("gone@example.com", "rep")
    gone.active = False
    db.commit()
    for owner in ("", str(gone.id)):
        form = api_tokens.ApiTokenForm.clean(db, {"token_name": "Site", "owner": owner})
        assert list(form.errors) == ["owner"]
    assert api_tokens.owner_by_id(db, str(gone.id)) is None
    assert api_tokens.owner_by_id(db, "9" * 40) is None
    assert api_tokens.owner_by_email(db, None) is None
    admin = make_user("ada@example.com", "admin")
    assert api_tokens.owner_by_email(db, None) == admin
    assert api_tokens.owner_by_email(db, "GONE@example.com") is None


def test_the_rate_limit_is_the_tokens_or_the_apps(db, owner):
    token, _ = factories.api_token(db, owner, "Site", rate_limit="5")
    assert api_tokens.rate_limit({"API_RATE_LIMIT": 100}, token) == 5
    token.rate_limit = None
    assert api_tokens.rate_limit({"API_RATE_LIMIT": 100}, token) == 100
    assert api_tokens.rate_limit({}, token) == api_tokens.DEFAULT_RATE_LIMIT


@pytest.mark.parametrize("key", ["k" * 201, "clé", "a\x00b", "tab\there"])
def test_an_idempotency_key_that_cannot_be_stored_as_sent_is_refused(key):
    with pytest.raises(v.Refused):
        web_leads.idempotency_key(key)


def test_an_idempotency_key_of_up_to_200_plain_characters_is_kept():
    assert web_leads.idempotency_key(None) is None
    assert web_leads.idempotency_key("  ") is None  # blank: as if not sent
    assert web_leads.idempotency_key(" order-42 ") == "order-42"
    assert web_leads.idempotency_key("k" * 200) == "k" * 200


def test_the_api_fields_pass_the_captures_checks_under_their_own_names():
    form, errors = web_leads.lead_form(
        {
            "name": "  Ann   Smith ",
            "company": "Acme",
            "email": "ann@ACME.example",
            "phone": 442079460000,
            "temperature": "HOT",
            "extra": ["ignored"],
        },
        today=TODAY,
        phone_region=None,
    )
    assert errors == {
        "phone": "Enter a phone number, with its country code if it is abroad (+44 …)."
    }
    form, errors = web_leads.lead_form(
        {
            "name": "  Ann   Smith ",
            "company": "Acme",
            "temperature": "HOT",
            "phone": "+44 20 7946 0000",
        },
        today=TODAY,
        phone_region=None,
    )
    assert errors == {}
    assert form.values["name"] == "Ann Smith" and form.values["company_name"] == "Acme"
    assert form.values["temperature"] == "hot"


def test_refusals_are_named_as_the_api_names_its_fields():
    _, errors = web_leads.lead_form(
        {
            "company": "c" * 201,
            "email": "not an email",
            "temperature": "tepid",
            "next_action_on": "24/12/2026",
            "note": ["a list"],
            "source": True,
        },
        today=TODAY,
        phone_region=None,
    )
    assert set(errors) == {
        "name", "company", "email", "temperature", "next_action_on", "note", "source",
    }  # fmt: skip
    assert errors["name"] == "Enter a name — a person or a business."


def _store(session, token, data, key=None):
    form, errors = web_leads.lead_form(data, today=TODAY, phone_region=None)
    assert not errors
    return web_leads.store_web_lead(
        session, token, form, key=key, url_of=lambda lead: f"https://crm.example/leads/{lead.id}"
    )


def test_a_web_lead_gets_the_tokens_source_and_owner_and_its_next_action(db, made, owner):
    token, _ = made
    due = (TODAY + timedelta(days=3)).isoformat()
    answer = _store(db, token, {"name": "Ann", "source": "Google ad", "next_action_on": due})
    body = json.loads(answer.body)
    assert answer.status == 201 and body["url"] == f"https://crm.example/leads/{body['id']}"
    lead = db.get(Lead, body["id"])
    assert (lead.source, lead.owner_id, lead.status) == ("website", owner.id, "open")
    action = db.scalars(select(Activity).where(Activity.lead_id == lead.id)).one()
    assert (action.due_on.isoformat(), action.assignee_id) == (due, owner.id)
    token.source = None
    answer = _store(db, token, {"name": "Bob", "source": "Google ad"})
    assert db.get(Lead, json.loads(answer.body)["id"]).source == "Google ad"


def test_the_unique_constraint_not_a_look_up_decides_which_answer_is_first(app, db, made):
    """Two attempts with one key both find no answer, then both store: the second one's
    lead is rolled back and it returns the first answer."""
    token, _ = made
    make_session = app.extensions["quickcrm.sessionmaker"]
    with make_session() as one, make_session() as two:
        token_one, token_two = one.get(ApiToken, token.id), two.get(ApiToken, token.id)
        assert web_leads.first_answer(one, token_one, "k-1") is None
        assert web_leads.first_answer(two, token_two, "k-1") is None
        first = _store(one, token_one, {"name": "Ann"}, key="k-1")
        second = _store(two, token_two, {"name": "Ann again"}, key="k-1")
    assert (second.status, second.body, second.replayed) == (first.status, first.body, True)
    assert db.scalars(select(Lead.name)).all() == ["Ann"]
    assert db.scalar(select(func.count(ApiRequest.id))) == 1


def test_keys_belong_to_their_token(db, made, owner):
    token, _ = made
    other, _ = factories.api_token(db, owner, "Webhook")
    one = _store(db, token, {"name": "Ann"}, key="same")
    two = _store(db, other, {"name": "Bob"}, key="same")
    assert one.body != two.body and not two.replayed
    assert web_leads.first_answer(db, token, "same").body == one.body
    assert web_leads.first_answer(db, token, None) is None
