"""Merging two leads over HTTP (quickcrm/views/lead_merges.py): Merge into… on the lead
page and in review mode, the compare page, Merge, Undo, the merged lead's URL, the
Possible duplicates list, and what reps and bad input get."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import select

from quickcrm.models import Lead, LeadMerge
from tests import factories
from tests.conftest import csrf_token


@pytest.fixture
def pair(db, make_user):
    sam = make_user("sam@example.com", "rep", "Sam Rep")
    kept = factories.lead(db, sam, "Maria Novak", email="maria@acme.example", source="Fair")
    merged = factories.lead(db, sam, "Maria Novák", phone="020 7946 0958", source="Web")
    return kept, merged


def _merge(client, merged, kept, **choices):
    token = csrf_token(client, f"/leads/{merged.id}/merge/{kept.id}")
    return client.post(f"/leads/{merged.id}/merge/{kept.id}", data={"csrf_token": token, **choices})


def test_from_the_lead_page_to_a_merge_and_its_undo(client, db, coordinator, pair):
    kept, merged = pair
    page = client.get(f"/leads/{merged.id}").get_data(as_text=True)
    assert f'href="/leads/{merged.id}/merge"' in page and "Merge into…" in page
    pick = client.get(f"/leads/{merged.id}/merge").get_data(as_text=True)
    assert "Likely duplicates" in pick and f"/leads/{merged.id}/merge/{kept.id}" in pick
    found = client.get(f"/leads/{merged.id}/merge?q=Novak", headers={"HX-Request": "true"})
    assert found.status_code == 200 and "Maria Novak" in found.get_data(as_text=True)
    compare = client.get(f"/leads/{merged.id}/merge/{kept.id}").get_data(as_text=True)
    assert re.search(r'name="source" value="merged"', compare)
    assert 'name="email"' not in compare or "checked" in compare  # fills the gap
    response = _merge(client, merged, kept, source="merged")
    assert response.status_code == 303 and response.headers["Location"] == f"/leads/{kept.id}"
    db.expire_all()
    assert db.get(Lead, kept.id).source == "Web"
    assert db.get(Lead, kept.id).phone == "020 7946 0958"
    shown = client.get(f"/leads/{kept.id}").get_data(as_text=True)
    assert "Merged — " in shown and "Maria Novák" in shown and ">Undo</button>" in shown
    # The merged lead's URL leads to the kept one.
    gone = client.get(f"/leads/{merged.id}")
    assert gone.status_code == 303 and gone.headers["Location"] == f"/leads/{kept.id}"
    merge = db.scalar(select(LeadMerge))
    token = csrf_token(client, f"/leads/{kept.id}")
    undone = client.post(f"/leads/merges/{merge.id}/undo", data={"csrf_token": token})
    assert undone.status_code == 303 and undone.headers["Location"] == f"/leads/{merged.id}"
    db.expire_all()
    assert db.get(Lead, kept.id).source == "Fair"
    assert db.get(Lead, merged.id).status == "open"
    again = client.post(f"/leads/merges/{merge.id}/undo", data={"csrf_token": token})
    assert again.status_code == 303
    assert "already undone" in client.get(again.headers["Location"]).get_data(as_text=True)


def test_review_mode_offers_merge_and_comes_back(client, db, coordinator, pair):
    kept, merged = pair
    review = client.get("/leads/review?sort=name&status=open").get_data(as_text=True)
    link = re.search(r'href="(/leads/\d+/merge\?next=[^"]+)"', review).group(1)
    pick = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    back = re.search(r'name="next" value="([^"]+)"', pick).group(1).replace("&amp;", "&")
    assert back.startswith("/leads/review")
    first = int(re.search(r"/leads/(\d+)/merge", link).group(1))
    other = kept if first == merged.id else merged
    this = db.get(Lead, first)
    response = _merge(client, this, other, next=back)
    assert response.status_code == 303 and response.headers["Location"] == back


def test_a_refused_merge_says_why(client, db, coordinator, pair):
    kept, merged = pair
    kept.status = "converted"
    db.commit()
    response = _merge(client, merged, kept)
    assert response.status_code == 409
    assert "has been converted" in response.get_data(as_text=True)
    itself = _merge(client, merged, merged)
    assert itself.status_code == 409 and "into itself" in itself.get_data(as_text=True)
    assert db.scalar(select(LeadMerge)) is None


def test_a_bad_choice_is_refused_with_the_page(client, db, coordinator, pair):
    kept, merged = pair
    response = _merge(client, merged, kept, source="both", name="whose?")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choose which source to keep." in page and "Choose which name to keep." in page
    assert db.scalar(select(LeadMerge)) is None


def test_missing_leads_and_bad_ids_are_not_found(client, coordinator, pair):
    kept, merged = pair
    assert client.get(f"/leads/{merged.id}/merge/999999").status_code == 404
    assert client.get(f"/leads/999999/merge/{kept.id}").status_code == 404
    assert client.get("/leads/999999/merge").status_code == 404
    token = csrf_token(client, "/leads/")
    assert client.post("/leads/merges/999999/undo", data={"csrf_token": token}).status_code == 404
    assert client.get("/leads/duplicates?by=colour").status_code == 404
    assert client.get("/leads/duplicates?by=email&after=%00").status_code == 400


def test_reps_get_403_and_see_no_merge_button(client, db, rep):
    mine = factories.lead(db, rep, "Maria")
    other = factories.lead(db, rep, "Maria")
    page = client.get(f"/leads/{mine.id}").get_data(as_text=True)
    assert "Merge into" not in page
    assert client.get(f"/leads/{mine.id}/merge").status_code == 403
    assert client.get("/leads/duplicates").status_code == 403
    assert _merge(client, mine, other).status_code == 403


def test_a_rep_whose_lead_was_merged_into_anothers_sees_where_it_went(client, db, rep, make_user):
    from quickcrm.domain import merge as merging

    boss = make_user("cora@example.com", "coordinator", "Cora")
    sam = make_user("sam@example.com", "rep", "Sam Rep")
    kept = factories.lead(db, sam, "Maria")
    mine = factories.lead(db, rep, "Maria")
    merging.merge_leads(db, kept, mine, {}, boss)
    page = client.get(f"/leads/{mine.id}")
    assert page.status_code == 200
    assert "Merged into Maria (Sam Rep's lead)" in page.get_data(as_text=True)


def test_possible_duplicates_list(client, db, coordinator, pair):
    kept, merged = pair
    factories.lead(db, coordinator, "Jo", phone="+44 161 496 0000")
    factories.lead(db, coordinator, "Joe", phone="0161 496 0000")
    page = client.get("/leads/duplicates").get_data(as_text=True)
    assert "Possible duplicates" in page and "Same phone" in page
    assert f"/leads/{merged.id}/merge/{kept.id}" in page  # names group: keep the first
    assert "Merge<span" in page
    leads_list = client.get("/leads/").get_data(as_text=True)
    assert 'href="/leads/duplicates"' in leads_list
    _merge(client, merged, kept)
    empty = client.get("/leads/duplicates?by=name").get_data(as_text=True)
    assert "No open leads share a name" in empty


@pytest.mark.commits  # threads, each with a connection of its own
def test_two_coordinators_merging_the_same_pair_at_once_merge_it_once(app, db, make_user):
    cora = make_user("coordinator@example.com", "coordinator", "Cora")
    one = factories.lead(db, cora, "Maria Novak", source="Fair")
    two = factories.lead(db, cora, "Maria Novak", source="Web")
    clients = [app.test_client() for _ in range(4)]
    for client in clients:
        client.post(
            "/login",
            data={"email": cora.email, "password": "correct horse battery",
                  "csrf_token": csrf_token(client)},
        )  # fmt: skip
    # Two merge two into one, two merge one into two: the pair both ways.
    jobs = [(client, (two, one) if n % 2 == 0 else (one, two)) for n, client in enumerate(clients)]
    forms = [csrf_token(client, f"/leads/{a.id}/merge/{b.id}") for client, (a, b) in jobs]
    barrier = threading.Barrier(len(clients))
    statuses = []

    def merge(client, pair, token):
        merged, kept = pair
        barrier.wait()
        response = client.post(f"/leads/{merged.id}/merge/{kept.id}", data={"csrf_token": token})
        statuses.append(response.status_code)

    threads = [
        threading.Thread(target=merge, args=(client, pair, token))
        for (client, pair), token in zip(jobs, forms, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [303, 409, 409, 409]
    db.expire_all()
    assert len(db.scalars(select(LeadMerge)).all()) == 1
    leads = {lead.id: lead for lead in db.scalars(select(Lead))}
    assert sorted(lead.merged_into_id is None for lead in leads.values()) == [False, True]
    assert sorted(lead.status for lead in leads.values()) == ["disqualified", "open"]
