"""Companies and contacts over HTTP: pages, search, vCard, edit, merge permissions."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from quickcrm.domain import companies
from quickcrm.models import Activity, Company, Contact, Opportunity, Stage
from tests import factories
from tests.conftest import csrf_token


def _acme_and_its_duplicate(db):
    """Acme, and "ACME Ltd" — the same company typed again — with Jo Bloggs at it."""
    acme = factories.company(db, "Acme")
    dupe = factories.company(db, "ACME Ltd")
    jo = factories.contact(db, dupe, "Jo Bloggs", phone="+44 20 7946 0000", email="jo@acme.com")
    return acme, dupe, jo


def test_lists_search_as_you_type(client, db, rep):
    acme, dupe, jo = _acme_and_its_duplicate(db)
    hx = {"HX-Request": "true"}
    contacts = client.get("/contacts/?q=bloggs", headers=hx).get_data(as_text=True)
    assert contacts.strip().startswith('<div id="contacts-results" class="results">')
    assert f'href="/contacts/{jo.id}"' in contacts
    assert ">ACME Ltd</td>" in contacts and 'href="mailto:jo@acme.com"' in contacts
    found = client.get("/companies/?q=acme", headers=hx).get_data(as_text=True)
    assert found.strip().startswith('<div id="companies-results" class="results">')
    assert f'href="/companies/{acme.id}"' in found and f'href="/companies/{dupe.id}"' in found
    assert "<html" not in found


def test_rep_can_look_up_but_not_merge_or_edit(client, db, rep):
    acme, dupe, jo = _acme_and_its_duplicate(db)
    assert "Acme" in client.get("/companies/?q=acm").get_data(as_text=True)
    page = client.get(f"/contacts/{jo.id}").get_data(as_text=True)
    assert 'href="tel:+442079460000"' in page and 'href="mailto:jo@acme.com"' in page
    token = csrf_token(client, f"/companies/{acme.id}")
    data = {"csrf_token": token, "duplicate": str(dupe.id), "name": "X"}
    assert client.post(f"/companies/{acme.id}/merge", data=data).status_code == 403
    assert client.post(f"/companies/{acme.id}", data=data).status_code == 403
    assert client.post(f"/contacts/{jo.id}", data=data).status_code == 403
    db.refresh(dupe)
    assert dupe.merged_into_id is None


def test_coordinator_merges_a_duplicate(client, db, coordinator):
    acme, dupe, jo = _acme_and_its_duplicate(db)
    token = csrf_token(client, f"/companies/{acme.id}")
    response = client.post(f"/companies/{acme.id}/merge", data={"csrf_token": token})
    assert response.status_code == 422
    data = {"csrf_token": token, "duplicate": str(dupe.id)}
    assert client.post(f"/companies/{acme.id}/merge", data=data).status_code == 303
    assert "Jo Bloggs" in client.get(f"/companies/{acme.id}").get_data(as_text=True)
    assert client.get(f"/companies/{dupe.id}").status_code == 301


def test_vcard_download(client, db, rep):
    _, _, jo = _acme_and_its_duplicate(db)
    response = client.get(f"/contacts/{jo.id}/vcard")
    assert response.mimetype == "text/vcard"
    assert "Jo-Bloggs.vcf" in response.headers["Content-Disposition"]
    assert "FN:Jo Bloggs" in response.get_data(as_text=True)


def test_edit_and_notes_answer_422_on_bad_input(client, db, coordinator):
    acme, _, jo = _acme_and_its_duplicate(db)
    token = csrf_token(client, f"/companies/{acme.id}")
    response = client.post(f"/companies/{acme.id}", data={"csrf_token": token, "name": ""})
    assert response.status_code == 422
    response = client.post(f"/contacts/{jo.id}/activities", data={"csrf_token": token, "text": ""})
    assert response.status_code == 422 and "Write what happened" in response.get_data(as_text=True)
    data = {"csrf_token": token, "text": "Called, wants a demo"}
    response = client.post(
        f"/contacts/{jo.id}/activities", data=data, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and "wants a demo" in response.get_data(as_text=True)
    # A note is not a contact (docs/pipeline.md, "Existing customers"): a call is.
    assert "Last contacted: never" in client.get(f"/contacts/{jo.id}").get_data(as_text=True)
    client.post(f"/contacts/{jo.id}/activities", data=data | {"kind": "call"})
    assert "Last contacted: <time" in client.get(f"/contacts/{jo.id}").get_data(as_text=True)


def test_long_lists_page_on_from_the_last_name_shown(client, db, rep, monkeypatch):
    monkeypatch.setattr(companies, "LIST_LIMIT", 2)
    acme = Company(name="Acme", name_key="acme", type="customer")
    db.add_all([Company(name=n, name_key=n.lower(), type="customer") for n in ("Beta", "Alpha")])
    db.add_all([acme, Company(name="Acme", name_key="acme", type="partner")])
    db.add_all([Contact(name=n, company=acme) for n in ("Cy", "Al", "Bo")])
    db.commit()

    def names(page: str) -> list[str]:
        return re.findall(r'<td class="cell-name"><a href="[^"]+">([^<]+)</a>', page)

    first = client.get("/companies/?type=customer").get_data(as_text=True)
    assert names(first) == ["Acme", "Alpha"] and "Back to the start" not in first
    more = re.search(r'href="(/companies/\?[^"]+)">More companies</a>', first).group(1)
    assert "type=customer" in more
    last = client.get(more.replace("&amp;", "&")).get_data(as_text=True)
    assert names(last) == ["Beta"] and "More companies" not in last
    assert "Back to the start" in last

    first = client.get("/contacts/").get_data(as_text=True)
    assert names(first) == ["Al", "Bo"]
    more = re.search(r'href="(/contacts/\?after=\d+)">More contacts</a>', first).group(1)
    assert names(client.get(more).get_data(as_text=True)) == ["Cy"]
    # An after= that names no row is the first page.
    assert names(client.get("/contacts/?after=abc").get_data(as_text=True)) == ["Al", "Bo"]


def test_a_busy_company_shows_its_first_contacts_and_opportunities(client, db, rep, monkeypatch):
    monkeypatch.setattr(companies, "DETAIL_LIMIT", 2)
    monkeypatch.setattr(companies, "LIST_LIMIT", 2)
    acme = Company(name="Acme", name_key="acme")
    db.add_all([Contact(name=n, company=acme) for n in ("Cy", "Al", "Bo")])
    db.add(Contact(name="Di", company=Company(name="Other", name_key="other")))
    new = db.scalar(select(Stage).where(Stage.name == "New"))
    for n, outcome in enumerate(("won", "open", "open")):
        db.add(Opportunity(title=f"Deal {n}", company=acme, stage=new, probability=10,
                           outcome=outcome, close_on=date(2026, 12, 1 + n)))  # fmt: skip
    db.commit()
    page = client.get(f"/companies/{acme.id}").get_data(as_text=True)
    assert re.findall(r'<span class="recent-name">([^<]+)</span>', page) == ["Al", "Bo"]
    assert "The first 2 of 3: open ones first" in page
    assert "Deal 1" in page and "Deal 2" in page and "Deal 0" not in page
    link = re.search(r'href="([^"]+)">All 3 contacts at Acme</a>', page).group(1)
    listed = client.get(link).get_data(as_text=True)
    assert "Contacts at Acme" in listed
    assert re.findall(r'<td class="cell-name"><a href="[^"]+">([^<]+)</a>', listed) == ["Al", "Bo"]
    more = re.search(r'href="([^"]+)">More contacts</a>', listed).group(1)
    assert "company=" in more
    listed = client.get(more.replace("&amp;", "&")).get_data(as_text=True)
    assert re.findall(r'<td class="cell-name"><a href="[^"]+">([^<]+)</a>', listed) == ["Cy"]


def test_empty_lists_say_so(client, db, rep):
    assert "No companies found" in client.get("/companies/").get_data(as_text=True)
    assert "No contacts found" in client.get("/contacts/?q=zz").get_data(as_text=True)


def test_log_a_repeating_task_on_a_company(client, db, rep):
    acme, _, _ = _acme_and_its_duplicate(db)
    token = csrf_token(client, f"/companies/{acme.id}")
    bad = {"csrf_token": token, "kind": "note", "text": "x", "repeat_every": "2",
           "repeat_unit": "week"}  # fmt: skip
    response = client.post(f"/companies/{acme.id}/activities", data=bad)
    assert response.status_code == 422
    assert "Only a task with a due date can repeat" in response.get_data(as_text=True)
    due = (date.today() + timedelta(days=3)).isoformat()
    good = {**bad, "kind": "task", "text": "Check stock", "due_on": due}
    assert client.post(f"/companies/{acme.id}/activities", data=good).status_code == 303
    task = db.query(Activity).one()
    assert (task.kind, task.repeat_every, task.repeat_unit) == ("task", 2, "week")
    assert task.company_id == acme.id and task.assignee_id == rep.id
