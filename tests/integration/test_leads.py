"""A lead's page: who may see it, editing it one field at a time, logging activities,
disqualifying, reopening and snoozing it."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from quickcrm.domain import leads
from quickcrm.models import Activity, Lead
from tests import factories
from tests.conftest import csrf_token

HTMX = {"HX-Request": "true"}


def capture(db, owner, **values):
    raw = {"name": "Maria Novak", **values}
    form = leads.LeadForm.clean(db, raw, today=date.today(), phone_region="GB")
    lead = leads.capture_lead(db, owner, form)
    db.commit()
    return lead


def reloaded(db, lead) -> Lead:
    db.expire_all()
    return db.get(Lead, lead.id)


def post_field(client, lead, field, headers=None, /, **data):
    data = {"csrf_token": csrf_token(client, "/"), **data}
    return client.post(f"/leads/{lead.id}/fields/{field}", data=data, headers=headers)


def test_a_rep_sees_and_edits_their_own_lead_field_by_field(client, rep, db):
    lead = capture(db, rep, next_action_on=date.today().isoformat())
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "<h1>Maria Novak</h1>" in page
    for label in ("name", "temperature", "company", "phone", "email", "source", "note"):
        assert f'<span class="visually-hidden">Edit {label}</span>' in page
    assert "Save changes" not in page

    response = post_field(client, lead, "name", HTMX, name="Maria Novak-Smith")
    assert response.status_code == 200
    row = response.get_data(as_text=True)
    assert 'id="field-name"' in row and "Maria Novak-Smith" in row
    assert '<p class="field-saved" role="status">Saved</p>' in row
    # The heading shows the name too: it comes along, out of band.
    assert re.search(r'id="lead-heading" hx-swap-oob="true">\s*<h1>Maria Novak-Smith</h1>', row)

    assert post_field(client, lead, "temperature", HTMX, temperature="warm").status_code == 200
    response = post_field(client, lead, "phone", HTMX, phone="+44 20 7946 0958")
    call = '<span class="visually-hidden">Call </span>+44 20 7946 0958</a>'
    assert f'href="tel:+442079460958">{call}' in response.get_data(as_text=True)
    response = post_field(client, lead, "email", HTMX, email="maria@example.com")
    email = '<span class="visually-hidden">Email </span>maria@example.com</a>'
    assert f'href="mailto:maria@example.com">{email}' in response.get_data(as_text=True)
    lead = reloaded(db, lead)
    assert (lead.name, lead.temperature, lead.phone, lead.email) == (
        "Maria Novak-Smith",
        "warm",
        "+44 20 7946 0958",
        "maria@example.com",
    )


def test_the_next_action_is_shown_changed_and_removed(client, rep, db):
    lead = capture(db, rep, next_action_on=date.today().isoformat())
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert re.search(r"Follow up</span> · <time[^>]*>today</time>", page)

    later = date.today() + timedelta(days=7)
    response = post_field(
        client,
        lead,
        "next_action",
        HTMX,
        next_action_text="Send the quote",
        next_action_on=later.isoformat(),
    )
    assert response.status_code == 200
    assert "Send the quote" in response.get_data(as_text=True)
    action = leads.next_action(db, reloaded(db, lead))
    assert (action.text, action.due_on) == ("Send the quote", later)

    response = post_field(
        client, lead, "next_action", next_action_text="Send the quote", next_action_on=""
    )
    assert response.status_code == 303
    assert leads.next_action(db, reloaded(db, lead)) is None
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert re.search(r'id="field-next_action".*?<span class="empty">None</span>', page, re.S)


@pytest.mark.parametrize("htmx", [True, False])
def test_bad_input_answers_422_with_the_form_and_message_and_writes_nothing(client, rep, db, htmx):
    lead = capture(db, rep, phone="+44 20 7946 0958")
    response = post_field(client, lead, "phone", HTMX if htmx else None, phone="12")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'aria-invalid="true" aria-describedby="phone-error"' in body
    assert '<p class="field-error" id="phone-error">Enter a phone number' in body
    # The row's form is still open, with what was typed.
    assert f'action="/leads/{lead.id}/fields/phone"' in body
    assert 'name="phone" type="tel" value="12"' in body
    assert ("<html" in body) is not htmx
    assert reloaded(db, lead).phone == "+44 20 7946 0958"

    response = post_field(client, lead, "name", HTMX, name="")
    assert response.status_code == 422
    assert "Enter a name" in response.get_data(as_text=True)
    assert reloaded(db, lead).name == "Maria Novak"


def test_without_javascript_the_edit_link_opens_the_row_and_saving_redirects(client, rep, db):
    lead = capture(db, rep, phone="+44 20 7946 0958")
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert f'href="/leads/{lead.id}?edit=phone#field-phone"' in page
    assert 'name="phone"' not in page

    page = client.get(f"/leads/{lead.id}?edit=phone").get_data(as_text=True)
    form = re.search(r'<div class="lead-field editing" id="field-phone".*?</form>', page, re.S)
    assert form, "the phone row is open"
    assert 'method="post"' in form.group(0)
    assert f'action="/leads/{lead.id}/fields/phone"' in form.group(0)
    assert 'name="csrf_token"' in form.group(0)
    assert '<label for="phone">Phone</label>' in form.group(0)
    assert 'value="+44 20 7946 0958"' in form.group(0)
    assert f'href="/leads/{lead.id}#field-phone"' in form.group(0)  # Cancel
    assert page.count('class="lead-field editing"') == 1

    response = post_field(client, lead, "phone", phone="+44 20 7946 0000")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/leads/{lead.id}#field-phone"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Saved — phone." in page
    assert 'href="tel:+442079460000"' in page


def test_the_edit_link_fetches_the_form_and_cancel_the_row(client, rep, db):
    lead = capture(db, rep, email="maria@example.com")
    response = client.get(f"/leads/{lead.id}/fields/email?edit=1", headers=HTMX)
    row = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in row
    assert 'name="email" type="email" value="maria@example.com"' in row and "autofocus" in row
    response = client.get(f"/leads/{lead.id}/fields/email", headers=HTMX)
    row = response.get_data(as_text=True)
    assert 'name="email"' not in row and "Email </span>maria@example.com" in row
    # The Edit control gets the focus back.
    assert re.search(r'autofocus><svg[^>]*>.*</svg><span class="visually-hidden">Edit email', row)
    assert "HX-Request" in response.headers["Vary"]


def test_a_rep_cannot_see_or_edit_another_reps_lead(client, rep, make_user, db):
    other = make_user("other@example.com")
    lead = capture(db, other)
    assert client.get(f"/leads/{lead.id}").status_code == 403
    assert client.get(f"/leads/{lead.id}/fields/phone?edit=1").status_code == 403
    assert post_field(client, lead, "name", name="Hijack").status_code == 403
    data = {"csrf_token": csrf_token(client, "/"), "kind": "note", "text": "Hijack"}
    assert client.post(f"/leads/{lead.id}/activities", data=data).status_code == 403
    assert reloaded(db, lead).name == "Maria Novak"
    assert db.scalars(select(Activity)).all() == []


def test_a_coordinator_sees_and_edits_everyones_leads(client, make_user, auth, db):
    other = make_user("other@example.com")
    lead = capture(db, other)
    make_user("coord@example.com", "coordinator")
    auth.login("coord@example.com")
    assert client.get(f"/leads/{lead.id}").status_code == 200
    assert post_field(client, lead, "source", source="Expo").status_code == 303
    assert reloaded(db, lead).source == "Expo"


def test_an_unknown_field_is_404(client, rep, db):
    lead = capture(db, rep)
    assert client.get(f"/leads/{lead.id}/fields/status?edit=1").status_code == 404
    assert post_field(client, lead, "status", status="converted").status_code == 404
    assert post_field(client, lead, "owner_id", owner_id="2").status_code == 404
    assert reloaded(db, lead).status == "open"
    # On the page, an unknown ?edit= opens nothing.
    page = client.get(f"/leads/{lead.id}?edit=status").get_data(as_text=True)
    assert "lead-field editing" not in page


def test_a_field_without_the_csrf_token_is_refused(client, rep, db):
    lead = capture(db, rep)
    response = client.post(f"/leads/{lead.id}/fields/name", data={"name": "Forged"})
    assert response.status_code == 400
    response = client.post(f"/leads/{lead.id}/fields/name", data={"name": "Forged"}, headers=HTMX)
    assert response.status_code == 400
    assert reloaded(db, lead).name == "Maria Novak"


def test_log_a_call_and_a_task_on_a_lead(client, rep, db):
    lead = capture(db, rep)
    token = csrf_token(client, f"/leads/{lead.id}")
    data = {"csrf_token": token, "kind": "call", "text": "Called, wants a demo"}
    response = client.post(f"/leads/{lead.id}/activities", data=data, headers=HTMX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="lead-timeline">')
    assert '<span class="badge">Call</span>' in body and "Called, wants a demo" in body

    due = date.today() + timedelta(days=3)
    data = {"csrf_token": token, "kind": "task", "text": "Send the demo link", "due_on": due}
    response = client.post(f"/leads/{lead.id}/activities", data=data, headers=HTMX)
    body = response.get_data(as_text=True)
    # The next action row comes along, out of band, with the task.
    row = re.search(r'<div class="lead-field" id="field-next_action" hx-swap-oob="true">.*?</dd>',
                    body, re.S)  # fmt: skip
    assert row and "Send the demo link" in row.group(0)
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    row = re.search(r'id="field-next_action".*?</dd>', page, re.S)
    assert "Send the demo link" in row.group(0)
    assert f'datetime="{due.isoformat()}"' in row.group(0)
    kinds = db.scalars(select(Activity.kind).where(Activity.lead_id == lead.id)).all()
    assert sorted(kinds) == ["call", "task"]


def test_logging_bad_input_on_a_lead_answers_422(client, rep, db):
    lead = capture(db, rep)
    data = {"csrf_token": csrf_token(client, "/"), "kind": "call", "text": " "}
    response = client.post(f"/leads/{lead.id}/activities", data=data)
    assert response.status_code == 422
    assert "Write what happened first." in response.get_data(as_text=True)
    data = {"csrf_token": csrf_token(client, "/"), "kind": "task", "text": "x", "due_on": "soon"}
    response = client.post(f"/leads/{lead.id}/activities", data=data, headers=HTMX)
    assert response.status_code == 422
    assert "Enter a date like" in response.get_data(as_text=True)
    assert db.scalars(select(Activity)).all() == []
    data = {"csrf_token": csrf_token(client, "/"), "kind": "note", "text": "Met at the expo"}
    response = client.post(f"/leads/{lead.id}/activities", data=data)
    assert response.status_code == 303
    assert "Met at the expo" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_converted_lead_is_read_only(client, rep, db):
    lead = capture(db, rep, phone="+44 20 7946 0958")
    lead.status = "converted"
    db.commit()
    page = client.get(f"/leads/{lead.id}?edit=phone").get_data(as_text=True)
    assert 'visually-hidden"> phone' not in page and "lead-field editing" not in page
    assert "Log it" not in page
    assert 'href="tel:+442079460958"' in page

    response = post_field(client, lead, "phone", HTMX, phone="+44 20 7946 0000")
    assert response.status_code == 409
    assert "Maria Novak has been converted" in response.get_data(as_text=True)
    assert client.get(f"/leads/{lead.id}/fields/phone?edit=1", headers=HTMX).status_code == 409
    assert post_field(client, lead, "phone", phone="+44 20 7946 0000").status_code == 409
    data = {"csrf_token": csrf_token(client, "/"), "kind": "call", "text": "Called"}
    response = client.post(f"/leads/{lead.id}/activities", data=data, headers=HTMX)
    assert response.status_code == 409
    assert reloaded(db, lead).phone == "+44 20 7946 0958"
    assert db.scalars(select(Activity)).all() == []


def test_a_missing_lead_is_404(client, rep):
    assert client.get("/leads/12345").status_code == 404
    assert client.get("/leads/12345/fields/name").status_code == 404


def test_rep_may_not_convert_disqualify_or_reopen(client, db, rep):
    lead = factories.lead(db, rep)
    token = csrf_token(client, f"/leads/{lead.id}")
    assert client.get(f"/leads/{lead.id}/convert").status_code == 403
    assert client.post(f"/leads/{lead.id}/convert", data={"csrf_token": token}).status_code == 403
    data = {"csrf_token": token, "reason": "no fit"}
    assert client.post(f"/leads/{lead.id}/disqualify", data=data).status_code == 403
    assert client.post(f"/leads/{lead.id}/reopen", data=data).status_code == 403
    db.refresh(lead)
    assert lead.status == "open"


def test_disqualify_needs_a_reason_then_reopen(client, db, coordinator):
    lead = factories.lead(db, coordinator)
    token = csrf_token(client, f"/leads/{lead.id}")
    response = client.post(f"/leads/{lead.id}/disqualify", data={"csrf_token": token})
    assert response.status_code == 422 and "Choose a reason" in response.get_data(as_text=True)
    data = {"csrf_token": token, "reason": "duplicate"}
    assert client.post(f"/leads/{lead.id}/disqualify", data=data).status_code == 303
    assert "Reopen" in client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert client.post(f"/leads/{lead.id}/reopen", data=data).status_code == 303
    db.refresh(lead)
    assert lead.status == "open"


def test_snooze_from_review_mode_returns_to_the_same_step(client, db, rep):
    lead = factories.lead(db, rep, name="Ann")
    token = csrf_token(client, "/leads/review")
    back = "/leads/review?at=1"
    response = client.post(f"/leads/{lead.id}/snooze", data={"csrf_token": token, "next": back})
    assert response.status_code == 303 and response.headers["Location"] == back
    evil = {"csrf_token": token, "next": "//evil.example/"}
    response = client.post(f"/leads/{lead.id}/snooze", data=evil)
    assert response.headers["Location"] == f"/leads/{lead.id}"
