"""Admin → stages and lost reasons over HTTP: removing one that is used or the last."""

from __future__ import annotations

from sqlalchemy import select

from quickcrm.domain import stages
from quickcrm.models import LostReason, Opportunity, Stage
from tests import factories
from tests.conftest import csrf_token


def test_admin_removes_a_used_stage_only_with_a_destination(client, admin, db):
    o = factories.opportunity(db, stage_name="Qualified")
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
