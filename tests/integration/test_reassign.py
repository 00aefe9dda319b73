"""Reassigning over HTTP: one lead, the checked leads of the list, everything of a user;
only coordinators (and admins, for the hand-over)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from quickcrm.models import Activity, Company, Lead, Opportunity, Stage
from tests.conftest import csrf_token


def _leads_of(db, owner, *names):
    leads = [Lead(name=name, owner_id=owner.id) for name in names]
    db.add_all(leads)
    db.commit()
    return leads


def test_a_rep_cannot_reassign(client, db, rep, make_user):
    other = make_user("other@example.com", "rep", "Otto Other")
    (lead,) = _leads_of(db, rep, "Mine")
    token = csrf_token(client, "/")
    data = {"csrf_token": token, "owner_id": str(other.id), "lead_ids": [str(lead.id)]}
    assert client.post(f"/leads/{lead.id}/owner", data=data).status_code == 403
    assert client.post("/leads/reassign", data=data).status_code == 403
    assert 'name="lead_ids"' not in client.get("/leads/").get_data(as_text=True)
    db.refresh(lead)
    assert lead.owner_id == rep.id


def test_a_rep_cannot_edit_another_reps_opportunity(client, db, rep, make_user):
    other = make_user("other@example.com", "rep", "Otto Other")
    stage = db.scalar(select(Stage).order_by(Stage.position))
    deal = Opportunity(
        company=Company(name="Acme", name_key="acme"),
        title="Theirs",
        value=Decimal(5),
        stage=stage,
        probability=10,
        owner_id=other.id,
    )
    db.add(deal)
    db.commit()
    token = csrf_token(client, "/")
    data = {"csrf_token": token, "title": "Mine now", "owner_id": str(rep.id)}
    assert client.post(f"/opportunities/{deal.id}", data=data).status_code == 403
    assert client.post(f"/opportunities/{deal.id}/won", data=data).status_code == 403
    db.refresh(deal)
    assert (deal.title, deal.owner_id, deal.outcome) == ("Theirs", other.id, "open")


def test_coordinator_reassigns_one_lead_with_its_follow_up(client, db, coordinator, make_user):
    sam = make_user("sam@example.com", "rep", "Sam Rep")
    alex = make_user("alex@example.com", "rep", "Alex Rep")
    (lead,) = _leads_of(db, sam, "Lena Lead")
    task = Activity(kind="task", text="Call", due_on=date.today() + timedelta(days=1),
                    author_id=sam.id, assignee_id=sam.id, lead_id=lead.id)  # fmt: skip
    db.add(task)
    db.commit()
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert '<label for="owner_id">Owner</label>' in page
    token = csrf_token(client, f"/leads/{lead.id}")
    bad = client.post(f"/leads/{lead.id}/owner", data={"csrf_token": token, "owner_id": "x"})
    assert bad.status_code == 422 and "Choose an active user." in bad.get_data(as_text=True)
    data = {"csrf_token": token, "owner_id": str(alex.id)}
    assert client.post(f"/leads/{lead.id}/owner", data=data).status_code == 303
    db.refresh(lead)
    db.refresh(task)
    assert lead.owner_id == alex.id and task.assignee_id == alex.id


def test_coordinator_reassigns_the_checked_leads(client, db, coordinator, make_user):
    sam = make_user("sam@example.com", "rep", "Sam Rep")
    alex = make_user("alex@example.com", "rep", "Alex Rep")
    one, two, three = _leads_of(db, sam, "One", "Two", "Three")
    page = client.get("/leads/").get_data(as_text=True)
    assert 'aria-label="Select One"' in page and ">Reassign</button>" in page
    token = csrf_token(client, "/leads/")
    data = {"csrf_token": token, "owner_id": str(alex.id), "lead_ids": [str(one.id), str(two.id)]}
    response = client.post("/leads/reassign?status=open", data=data)
    assert response.status_code == 303 and "status=open" in response.headers["Location"]
    assert "Reassigned 2 leads to Alex Rep." in client.get("/leads/").get_data(as_text=True)
    owners = dict(db.execute(select(Lead.name, Lead.owner_id)).all())
    assert owners == {"One": alex.id, "Two": alex.id, "Three": sam.id}
    none_checked = client.post("/leads/reassign", data={"csrf_token": token, "owner_id": "1"})
    assert none_checked.status_code == 422
    assert "Check the leads to reassign first." in none_checked.get_data(as_text=True)


def test_admin_hands_over_everything_of_a_rep(client, db, admin, make_user):
    sam = make_user("sam@example.com", "rep", "Sam Rep")
    alex = make_user("alex@example.com", "rep", "Alex Rep")
    stage = db.scalar(select(Stage).order_by(Stage.position))
    won = db.scalar(select(Stage).where(Stage.outcome == "won"))
    company = Company(name="Acme", name_key="acme", owner_id=sam.id)
    open_deal = Opportunity(company=company, title="Open", value=Decimal(1), stage=stage,
                            probability=10, owner_id=sam.id)  # fmt: skip
    won_deal = Opportunity(company=company, title="Won", value=Decimal(1), stage=won,
                           probability=100, owner_id=sam.id, outcome="won")  # fmt: skip
    open_lead, closed_lead = _leads_of(db, sam, "Open lead", "Closed lead")
    closed_lead.status, closed_lead.disqualified_reason = "disqualified", "No budget"
    task = Activity(kind="task", text="Call", author_id=sam.id, assignee_id=sam.id,
                    company=company)  # fmt: skip
    db.add_all([company, open_deal, won_deal, task])
    db.commit()
    page = client.get(f"/admin/users/{sam.id}").get_data(as_text=True)
    assert "Hand over everything of Sam Rep to" in page
    token = csrf_token(client, "/admin/users")
    refused = client.post(f"/admin/users/{sam.id}/hand-over", data={"csrf_token": token})
    assert refused.status_code == 422 and "Choose who takes over." in refused.get_data(as_text=True)
    to_herself = client.post(
        f"/admin/users/{sam.id}/hand-over", data={"csrf_token": token, "to": str(sam.id)}
    )
    assert to_herself.status_code == 422
    assert "Choose someone else to hand over to." in to_herself.get_data(as_text=True)
    data = {"csrf_token": token, "to": str(alex.id)}
    response = client.post(f"/admin/users/{sam.id}/hand-over", data=data, follow_redirects=True)
    assert (
        "Handed over from Sam Rep to Alex Rep: 1 leads, 1 companies, 1 opportunities, "
        "1 activities." in response.get_data(as_text=True)
    )
    db.expire_all()
    assert (open_lead.owner_id, closed_lead.owner_id) == (alex.id, sam.id)
    assert (company.owner_id, task.assignee_id) == (alex.id, alex.id)
    assert (open_deal.owner_id, won_deal.owner_id) == (alex.id, sam.id)


def test_an_admin_cannot_hand_over_their_own_work(client, db, admin, make_user):
    """As they cannot deactivate themselves: another admin hands over an admin who leaves."""
    bea = make_user("bea@example.com", "admin", "Bea Admin")
    (mine,) = _leads_of(db, admin, "My lead")
    assert "Hand over everything" not in client.get(f"/admin/users/{admin.id}").get_data(
        as_text=True
    )
    token = csrf_token(client, "/admin/users")
    data = {"csrf_token": token, "to": str(bea.id)}
    refused = client.post(f"/admin/users/{admin.id}/hand-over", data=data)
    assert refused.status_code == 422
    assert "You cannot hand over your own work" in refused.get_data(as_text=True)
    db.expire_all()
    assert mine.owner_id == admin.id


def test_a_coordinator_cannot_hand_over(client, db, coordinator, make_user):
    sam = make_user("sam@example.com", "rep", "Sam Rep")
    token = csrf_token(client, "/")
    data = {"csrf_token": token, "to": str(coordinator.id)}
    assert client.post(f"/admin/users/{sam.id}/hand-over", data=data).status_code == 403
