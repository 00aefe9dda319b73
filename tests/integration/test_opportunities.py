"""Opportunities over HTTP: the board, moving stages, won and lost, editing, the list, the
activities logged on one, and who may do what."""

from __future__ import annotations

import html
import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from quickcrm.domain import demo, opportunities, stages
from quickcrm.models import Activity, Lead, Opportunity, Stage
from tests import factories
from tests.conftest import csrf_token


def test_a_full_column_links_to_the_whole_stage_in_the_list(client, coordinator, db, monkeypatch):
    monkeypatch.setattr(opportunities, "BOARD_CARDS", 2)
    for n in range(3):
        factories.opportunity(db, title=f"Deal {n}")
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
    soon = factories.opportunity(db, title="Closes soon", stage_name="Proposal")
    soon.close_on = date.today()
    moved = factories.opportunity(db, title="Moved over")
    db.commit()
    proposal = db.scalar(select(Stage).where(Stage.name == "Proposal"))
    answer = client.post(
        f"/opportunities/{moved.id}/stage",
        data={"stage_id": proposal.id, "csrf_token": csrf_token(client, "/opportunities")},
        headers={"HX-Request": "true"},
    ).get_data(as_text=True)
    assert "Closes soon" in answer and "Moved over" in answer


def test_a_rep_sees_the_board_and_moves_a_stage_of_their_own(client, rep, db):
    o = factories.opportunity(db, owner=rep)
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
    o = factories.opportunity(db, owner=rep)
    token = csrf_token(client, "/opportunities")
    response = client.post(f"/opportunities/{o.id}/lost", data={"csrf_token": token})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choose why it was lost." in page
    # The card's menu and its Lost panel stay open on the board, the error in view.
    assert re.search(rf'aria-expanded="true"\s+aria-controls="actions-{o.id}"', page)
    assert f'id="actions-{o.id}" class="opp-menu" data-keep-open' in page
    assert f'aria-expanded="true" aria-controls="lost-{o.id}"' in page
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
    o = factories.opportunity(db, owner=rep)
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
    o = factories.opportunity(db, owner=other)
    response = act(client, db, o, action, htmx)
    assert response.status_code == 403
    assert "Your role does not allow this" in response.get_data(as_text=True)
    assert outcome_and_stage(db, o) == ("open", "New")


@pytest.mark.parametrize("role", ["coordinator", "admin"])
@pytest.mark.parametrize("action", ["stage", "won", "lost"])
def test_a_coordinator_or_admin_acts_on_anyones_opportunity(
    client, make_user, sign_in_as, db, role, action
):
    o = factories.opportunity(db, owner=make_user("other@example.com", "rep", "Otto Other"))
    sign_in_as(role)
    response = act(client, db, o, action, htmx=True)
    assert response.status_code == 200
    assert outcome_and_stage(db, o) == OUTCOME_AFTER[action]


def test_a_rep_sees_every_card_but_the_controls_only_on_their_own(client, rep, make_user, db):
    mine = factories.opportunity(db, title="Mine — first order", owner=rep)
    theirs = factories.opportunity(
        db, title="Theirs — renewal", owner=make_user("o@example.com", "rep", "Otto")
    )
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
    o = factories.opportunity(db, owner=rep)
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
    o = factories.opportunity(db)
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
    factories.opportunity(db, title="Open one")
    won = factories.opportunity(db, title="Won one")
    opportunities.win(db, won)
    db.commit()
    page = client.get("/opportunities/list?outcome=won").get_data(as_text=True)
    assert "Won one" in page and "Open one" not in page


def test_the_list_pages_with_more_keeping_its_filters(client, rep, db, monkeypatch):
    monkeypatch.setattr(opportunities, "LIST_PAGE", 2)
    for n in range(3):
        factories.opportunity(db, title=f"Deal {n}")
    won = factories.opportunity(db, title="Won one")
    opportunities.win(db, won)
    db.commit()
    first = client.get("/opportunities/list?outcome=open").get_data(as_text=True)
    assert "Deal 0" in first and "Deal 1" in first and "Deal 2" not in first
    more = re.search(r'href="([^"]+)">More opportunities</a>', first)
    assert more, "a More link"
    second = client.get(html.unescape(more.group(1))).get_data(as_text=True)
    assert "Deal 2" in second and "Deal 0" not in second and "Won one" not in second
    assert "More opportunities" not in second and "Back to the start" in second


def test_htmx_edit_refused_gets_the_forms_block(client, coordinator, db):
    o = factories.opportunity(db)
    token = csrf_token(client, f"/opportunities/{o.id}")
    bad = client.post(
        f"/opportunities/{o.id}",
        data={
            "csrf_token": token,
            "title": "",
            "value": "1",
            "stage_id": o.stage_id,
            "probability": "10",
        },
        headers={"HX-Request": "true"},
    )
    assert bad.status_code == 422
    assert "Enter a title" in bad.get_data(as_text=True)


def test_activities_are_logged_on_an_opportunity_and_bad_input_is_refused(client, rep, db):
    o = factories.opportunity(db)
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
