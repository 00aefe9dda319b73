"""Capturing leads as plain functions over a session."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from quickcrm.domain import leads
from quickcrm.domain import validation as v
from quickcrm.models import Activity, Lead, utcnow
from tests import factories

TODAY = date(2026, 11, 23)


def clean(**raw):
    return leads.LeadForm.clean(None, raw, today=TODAY, phone_region="GB")


def test_only_the_name_is_required():
    form = clean(name="Maria")
    assert form.ok
    assert form.values["name"] == "Maria"
    assert all(form.values[f] is None for f in leads.CAPTURE_FIELDS if f != "name")


def test_every_bad_field_is_reported_at_once():
    form = clean(name="", email="x", phone="1", temperature="tepid", next_action_on="soon")
    assert set(form.errors) == {"name", "email", "phone", "temperature", "next_action_on"}


def test_capture_makes_an_open_lead_with_its_next_action(db, make_user):
    rep = make_user()
    lead = leads.capture_lead(
        db, rep, clean(name="Maria", temperature="hot", next_action_on="2026-11-24")
    )
    assert (lead.status, lead.owner_id, lead.temperature) == ("open", rep.id, "hot")
    assert lead.uuid is not None
    action = leads.next_action(db, lead)
    assert (action.kind, action.due_on, action.done, action.assignee_id) == (
        "task",
        date(2026, 11, 24),
        False,
        rep.id,
    )


def test_capture_without_a_date_has_no_next_action(db, make_user):
    lead = leads.capture_lead(db, make_user(), clean(name="Maria"))
    assert leads.next_action(db, lead) is None


FULL = {
    "name": "Maria Novak",
    "temperature": "warm",
    "company_name": "Acme",
    "phone": "+44 20 7946 0958",
    "email": "maria@example.com",
    "source": "Expo",
    "note": "Wants a quote",
}
PLAIN_FIELDS = [name for name in leads.LEAD_FIELDS if name != "next_action"]


def save(db, lead, editor, field, /, **data):
    return leads.update_field(db, lead, editor, field, data, today=TODAY, phone_region="GB")


def fields_of(db, lead) -> dict:
    db.expire_all()
    lead = db.get(Lead, lead.id)
    return {name: getattr(lead, name) for name in PLAIN_FIELDS}


@pytest.mark.parametrize(
    "name, typed, kept",
    [
        ("name", "  Maria   Novak-Smith ", "Maria Novak-Smith"),
        ("temperature", "Hot", "hot"),
        ("temperature", "", None),
        ("company_name", "Acme Ltd", "Acme Ltd"),
        ("phone", "020 7946 0000", "020 7946 0000"),
        ("phone", "", None),
        ("email", "Maria@Example.COM", "Maria@example.com"),
        ("source", "Referral", "Referral"),
        ("note", "  Call after the 15th ", "Call after the 15th"),
    ],
)
def test_update_field_saves_that_field_alone(db, make_user, name, typed, kept):
    rep = make_user()
    lead = leads.capture_lead(db, rep, clean(**FULL))
    before = fields_of(db, lead)
    save(db, lead, rep, name, **{name: typed})
    assert fields_of(db, lead) == {**before, name: kept}


@pytest.mark.parametrize(
    "name, typed, message",
    [
        ("name", "  ", "Enter a name — a person or a business."),
        ("name", "x" * 201, "Keep it under 200 characters (this is 201)."),
        ("temperature", "tepid", "Choose cold, warm or hot."),
        ("company_name", "x" * 201, "Keep it under 200 characters (this is 201)."),
        ("phone", "12", "Enter a phone number, with its country code if it is abroad (+44 …)."),
        ("email", "maria@", "Enter an email address like name@example.com."),
        ("source", "x" * 121, "Keep it under 120 characters (this is 121)."),
        ("note", "x" * 5001, "Keep the note under 5000 characters."),
    ],
)
def test_update_field_refuses_bad_input_as_the_capture_does(db, make_user, name, typed, message):
    rep = make_user()
    lead = leads.capture_lead(db, rep, clean(**FULL))
    before = fields_of(db, lead)
    with pytest.raises(v.Refused) as refused:
        save(db, lead, rep, name, **{name: typed})
    assert refused.value.errors == {name: message}
    # One check per field: the capture form says the same.
    assert clean(**{**FULL, name: typed}).errors == {name: message}
    assert fields_of(db, lead) == before


def test_update_field_knows_only_the_lead_pages_fields(db, make_user):
    rep = make_user()
    lead = leads.capture_lead(db, rep, clean(name="Maria"))
    for name in ("status", "owner_id", "next_action_on"):
        with pytest.raises(KeyError):
            save(db, lead, rep, name, **{name: "x"})


def test_the_next_action_text_and_date_change_on_the_same_activity(db, make_user):
    rep = make_user()
    lead = leads.capture_lead(db, rep, clean(name="Maria", next_action_on="2026-11-24"))
    action_id = leads.next_action(db, lead).id
    save(
        db, lead, rep, "next_action", next_action_text="Send the quote", next_action_on="2026-12-01"
    )
    action = leads.next_action(db, lead)
    assert (action.id, action.text, action.due_on) == (
        action_id,
        "Send the quote",
        date(2026, 12, 1),
    )
    # An empty text is the capture's default.
    save(db, lead, rep, "next_action", next_action_text=" ", next_action_on="2026-12-01")
    assert leads.next_action(db, lead).text == leads.NEXT_ACTION_TEXT
    assert len(db.scalars(select(Activity)).all()) == 1


def test_a_next_action_is_made_for_the_leads_owner(db, make_user):
    rep, coordinator = make_user(), make_user("cora@example.com", "coordinator")
    lead = leads.capture_lead(db, rep, clean(name="Maria"))
    save(db, lead, coordinator, "next_action", next_action_text="Demo", next_action_on="2026-11-30")
    action = leads.next_action(db, lead)
    assert (action.kind, action.text, action.due_on, action.done) == (
        "task",
        "Demo",
        date(2026, 11, 30),
        False,
    )
    assert (action.assignee_id, action.author_id) == (rep.id, coordinator.id)


def test_clearing_the_date_removes_the_next_action(db, make_user):
    rep = make_user()
    lead = leads.capture_lead(db, rep, clean(name="Maria", next_action_on="2026-11-24"))
    save(db, lead, rep, "next_action", next_action_text="Follow up", next_action_on="")
    assert leads.next_action(db, lead) is None
    assert db.scalars(select(Activity)).all() == []


@pytest.mark.parametrize(
    "data, errors",
    [
        (
            {"next_action_text": "Call back", "next_action_on": ""},
            {"next_action_on": "Pick a date for the next action."},
        ),
        (
            {"next_action_text": "Call back", "next_action_on": "soon"},
            {"next_action_on": "Enter a date like 2026-11-24."},
        ),
        (
            {"next_action_text": "x" * 201, "next_action_on": "2029-01-01"},
            {
                "next_action_text": "Keep it under 200 characters (this is 201).",
                "next_action_on": "Pick a date from today up to two years ahead.",
            },
        ),
    ],
)
def test_a_bad_next_action_changes_nothing(db, make_user, data, errors):
    rep = make_user()
    lead = leads.capture_lead(db, rep, clean(name="Maria"))
    with pytest.raises(v.Refused) as refused:
        save(db, lead, rep, "next_action", **data)
    assert refused.value.errors == errors
    assert db.scalars(select(Activity)).all() == []


def test_an_overdue_next_action_keeps_its_date_but_gets_no_new_past_one(db, make_user):
    rep = make_user()
    lead = leads.capture_lead(db, rep, clean(name="Maria"))
    db.add(Activity(kind="call", text="Ring", due_on=date(2026, 11, 2), lead=lead, author=rep))
    db.commit()
    save(db, lead, rep, "next_action", next_action_text="Ring again", next_action_on="2026-11-02")
    action = leads.next_action(db, lead)
    assert (action.text, action.due_on) == ("Ring again", date(2026, 11, 2))
    with pytest.raises(v.Refused):
        save(db, lead, rep, "next_action", next_action_text="Ring", next_action_on="2026-11-01")
    db.expire_all()
    assert leads.next_action(db, lead).due_on == date(2026, 11, 2)


def test_a_converted_lead_is_history_a_disqualified_one_stays_editable(db, make_user):
    rep = make_user()
    lead = leads.capture_lead(db, rep, clean(**FULL))
    assert leads.edit_refusal(lead) is None
    leads.disqualify(db, lead, "no fit")
    assert leads.edit_refusal(lead) is None
    save(db, lead, rep, "phone", phone="+44 20 7946 0000")

    lead.status = "converted"
    db.commit()
    assert "Maria Novak has been converted" in leads.edit_refusal(lead)
    before = fields_of(db, lead)
    for name, data in (
        ("name", {"name": "Someone else"}),
        ("next_action", {"next_action_text": "Call", "next_action_on": "2026-11-30"}),
    ):
        with pytest.raises(v.Conflict, match="converted"):
            save(db, lead, rep, name, **data)
    assert fields_of(db, lead) == before
    assert leads.next_action(db, lead) is None


def test_a_leads_next_action_date_follows_its_open_activities(db, make_user):
    rep = make_user()
    a = leads.capture_lead(db, rep, clean(name="A", next_action_on="2026-12-10"))
    b = leads.capture_lead(db, rep, clean(name="B"))
    assert (a.next_action_on, b.next_action_on) == (date(2026, 12, 10), None)

    sooner = Activity(kind="task", text="x", due_on=date(2026, 12, 2), lead=a, author=rep)
    db.add(sooner)
    db.add(
        Activity(kind="task", text="y", due_on=date(2026, 11, 25), lead=a, author=rep, done=True)
    )
    db.commit()
    assert a.next_action_on == date(2026, 12, 2)  # done tasks do not count

    sooner.done = True
    db.commit()
    assert a.next_action_on == date(2026, 12, 10)

    sooner.done, sooner.lead = False, b  # an activity moved to another lead
    db.commit()
    assert (a.next_action_on, b.next_action_on) == (date(2026, 12, 10), date(2026, 12, 2))

    db.delete(sooner)
    db.commit()
    db.expire_all()
    assert db.get(Lead, b.id).next_action_on is None


def test_undo_rules(db, make_user):
    rep, other = make_user(), make_user("other@example.com")
    lead = leads.capture_lead(db, rep, clean(name="Maria"))
    window = timedelta(minutes=5)
    assert leads.undo_refusal(lead, rep, window=window) is None
    assert "Only the rep" in leads.undo_refusal(lead, other, window=window)
    later = utcnow() + timedelta(minutes=6)
    assert "5 minutes" in leads.undo_refusal(lead, rep, window=window, now=later)
    lead.status = "converted"
    assert "already been worked on" in leads.undo_refusal(lead, rep, window=window)
    with pytest.raises(v.Conflict):
        leads.undo_capture(db, lead, rep, window=window)
    lead.status = "open"
    leads.undo_capture(db, lead, rep, window=window)
    assert db.scalars(select(Lead)).all() == []


def test_store_capture_is_once_per_key(db, make_user):
    rep = make_user()
    key = uuid.uuid4()
    first = leads.store_capture(db, rep, clean(name="Maria", next_action_on="2026-11-24"), key)
    db.commit()  # as the request that stored it does
    again = leads.store_capture(db, rep, clean(name="Maria", next_action_on="2026-11-24"), key)
    assert (first.created, again.created) == (True, False)
    assert again.lead_id == first.lead_id
    assert db.scalars(select(Lead.uuid)).all() == [key]
    # The second attempt left no stray next action behind.
    assert len(db.scalars(select(Activity)).all()) == 1


def test_store_capture_refuses_another_users_key(db, make_user):
    rep, other = make_user(), make_user("other@example.com")
    key = uuid.uuid4()
    leads.store_capture(db, rep, clean(name="Maria"), key)
    db.commit()  # as the request that stored it does
    with pytest.raises(v.Conflict):
        leads.store_capture(db, other, clean(name="Mallory"), key)
    assert db.scalars(select(Lead.name)).all() == ["Maria"]


def test_store_capture_keeps_the_phone_time_and_place(db, make_user):
    when = utcnow() - timedelta(hours=2)
    stored = leads.store_capture(
        db,
        make_user(),
        clean(name="Maria"),
        uuid.uuid4(),
        captured_at=when,
        latitude=51.5,
        longitude=-0.12,
    )
    db.expire_all()
    lead = db.get(Lead, stored.lead_id)
    assert (lead.captured_at, lead.latitude, lead.longitude) == (when, 51.5, -0.12)


def test_capture_key_accepts_only_uuids():
    key = uuid.uuid4()
    assert leads.capture_key(str(key)) == key
    assert leads.capture_key(f" {key} ") == key
    assert leads.capture_key("") is None
    assert leads.capture_key(None) is None
    assert leads.capture_key("not-a-uuid") is None


NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "sent, kept",
    [
        ("2026-11-23T09:30:00Z", datetime(2026, 11, 23, 9, 30, tzinfo=UTC)),
        ("2026-11-23T10:30:00+01:00", datetime(2026, 11, 23, 9, 30, tzinfo=UTC)),
        ("2026-11-23T09:30:00", datetime(2026, 11, 23, 9, 30, tzinfo=UTC)),
        # A phone a few minutes fast: never in the future.
        ("2026-11-23T12:05:00Z", NOW),
        # A wrong clock, months ago or years ahead, or nothing sensible: the server's time.
        ("2026-01-01T00:00:00Z", NOW),
        ("2031-01-01T00:00:00Z", NOW),
        ("yesterday", NOW),
        ("", NOW),
        (None, NOW),
    ],
)
def test_captured_time_believes_the_phone_within_reason(sent, kept):
    assert leads.captured_time(sent, now=NOW) == kept


@pytest.mark.parametrize(
    "lat, lng, kept",
    [
        (51.5074, -0.1278, (51.5074, -0.1278)),
        ("48.8566", "2.3522", (48.8566, 2.3522)),
        (91, 0, (None, None)),
        (0, 181, (None, None)),
        ("nan", 0, (None, None)),
        ("", "", (None, None)),
        (None, 2.0, (None, None)),
    ],
)
def test_location_keeps_only_a_place_on_earth(lat, lng, kept):
    assert leads.location(lat, lng) == kept


def test_disqualify_needs_a_reason_and_reopen_undoes_it(db, make_user):
    owner = make_user()
    lead = factories.lead(db, owner)
    with pytest.raises(v.Refused):
        leads.disqualify(db, lead, "bored")
    leads.disqualify(db, lead, "no budget")
    assert (lead.status, lead.disqualified_reason) == ("disqualified", "no budget")
    with pytest.raises(v.Conflict):
        leads.disqualify(db, lead, "no fit")
    leads.reopen(db, lead)
    assert (lead.status, lead.disqualified_reason) == ("open", None)


def test_snooze_moves_the_next_action_a_week_from_today_or_its_date(db, make_user):
    owner = make_user()
    lead = factories.lead(db, owner)
    assert leads.snooze(db, lead, owner, today=TODAY).due_on == date(2026, 11, 30)
    assert leads.snooze(db, lead, owner, today=TODAY).due_on == date(2026, 12, 7)
    assert db.query(Activity).filter_by(lead_id=lead.id).count() == 1
