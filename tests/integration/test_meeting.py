"""The weekly meeting page over HTTP: coordinators only, CSRF, snapshots compared."""

from __future__ import annotations

from sqlalchemy import func, select

from quickcrm.models import Lead, MeetingSnapshot, SnapshotOpportunity
from tests.conftest import csrf_token


def test_a_rep_cannot_open_the_meeting(client, rep):
    assert client.get("/meeting").status_code == 403
    token = csrf_token(client, "/")
    assert client.post("/meeting/snapshots", data={"csrf_token": token}).status_code == 403


def test_start_a_meeting_then_see_the_week(client, db, coordinator):
    first = client.get("/meeting").get_data(as_text=True)
    assert "Start this week's meeting" in first and "No meeting yet" in first
    assert client.post("/meeting/snapshots", data={}).status_code == 400  # no CSRF token
    token = csrf_token(client, "/meeting")
    assert client.post("/meeting/snapshots", data={"csrf_token": token}).status_code == 303
    db.add(Lead(name="Nina New", temperature="hot", owner_id=coordinator.id))
    db.commit()
    page = client.get("/meeting").get_data(as_text=True)
    assert "1 new lead" in page and "Review leads" in page and "Cora Coordinator" in page
    second = client.post("/meeting/snapshots", data={"csrf_token": token})
    assert "from=" in second.headers["Location"] and "to=" in second.headers["Location"]
    assert db.scalar(select(func.count(MeetingSnapshot.id))) == 2
    assert db.scalar(select(func.count()).select_from(SnapshotOpportunity)) == 0
    ids = [str(i) for i in db.scalars(select(MeetingSnapshot.id).order_by(MeetingSnapshot.id))]
    compared = client.get(f"/meeting?from={ids[0]}&to={ids[1]}").get_data(as_text=True)
    assert "1 new lead" in compared
    assert client.get("/meeting?from=2147483648&to=x").status_code == 200
