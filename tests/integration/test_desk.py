"""The leads desk over HTTP: permissions, filters, convert page, the double-conversion race."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta

from quickcrm.models import Activity, Company, Contact, Opportunity
from tests import factories
from tests.conftest import csrf_token


def test_rep_sees_only_own_leads(client, db, rep, make_user):
    other = make_user("other@example.com", "rep", "Olga Other")
    mine = factories.lead(db, rep, name="Mine Person")
    theirs = factories.lead(db, other, name="Theirs Person")
    page = client.get("/leads/").get_data(as_text=True)
    assert "Mine Person" in page and "Theirs Person" not in page
    assert client.get(f"/leads/{theirs.id}").status_code == 403
    assert client.get(f"/leads/{mine.id}").status_code == 200


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


def test_filters_and_search_live_in_the_url(client, db, coordinator):
    factories.lead(db, coordinator, name="Hot Harry", temperature="hot", source="Expo")
    factories.lead(
        db, coordinator, name="Cold Carla", temperature="cold", note="met at the expo stand"
    )
    page = client.get("/leads/?temperature=hot").get_data(as_text=True)
    assert "Hot Harry" in page and "Cold Carla" not in page
    page = client.get("/leads/?q=expo+stand").get_data(as_text=True)
    assert "Cold Carla" in page and "Hot Harry" not in page
    fragment = client.get("/leads/?q=harry", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Hot Harry" in fragment and "<html" not in fragment


def test_any_typed_search_answers_a_list(client, db, coordinator):
    factories.lead(db, coordinator, name='The "Best" Co', note="100% sure, NEAR(the) stand*")
    typed = ['"', '""', '"Best"', "NEAR(", "stand*", "*", "AND", "OR NOT -x", "^", "a:b",
             "\\", "%", "_", "'", "(", ")", "é", "💥💥💥", "x" * 500]  # fmt: skip
    for q in typed:
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get("/leads/", query_string={"q": q}, headers=headers)
            assert response.status_code == 200, (q, headers)
        assert client.get("/leads/review", query_string={"q": q}).status_code == 200, q
    page = client.get("/leads/", query_string={"q": '"best" co'}).get_data(as_text=True)
    assert "The &#34;Best&#34; Co" in page
    # A NUL cannot be typed, and no database stores it: refused with a message.
    for q in ("\x00", "x\x00y"):
        response = client.get("/leads/", query_string={"q": q})
        assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)


def test_next_action_filter_and_sort_follow_the_earliest_open_action(client, db, coordinator):
    today = date.today()
    for name, due in (
        ("Later Lou", 3),
        ("Overdue Olga", -2),
        ("Today Tom", 0),
        ("None Nils", None),
    ):
        lead = factories.lead(db, coordinator, name=name)
        if due is not None:
            db.add(Activity(kind="task", text="Call", due_on=today + timedelta(days=due), lead=lead,
                            author=coordinator))  # fmt: skip
    db.commit()

    def names(url):
        page = client.get(url).get_data(as_text=True)
        return re.findall(r'<a href="/leads/\d+">([^<]+)</a>', page)

    assert names("/leads/?sort=next") == ["Overdue Olga", "Today Tom", "Later Lou", "None Nils"]
    assert names("/leads/?due=overdue") == ["Overdue Olga"]
    assert names("/leads/?due=today") == ["Today Tom"]
    assert names("/leads/?due=week&sort=next") == ["Today Tom", "Later Lou"]
    assert names("/leads/?due=none") == ["None Nils"]
    page = client.get("/leads/review?sort=next&at=4").get_data(as_text=True)
    assert "4 of 4" in page and "None Nils" in page


def test_review_mode_steps_through_the_filtered_list(client, db, coordinator):
    for name in ("Ann", "Ben", "Cat"):
        factories.lead(db, coordinator, name=name, source="Expo")
    factories.lead(db, coordinator, name="Dan", source="Web")
    page = client.get("/leads/review?source=Expo&sort=name&at=2").get_data(as_text=True)
    assert "2 of 3" in page and "Ben" in page


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


def _convert_data(client, lead_id: int) -> dict:
    token = csrf_token(client, f"/leads/{lead_id}/convert")
    return {
        "csrf_token": token, "company": "new", "company_name": "Acme", "contact": "new",
        "contact_name": "Jo Bloggs", "create_opportunity": "on", "opportunity_title": "Acme deal",
        "value": "500", "stage_id": "1", "probability": "10", "close_on": "",
    }  # fmt: skip


def test_convert_page_suggests_the_company_of_an_earlier_conversion(client, db, coordinator):
    first = factories.lead(db, coordinator, name="Jo", company_name="Acme Inc")
    data = _convert_data(client, first.id)
    assert client.post(f"/leads/{first.id}/convert", data=data).status_code == 303
    second = factories.lead(db, coordinator, name="Sam", company_name="ACME, Inc.")
    page = client.get(f"/leads/{second.id}/convert").get_data(as_text=True)
    company = db.query(Company).one()
    assert f'name="company" value="{company.id}"' in page


def test_bad_convert_input_answers_422(client, db, coordinator):
    lead = factories.lead(db, coordinator)
    data = {**_convert_data(client, lead.id), "company_name": "", "value": "lots"}
    response = client.post(f"/leads/{lead.id}/convert", data=data)
    assert response.status_code == 422
    assert "Enter the company" in response.get_data(as_text=True)
    assert db.query(Company).count() == 0


def test_double_conversion_race_creates_everything_once(app, db, make_user):
    owner = make_user("coordinator@example.com", "coordinator", "Cora")
    lead = factories.lead(db, owner, company_name="Acme")
    clients = [app.test_client() for _ in range(4)]
    forms = []
    for client in clients:
        client.post(
            "/login",
            data={"email": owner.email, "password": "correct horse battery",
                  "csrf_token": csrf_token(client)},
        )  # fmt: skip
        forms.append(_convert_data(client, lead.id))
    barrier = threading.Barrier(len(clients))
    statuses = []

    def convert(client, data):
        barrier.wait()
        response = client.post(f"/leads/{lead.id}/convert", data=data)
        statuses.append((response.status_code, response.get_data(as_text=True)))

    threads = [
        threading.Thread(target=convert, args=pair) for pair in zip(clients, forms, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(code for code, _ in statuses)
    assert codes == [303, 409, 409, 409]
    assert all("already converted" in body for code, body in statuses if code == 409)
    assert db.query(Company).count() == 1
    assert db.query(Contact).count() == 1
    assert db.query(Opportunity).count() == 1


def test_snooze_from_review_mode_returns_to_the_same_step(client, db, rep):
    lead = factories.lead(db, rep, name="Ann")
    token = csrf_token(client, "/leads/review")
    back = "/leads/review?at=1"
    response = client.post(f"/leads/{lead.id}/snooze", data={"csrf_token": token, "next": back})
    assert response.status_code == 303 and response.headers["Location"] == back
    evil = {"csrf_token": token, "next": "//evil.example/"}
    response = client.post(f"/leads/{lead.id}/snooze", data=evil)
    assert response.headers["Location"] == f"/leads/{lead.id}"
