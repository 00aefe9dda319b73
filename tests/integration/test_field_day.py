"""A field day on the phone, on the server's side: the phone's copy of the capture page;
Done, Snooze and notes sent again under the phone's UUID apply once (the files the service
worker keeps: test_offline_shell.py)."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

from sqlalchemy import func, select

from quickcrm.models import Activity, Lead, OfflineAction
from tests import factories
from tests.integration.test_capture_sync import csrf_token


def test_the_phones_copy_of_the_capture_page_has_no_saved_message(client, rep):
    token = csrf_token(client, "/")
    client.post("/", data={"csrf_token": token, "name": "Shown Once"})
    shell = client.get("/", headers={"X-QuickCRM-Shell": "1"}).get_data(as_text=True)
    assert "Saved —" not in shell and "Shown Once" in shell  # in recent captures only
    assert "Saved — <strong>Shown Once" in client.get("/").get_data(as_text=True)


def _due_today(db, rep) -> Activity:
    lead = Lead(name="Maria Novak", owner_id=rep.id)
    activity = Activity(kind="task", text="Call back", due_on=date.today(), author_id=rep.id,
                        assignee_id=rep.id, lead=lead)  # fmt: skip
    db.add(activity)
    db.commit()
    return activity


def test_done_sent_twice_under_one_key_is_applied_once(client, db, rep):
    activity = _due_today(db, rep)
    key = str(uuid.uuid4())
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    data = {"csrf_token": csrf_token(client, "/agenda"), "client_key": key,
            "next_action_on": tomorrow, "outcome": "Left a voicemail"}  # fmt: skip
    for _ in range(2):
        response = client.post(
            f"/agenda/{activity.id}/done", data=data, headers={"HX-Request": "true"}
        )
        assert response.status_code == 200
    db.expire_all()
    open_ones = db.scalars(select(Activity).where(Activity.done.is_(False))).all()
    assert [a.due_on.isoformat() for a in open_ones] == [tomorrow]
    notes = db.scalars(select(Activity).where(Activity.kind == "note")).all()
    assert [n.text for n in notes] == ["Left a voicemail"]
    assert db.scalar(select(func.count(OfflineAction.key))) == 1


def test_snooze_sent_twice_under_one_key_puts_off_once(client, db, rep):
    activity = _due_today(db, rep)
    data = {"csrf_token": csrf_token(client, "/agenda"), "client_key": str(uuid.uuid4()),
            "by": "day"}  # fmt: skip
    for _ in range(2):
        assert client.post(f"/agenda/{activity.id}/snooze", data=data).status_code == 303
    db.expire_all()
    assert db.get(Activity, activity.id).due_on == date.today() + timedelta(days=1)
    # Without a key (a page without the queue) each Snooze counts.
    del data["client_key"]
    client.post(f"/agenda/{activity.id}/snooze", data=data)
    db.expire_all()
    assert db.get(Activity, activity.id).due_on == date.today() + timedelta(days=2)


def test_a_note_sent_twice_under_one_key_is_stored_once(client, db, rep):
    lead = factories.lead(db, rep, "Maria Novak")
    data = {"csrf_token": csrf_token(client, f"/leads/{lead.id}"), "kind": "note",
            "text": "Met at the stand", "client_key": str(uuid.uuid4())}  # fmt: skip
    urls = [r.rule for r in client.application.url_map.iter_rules() if "activities" in r.rule]
    url = next(u for u in urls if u.startswith("/leads/")).replace("<int:lead_id>", str(lead.id))
    for _ in range(2):
        assert client.post(url, data=data, headers={"HX-Request": "true"}).status_code == 200
    db.expire_all()
    notes = db.scalars(select(Activity).where(Activity.lead_id == lead.id)).all()
    assert [n.text for n in notes] == ["Met at the stand"]


def test_the_agenda_pages_a_long_week_and_says_how_many_more(client, db, rep):
    soon = date.today() + timedelta(days=3)
    lead = Lead(name="Maria Novak", owner_id=rep.id)  # an activity belongs to a record
    for i in range(60):
        db.add(Activity(kind="task", text=f"Item {i:02}", due_on=soon, author_id=rep.id,
                        assignee_id=rep.id, lead=lead))  # fmt: skip
    db.commit()
    first = client.get("/agenda").get_data(as_text=True)
    assert first.count('class="agenda-item"') == 30
    more = re.search(r'href="(/agenda\?week_after=[^"]+)"[^>]*>30 more this week</a>', first)
    # Without JavaScript: the page that starts after the last item shown, and a way back.
    second = client.get(more.group(1)).get_data(as_text=True)
    assert second.count('class="agenda-item"') == 30 and "Item 59" in second
    assert "Back to the first 30" in second and "more this week" not in second
    # With htmx: just the next items, put in place of the link.
    items = client.get(more.group(1), headers={"HX-Request": "true"}).get_data(as_text=True)
    assert items.strip().startswith('<li class="agenda-item"') and "<section" not in items
    assert items.count('class="agenda-item"') == 30 and "Item 59" in items
    for nonsense in ("nonsense", "2026-02-30.1", "2026-01-01.x", "2026-01-01.99999999999"):
        assert client.get(f"/agenda?week_after={nonsense}").status_code == 200
