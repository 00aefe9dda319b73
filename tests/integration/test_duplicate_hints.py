"""The duplicate hint route (``/duplicates``, quickcrm/views/duplicates.py): what a typed value
may already be, told to each role as PRODUCT.md section 3 allows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from quickcrm.models import TeamSettings
from tests import factories
from tests.conftest import Auth

URL = "/duplicates"
# Late on 3 December (UTC) this year: "captured 3 Dec" in London, the 4th in Sydney.
THIS_YEARS_3_DEC = datetime(datetime.now(UTC).year, 12, 3, 23, 30, tzinfo=UTC)


@pytest.fixture
def chris(make_user):
    return make_user("chris@example.com", "rep", "Chris")


@pytest.fixture
def marias(db, chris):
    """Chris's lead Maria Novak at Acme, and a contact and company she might be."""
    lead = factories.lead(
        db, chris, "Maria Novak", company_name="Acme", email="maria@acme.example",
        phone="+44 20 7946 0958", note="Wants 40 seats", captured_at=THIS_YEARS_3_DEC,
    )  # fmt: skip
    acme = factories.company(db, "Acme Ltd", email_domain="acme.example")
    contact = factories.contact(db, acme, "Maria Novak", email="maria@acme.example")
    return {"lead": lead, "company": acme, "contact": contact}


def hints(client, **typed):
    response = client.get(URL, query_string=typed)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return response.json["hints"]


def test_another_rep_learns_that_the_lead_exists_and_whose_but_gets_no_link(client, rep, marias):
    found = hints(client, name="novak maria")["name"]
    assert found == [
        {
            "kind": "lead",
            "text": "Maria Novak (Acme) is already an open lead of Chris, captured 3 Dec",
            "url": None,
        },
        {
            "kind": "contact",
            "text": "Maria Novak is already a contact at Acme Ltd",
            "url": f"/contacts/{marias['contact'].id}",
        },
    ]


def test_a_rep_never_reads_another_reps_lead_contents(client, rep, marias):
    for typed in ({"email": "MARIA@acme.example"}, {"phone": "020 7946 0958"}):
        body = client.get(URL, query_string=typed).get_data(as_text=True)
        assert "Wants 40 seats" not in body
        assert "7946" not in body and "maria@acme" not in body.lower()
        assert f"/leads/{marias['lead'].id}" not in body


def test_the_owner_coordinators_and_admins_get_the_open_link(app, db, marias, auth, make_user):
    lead_url = f"/leads/{marias['lead'].id}"
    make_user("cora@example.com", "coordinator", "Cora")
    make_user("ada@example.com", "admin", "Ada")
    for email in ("chris@example.com", "cora@example.com", "ada@example.com"):
        client = app.test_client()
        Auth(client).login(email)
        [lead, *_] = hints(client, name="Maria Novak")["name"]
        assert lead["url"] == lead_url, email
    client = app.test_client()
    Auth(client).login("chris@example.com")
    [lead, *_] = hints(client, name="Maria Novak")["name"]
    assert lead["text"] == "Maria Novak (Acme) is already your open lead, captured 3 Dec"


def test_the_captured_day_is_the_viewers(client, db, rep, marias):
    # 23:30 UTC on 3 December is the 4th in Sydney.
    db.add(TeamSettings(id=1, time_zone="Australia/Sydney", phone_region="GB"))
    db.commit()
    [lead, *_] = hints(client, name="Maria Novak")["name"]
    assert lead["text"].endswith("captured 4 Dec")


def test_each_field_has_its_hints(client, rep, marias):
    found = hints(client, company_name="ACME limited", email="someone@acme.example")
    assert [h["text"] for h in found["company_name"]] == ["Acme Ltd is already a company"]
    assert found["company_name"][0]["url"] == f"/companies/{marias['company'].id}"
    # Not the company again under Email: each record once.
    assert [h["kind"] for h in found["email"]] == []
    assert hints(client, email="someone@gmail.com") == {
        "name": [], "company_name": [], "email": [], "phone": []
    }  # fmt: skip


def test_nothing_typed_nothing_found(client, rep, marias):
    assert all(not found for found in hints(client).values())


@pytest.mark.parametrize(
    "value", ["x" * 10_000, "ﷺ" * 150, '"><script>alert(1)</script>', "9" * 5000, "²", "-1"]
)
def test_hostile_values_are_no_match_never_an_error(client, rep, marias, value):
    found = hints(client, name=value, company_name=value, email=value, phone=value)
    assert all(not hints_ for hints_ in found.values())


def test_a_nul_byte_is_refused_with_a_message(client, rep):
    # static/js/hints.js asks for JSON, and gets its refusals in JSON.
    response = client.get(
        URL, query_string={"name": "Ann\x00"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 400
    assert "NUL" in response.json["error"]


def test_signed_out_no_hint(client, marias):
    response = client.get(URL, query_string={"name": "Maria Novak"})
    assert response.status_code in (302, 303)
    assert "/login" in response.headers["Location"]
