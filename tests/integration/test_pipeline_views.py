"""Agenda, board, forecast, admin and the iCal feed over HTTP: roles, forms, the feed."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from icalendar import Calendar
from sqlalchemy import select

from quickcrm.domain import agenda, demo, opportunities, stages, users
from quickcrm.models import Activity, Company, Lead, LostReason, Opportunity, Stage
from tests.conftest import PASSWORD, csrf_token


def follow_up(db, user, due, name="Maria Novak"):
    activity = Activity(
        kind="task",
        text="Follow up",
        due_on=due,
        lead=Lead(name=name, owner_id=user.id, email="maria@example.com"),
        author_id=user.id,
        assignee_id=user.id,
    )
    db.add(activity)
    db.commit()
    return activity


def opportunity(db, title="Acme — first order", value="10000", stage="New", owner=None):
    stage = db.scalar(select(Stage).where(Stage.name == stage))
    o = Opportunity(
        title=title,
        company=Company(name="Acme", name_key="acme"),
        value=Decimal(value),
        stage=stage,
        probability=stage.probability,
        owner_id=owner.id if owner else None,
    )
    db.add(o)
    db.commit()
    return o


@pytest.mark.parametrize("path", ["/forecast", "/admin"])
def test_a_rep_may_not_open_forecast_or_admin(client, rep, path):
    assert client.get(path).status_code == 403


def test_a_coordinator_sees_the_forecast_but_not_admin(client, coordinator):
    assert client.get("/forecast").status_code == 200
    assert client.get("/admin").status_code == 403
    assert client.get("/forecast?start=2026-13-01").status_code == 422


def test_a_full_column_links_to_the_whole_stage_in_the_list(client, coordinator, db, monkeypatch):
    monkeypatch.setattr(opportunities, "BOARD_CARDS", 2)
    for n in range(3):
        opportunity(db, title=f"Deal {n}")
    new = db.scalar(select(Stage).where(Stage.name == "New"))
    page = client.get("/opportunities").get_data(as_text=True)
    assert page.count('class="opp-card"') == 2
    link = f"/opportunities/list?stage_id={new.id}&amp;outcome=open"
    assert f'href="{link}">Show all 3 in New</a>' in page
    listed = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert all(f"Deal {n}" in listed for n in range(3))


def test_a_card_moved_past_the_first_cards_still_shows_where_it_went(
    client, coordinator, db, monkeypatch
):
    monkeypatch.setattr(opportunities, "BOARD_CARDS", 1)
    soon = opportunity(db, title="Closes soon", stage="Proposal")
    soon.close_on = date.today()
    moved = opportunity(db, title="Moved over")
    db.commit()
    proposal = db.scalar(select(Stage).where(Stage.name == "Proposal"))
    answer = client.post(
        f"/opportunities/{moved.id}/stage",
        data={"stage_id": proposal.id, "csrf_token": csrf_token(client, "/opportunities")},
        headers={"HX-Request": "true"},
    ).get_data(as_text=True)
    assert "Closes soon" in answer and "Moved over" in answer


def test_a_rep_sees_the_board_and_moves_a_stage_of_their_own(client, rep, db):
    o = opportunity(db, owner=rep)
    page = client.get("/opportunities").get_data(as_text=True)
    assert "Acme — first order" in page and ">Stage</label>" in page
    proposal = db.scalar(select(Stage.id).where(Stage.name == "Proposal"))
    response = client.post(
        f"/opportunities/{o.id}/stage",
        data={"stage_id": proposal, "csrf_token": csrf_token(client, "/opportunities")},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert 'id="board"' in response.get_data(as_text=True)
    db.refresh(o)
    assert (o.stage_id, o.probability) == (proposal, 50)


def test_lost_needs_a_reason(client, rep, db):
    stages.ensure_default_lost_reasons(db)
    db.commit()
    o = opportunity(db, owner=rep)
    token = csrf_token(client, "/opportunities")
    response = client.post(f"/opportunities/{o.id}/lost", data={"csrf_token": token})
    assert response.status_code == 422
    assert "Choose why it was lost." in response.get_data(as_text=True)
    db.refresh(o)
    assert o.outcome == "open"
    client.post(f"/opportunities/{o.id}/lost", data={"csrf_token": token, "lost_reason": "Price"})
    db.refresh(o)
    assert (o.outcome, o.lost_reason, o.probability) == ("lost", "Price", 0)


ACTIONS = {
    "stage": lambda db: {"stage_id": db.scalar(select(Stage.id).where(Stage.name == "Proposal"))},
    "won": lambda db: {},
    "lost": lambda db: {"lost_reason": "Price"},
}
OUTCOME_AFTER = {"stage": ("open", "Proposal"), "won": ("won", "Won"), "lost": ("lost", "Lost")}


def act(client, db, o, action, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    data = {**ACTIONS[action](db), "csrf_token": csrf_token(client, "/opportunities")}
    return client.post(f"/opportunities/{o.id}/{action}", data=data, headers=headers)


def outcome_and_stage(db, o):
    db.expire_all()
    stored = db.get(Opportunity, o.id)
    return stored.outcome, stored.stage.name


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "page"])
@pytest.mark.parametrize("action", ["stage", "won", "lost"])
def test_a_rep_acts_on_their_own_opportunity(client, rep, db, action, htmx):
    o = opportunity(db, owner=rep)
    response = act(client, db, o, action, htmx)
    assert response.status_code == (200 if htmx else 303)
    assert outcome_and_stage(db, o) == OUTCOME_AFTER[action]


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "page"])
@pytest.mark.parametrize("action", ["stage", "won", "lost"])
@pytest.mark.parametrize("owned_by", ["another rep", "nobody"])
def test_a_rep_may_not_act_on_an_opportunity_they_do_not_own(
    client, rep, make_user, db, action, htmx, owned_by
):
    other = make_user("other@example.com", "rep", "Otto Other") if owned_by != "nobody" else None
    o = opportunity(db, owner=other)
    response = act(client, db, o, action, htmx)
    assert response.status_code == 403
    assert "Your role does not allow this" in response.get_data(as_text=True)
    assert outcome_and_stage(db, o) == ("open", "New")


@pytest.mark.parametrize("role", ["coordinator", "admin"])
@pytest.mark.parametrize("action", ["stage", "won", "lost"])
def test_a_coordinator_or_admin_acts_on_anyones_opportunity(
    client, make_user, sign_in_as, db, role, action
):
    o = opportunity(db, owner=make_user("other@example.com", "rep", "Otto Other"))
    sign_in_as(role)
    response = act(client, db, o, action, htmx=True)
    assert response.status_code == 200
    assert outcome_and_stage(db, o) == OUTCOME_AFTER[action]


def test_a_rep_sees_every_card_but_the_controls_only_on_their_own(client, rep, make_user, db):
    mine = opportunity(db, "Mine — first order", owner=rep)
    theirs = opportunity(db, "Theirs — renewal", owner=make_user("o@example.com", "rep", "Otto"))
    page = client.get("/opportunities").get_data(as_text=True)
    assert "Mine — first order" in page and "Theirs — renewal" in page
    assert f'id="stage-{mine.id}"' in page and f'id="stage-{theirs.id}"' not in page
    assert f"/opportunities/{mine.id}/won" in page and f"/opportunities/{theirs.id}/won" not in page
    assert f'id="lost-{mine.id}"' in page and f'id="lost-{theirs.id}"' not in page

    own_page = client.get(f"/opportunities/{mine.id}").get_data(as_text=True)
    assert ">Won</button>" in own_page and ">Stage</label>" in own_page
    other_page = client.get(f"/opportunities/{theirs.id}").get_data(as_text=True)
    assert "Theirs — renewal" in other_page
    assert ">Won</button>" not in other_page and ">Stage</label>" not in other_page


def test_the_owner_moves_wins_from_the_opportunity_page_and_comes_back_to_it(client, rep, db):
    o = opportunity(db, owner=rep)
    token = csrf_token(client, f"/opportunities/{o.id}")
    proposal = db.scalar(select(Stage.id).where(Stage.name == "Proposal"))
    moved = client.post(
        f"/opportunities/{o.id}/stage",
        data={"stage_id": proposal, "next": "detail", "csrf_token": token},
        follow_redirects=True,
    )
    assert moved.request.path == f"/opportunities/{o.id}"
    assert "moved to Proposal" in moved.get_data(as_text=True)
    won = client.post(f"/opportunities/{o.id}/won", data={"next": "detail", "csrf_token": token})
    assert won.headers["Location"].endswith(f"/opportunities/{o.id}")
    assert outcome_and_stage(db, o) == ("won", "Won")


def test_a_rep_may_not_edit_an_opportunity_but_a_coordinator_may(client, make_user, auth, db):
    o = opportunity(db)
    make_user("rep@example.com")
    auth.login("rep@example.com")
    token = csrf_token(client, f"/opportunities/{o.id}")
    data = {"title": "Bigger", "value": "12 500", "stage_id": o.stage_id, "probability": "40"}
    assert (
        client.post(f"/opportunities/{o.id}", data={**data, "csrf_token": token}).status_code == 403
    )
    auth.logout()
    make_user("coordinator@example.com", "coordinator")
    auth.login("coordinator@example.com")
    token = csrf_token(client, f"/opportunities/{o.id}")
    bad = client.post(f"/opportunities/{o.id}", data={**data, "value": "lots", "csrf_token": token})
    assert bad.status_code == 422 and "Enter an amount" in bad.get_data(as_text=True)
    assert (
        client.post(f"/opportunities/{o.id}", data={**data, "csrf_token": token}).status_code == 303
    )
    db.refresh(o)
    assert (o.title, o.value, o.probability, o.probability_manual) == (
        "Bigger",
        Decimal("12500.00"),
        40,
        True,
    )


def test_the_list_filters_by_outcome(client, rep, db):
    opportunity(db, "Open one")
    won = opportunity(db, "Won one")
    opportunities.win(db, won)
    db.commit()
    page = client.get("/opportunities/list?outcome=won").get_data(as_text=True)
    assert "Won one" in page and "Open one" not in page


def test_the_list_pages_with_more_keeping_its_filters(client, rep, db, monkeypatch):
    monkeypatch.setattr(opportunities, "LIST_PAGE", 2)
    for n in range(3):
        opportunity(db, f"Deal {n}")
    won = opportunity(db, "Won one")
    opportunities.win(db, won)
    db.commit()
    first = client.get("/opportunities/list?outcome=open").get_data(as_text=True)
    assert "Deal 0" in first and "Deal 1" in first and "Deal 2" not in first
    more = re.search(r'href="([^"]+)">More opportunities</a>', first)
    assert more, "a More link"
    second = client.get(html.unescape(more.group(1))).get_data(as_text=True)
    assert "Deal 2" in second and "Deal 0" not in second and "Won one" not in second
    assert "More opportunities" not in second and "Back to the start" in second


def test_agenda_done_with_a_next_date_and_the_badge(client, rep, db):
    activity = follow_up(db, rep, date.today())
    page = client.get("/agenda").get_data(as_text=True)
    assert "Maria Novak" in page and "1 due today or overdue" in page
    later = (date.today() + timedelta(days=3)).isoformat()
    response = client.post(
        f"/agenda/{activity.id}/done",
        data={
            "outcome": "Spoke to her",
            "next_action_on": later,
            "csrf_token": csrf_token(client, "/agenda"),
        },
    )
    assert response.status_code == 303
    assert agenda.due_count(db, rep.id, date.today()) == 0
    bad = client.post(
        f"/agenda/{activity.id}/done",
        data={"csrf_token": csrf_token(client, "/agenda")},
    )
    assert bad.status_code == 422


def test_coordinators_see_anyones_agenda_reps_do_not(client, make_user, auth, db):
    sam = make_user("sam@example.com", name="Sam Rep")
    follow_up(db, sam, date.today(), "Sams Lead")
    make_user("rep@example.com")
    auth.login("rep@example.com")
    assert client.get(f"/agenda?user={sam.id}").status_code == 403
    auth.logout()
    make_user("coordinator@example.com", "coordinator")
    auth.login("coordinator@example.com")
    assert "Sams Lead" in client.get(f"/agenda?user={sam.id}").get_data(as_text=True)


FEED_URL = re.compile(r'id="feed-url"[^>]*value="https?://[^/]+(/ical/[^"]+\.ics)"')


def new_feed(client) -> str:
    """Make a new calendar address on the calendar page; the path it shows, this once."""
    page = client.post(
        "/agenda/calendar", data={"csrf_token": csrf_token(client, "/agenda/calendar")}
    )
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    return html.unescape(FEED_URL.search(page.get_data(as_text=True)).group(1))


def test_ical_feed_parses_lists_due_items_and_revokes(client, rep, db, app):
    follow_up(db, rep, date.today(), "Maria Novak")
    old = new_feed(client)
    anonymous = app.test_client()
    response = anonymous.get(old)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    events = Calendar.from_ical(response.data).walk("VEVENT")
    assert [str(e["SUMMARY"]) for e in events] == ["Follow up — Maria Novak"]
    assert events[0].decoded("DTSTART") == date.today()
    new = new_feed(client)
    assert anonymous.get(old).status_code == 404
    assert anonymous.get(new).status_code == 200
    # Shown once: the page shows no address afterwards, only a way to make a new one.
    again = client.get("/agenda/calendar").get_data(as_text=True)
    assert "/ical/" not in again and "New address (revokes the old one)" in again


def test_a_feed_secret_is_stored_as_its_hash(client, rep, db):
    path = new_feed(client)
    secret = path.removeprefix("/ical/").removesuffix(".ics")
    db.refresh(rep)
    assert rep.ical_token == agenda.feed_token_hash(secret) and secret not in rep.ical_token


@pytest.mark.parametrize("how", ["sign out", "password change", "deactivation"])
def test_a_feed_ends_with_its_users_sessions(client, rep, db, app, auth, make_user, how):
    path = new_feed(client)
    anonymous = app.test_client()
    assert anonymous.get(path).status_code == 200
    if how == "sign out":
        auth.logout()
    elif how == "password change":
        users.change_password(db, rep, PASSWORD, "a much newer passphrase")
        db.commit()
    else:
        admin = make_user("admin@example.com", "admin", "Ada")
        users.deactivate(db, rep, by=admin)
        users.reactivate(db, rep)
        db.commit()
    assert anonymous.get(path).status_code == 404
    db.refresh(rep)
    assert rep.ical_token is None
    auth.login(
        "rep@example.com", "a much newer passphrase" if how == "password change" else PASSWORD
    )
    assert "Create my calendar address" in client.get("/agenda/calendar").get_data(as_text=True)
    assert anonymous.get(new_feed(client)).status_code == 200


def test_ical_feed_is_rate_limited(client, rep, db, app):
    app.config["ICAL_RATE_LIMIT"] = 2
    token = agenda.regenerate_feed_token(db, rep)
    db.commit()
    codes = [client.get(f"/ical/{token}.ics").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_admin_removes_a_used_stage_only_with_a_destination(client, admin, db):
    o = opportunity(db, stage="Qualified")
    qualified, proposal = (
        db.scalar(select(Stage.id).where(Stage.name == n)) for n in ("Qualified", "Proposal")
    )
    token = csrf_token(client, "/admin")
    refused = client.post(f"/admin/stages/{qualified}/remove", data={"csrf_token": token})
    assert refused.status_code == 422
    assert "choose where they go" in refused.get_data(as_text=True)
    done = client.post(
        f"/admin/stages/{qualified}/remove", data={"csrf_token": token, "move_to": proposal}
    )
    assert done.status_code == 303
    db.expire_all()
    assert db.get(Stage, qualified) is None
    assert (db.get(Opportunity, o.id).stage_id, db.get(Opportunity, o.id).probability) == (
        proposal,
        50,
    )
    bad = client.post(
        "/admin/stages", data={"csrf_token": token, "name": "Demo", "probability": "120"}
    )
    assert bad.status_code == 422
    assert (
        client.post(
            "/admin/lost-reasons", data={"csrf_token": token, "reason": "Timing"}
        ).status_code
        == 303
    )
    assert stages.lost_reasons(db)[-1] == "Timing"


def test_htmx_requests_get_the_blocks(client, coordinator, db):
    first = follow_up(db, coordinator, date.today())
    follow_up(db, coordinator, date.today(), "Ines Garcia")
    o = opportunity(db)
    token = csrf_token(client, "/agenda")
    hx = {"HX-Request": "true"}
    snoozed = client.post(
        f"/agenda/{first.id}/snooze", data={"csrf_token": token, "by": "week"}, headers=hx
    )
    assert snoozed.status_code == 200
    assert "Ines Garcia" in snoozed.get_data(as_text=True)
    assert "<html" not in snoozed.get_data(as_text=True)
    period = client.get("/forecast?start=2026-01-01&end=2026-12-31", headers=hx)
    assert period.status_code == 200 and "Funnel" in period.get_data(as_text=True)
    bad = client.post(
        f"/opportunities/{o.id}",
        data={
            "csrf_token": token,
            "title": "",
            "value": "1",
            "stage_id": o.stage_id,
            "probability": "10",
        },
        headers=hx,
    )
    assert bad.status_code == 422
    assert "Enter a title" in bad.get_data(as_text=True)


def test_demo_data_renders_on_every_page(client, db, app, auth):
    demo.seed(db, password="demo-password", password_method=app.config["PASSWORD_METHOD"])
    db.commit()
    auth.login("coordinator@demo.quickcrm", "demo-password")
    for path in ("/agenda", "/opportunities", "/opportunities/list", "/forecast"):
        assert client.get(path).status_code == 200, path
    sam = db.scalar(select(Lead.owner_id).where(Lead.owner.has(name="Sam Rep")).limit(1))
    assert "Follow up" in client.get(f"/agenda?user={sam}").get_data(as_text=True)
    some = db.scalar(select(Opportunity.id).limit(1))
    assert client.get(f"/opportunities/{some}").status_code == 200


def test_activities_are_logged_on_an_opportunity_and_bad_input_is_refused(client, rep, db):
    o = opportunity(db)
    token = csrf_token(client, f"/opportunities/{o.id}")
    response = client.post(
        f"/opportunities/{o.id}/activities",
        data={"kind": "call", "text": "Asked for the revised quote", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "Asked for the revised quote" in response.get_data(as_text=True)
    refused = client.post(
        f"/opportunities/{o.id}/activities",
        data={
            "kind": "note",
            "text": "x",
            "repeat_every": "2",
            "repeat_unit": "week",
            "csrf_token": token,
        },
    )
    assert refused.status_code == 422
    assert "Only a task with a due date can repeat." in refused.get_data(as_text=True)
    logged = db.scalars(select(Activity).where(Activity.opportunity_id == o.id)).all()
    assert [(a.kind, a.text, a.author_id) for a in logged] == [
        ("call", "Asked for the revised quote", rep.id)
    ]
    page = client.get(f"/companies/{o.company_id}").get_data(as_text=True)
    assert f'href="/opportunities/{o.id}"' in page


def test_admin_cannot_remove_the_last_lost_reason(client, admin, db):
    token = csrf_token(client, "/admin")
    reasons = list(db.scalars(select(LostReason).order_by(LostReason.position)))
    for reason in reasons[:-1]:
        url = f"/admin/lost-reasons/{reason.id}/remove"
        assert client.post(url, data={"csrf_token": token}).status_code == 303
    last = client.post(f"/admin/lost-reasons/{reasons[-1].id}/remove", data={"csrf_token": token})
    assert last.status_code == 422
    assert "Keep at least one lost reason" in last.get_data(as_text=True)
    assert stages.lost_reasons(db) == [reasons[-1].name]
