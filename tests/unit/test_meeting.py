"""The weekly meeting's comparison on hand-made data: each figure counts what changed
between two snapshots, or a snapshot and now."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from quickcrm.domain import meeting
from quickcrm.models import Company, Lead, Opportunity, Stage, utcnow

TODAY = date.today()


def _stages(db):
    return {s.name: s for s in db.scalars(select(Stage))}


def _deal(db, company, title, stage, value, close_on, owner, *, new=False):
    made = utcnow() if new else utcnow() - timedelta(days=30)
    deal = Opportunity(company=company, title=title, stage=stage, value=Decimal(value),
                       probability=stage.probability, close_on=close_on, owner_id=owner.id,
                       outcome=stage.outcome, created_at=made)  # fmt: skip
    db.add(deal)
    return deal


def test_what_changed_since_the_last_snapshot(db, make_user):
    sam = make_user("sam@example.com", "rep", "Sam Rep")
    boss = make_user("boss@example.com", "coordinator", "Cora")
    stages = _stages(db)
    acme = Company(name="Acme", name_key="acme")
    month = TODAY.replace(day=15)
    steady = _deal(db, acme, "Steady", stages["New"], 1000, month, sam)
    mover = _deal(db, acme, "Mover", stages["New"], 1000, month, sam)
    slipper = _deal(db, acme, "Slipper", stages["Qualified"], 2000, month, sam)
    winner = _deal(db, acme, "Winner", stages["Proposal"], 4000, month, sam)
    db.commit()
    last_week = utcnow() - timedelta(days=7)
    snapshot = meeting.take_snapshot(db, boss, now=last_week)

    mover.stage, mover.probability, mover.value = stages["Proposal"], 50, Decimal(3000)
    slipper.close_on = month + timedelta(days=40)
    winner.stage, winner.outcome, winner.closed_at = stages["Won"], "won", utcnow()
    _deal(db, acme, "Fresh", stages["New"], 500, month, sam, new=True)
    db.add_all([Lead(name="Hot one", temperature="hot", owner_id=sam.id),
                Lead(name="Hot two", temperature="hot", owner_id=sam.id),
                Lead(name="Cold one", temperature="cold", owner_id=sam.id),
                Lead(name="Gone", owner_id=sam.id, status="disqualified",
                     disqualified_reason="no budget"),
                Lead(name="Made it", owner_id=sam.id, status="converted",
                     converted_at=utcnow())])  # fmt: skip
    db.commit()

    found = meeting.compare(db, snapshot, None, TODAY)
    assert set(found.new_leads) == {
        ("Sam Rep", None, 2),
        ("Sam Rep", "cold", 1),
        ("Sam Rep", "hot", 2),
    }
    assert [lead.name for lead in found.converted] == ["Made it"]
    assert [lead.name for lead in found.disqualified] == ["Gone"]
    assert [o.title for o in found.created] == ["Fresh"]
    assert [(c.title, c.before, c.after) for c in found.moved] == [("Mover", "New", "Proposal")]
    assert [c.title for c in found.slipped] == ["Slipper"]
    assert [(c.title, c.before, c.after) for c in found.revalued] == [
        ("Mover", Decimal("1000.00"), Decimal("3000.00"))
    ]
    assert [o.title for o in found.won] == ["Winner"] and found.lost == []
    assert steady.title not in {c.title for c in found.moved + found.slipped + found.revalued}
    this_month = found.forecast[0]
    # then: 1000×10% + 1000×10% + 2000×25% + 4000×50%; now: 100 + 3000×50% + 500×10%
    assert (this_month.then, this_month.now) == (Decimal("2700.00"), Decimal("1650.00"))


def test_two_snapshots_compare_with_each_other_not_with_now(db, make_user):
    boss = make_user("boss@example.com", "coordinator", "Cora")
    stages = _stages(db)
    acme = Company(name="Acme", name_key="acme")
    deal = _deal(db, acme, "Deal", stages["New"], 1000, TODAY, boss)
    db.commit()
    first = meeting.take_snapshot(db, boss, now=utcnow() - timedelta(days=14))
    deal.value = Decimal(2000)
    db.commit()
    second = meeting.take_snapshot(db, boss, now=utcnow() - timedelta(days=7))
    deal.value = Decimal(9000)
    db.commit()
    between = meeting.compare(db, first, second, TODAY)
    assert [(c.before, c.after) for c in between.revalued] == [
        (Decimal("1000.00"), Decimal("2000.00"))
    ]
    since = meeting.compare(db, second, None, TODAY)
    assert [(c.before, c.after) for c in since.revalued] == [
        (Decimal("2000.00"), Decimal("9000.00"))
    ]
    assert meeting.snapshots(db) == [second, first]
