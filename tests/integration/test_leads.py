"""A lead's page: who may see it, and editing it."""

from __future__ import annotations

from datetime import date, timedelta

from quickcrm.domain import leads
from quickcrm.models import Lead
from tests.conftest import csrf_token


def capture(db, owner, **values):
    form = leads.LeadForm.from_mapping({"name": "Maria Novak", **values})
    return leads.capture_lead(db, owner, form.clean(today=date.today(), phone_region="GB"))


def test_a_rep_sees_and_edits_their_own_lead(client, rep, db):
    lead = capture(db, rep, next_action_on=date.today().isoformat())
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "Maria Novak" in page
    later = (date.today() + timedelta(days=7)).isoformat()
    response = client.post(
        f"/leads/{lead.id}",
        data={
            "name": "Maria Novak-Smith",
            "temperature": "warm",
            "next_action_on": later,
            "phone": "+44 20 7946 0958",
            "csrf_token": csrf_token(client, "/"),
        },
    )
    assert response.status_code == 303
    db.expire_all()
    lead = db.get(Lead, lead.id)
    assert (lead.name, lead.temperature, lead.phone) == (
        "Maria Novak-Smith",
        "warm",
        "+44 20 7946 0958",
    )
    assert leads.next_action(db, lead).due_on.isoformat() == later


def test_editing_with_bad_input_changes_nothing(client, rep, db):
    lead = capture(db, rep)
    response = client.post(
        f"/leads/{lead.id}",
        data={"name": "", "csrf_token": csrf_token(client, "/")},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "Enter a name" in response.get_data(as_text=True)
    db.expire_all()
    assert db.get(Lead, lead.id).name == "Maria Novak"


def test_a_rep_cannot_see_another_reps_lead(client, rep, make_user, db):
    other = make_user("other@example.com")
    lead = capture(db, other)
    assert client.get(f"/leads/{lead.id}").status_code == 403
    response = client.post(
        f"/leads/{lead.id}", data={"name": "Hijack", "csrf_token": csrf_token(client, "/")}
    )
    assert response.status_code == 403


def test_a_coordinator_sees_everyones_leads(client, make_user, auth, db):
    other = make_user("other@example.com")
    lead = capture(db, other)
    make_user("coord@example.com", "coordinator")
    auth.login("coord@example.com")
    assert client.get(f"/leads/{lead.id}").status_code == 200


def test_a_missing_lead_is_404(client, rep):
    assert client.get("/leads/12345").status_code == 404
