"""Pipeline rules: probability follows the stage unless set by hand; won, lost; stages."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from quickcrm.domain import opportunities
from quickcrm.domain import stages as stage_admin
from quickcrm.domain import validation as v
from quickcrm.domain.stages import ensure_default_lost_reasons
from quickcrm.models import Company, LostReason, Opportunity, Stage


@pytest.fixture
def stages(db):
    return {s.name: s for s in db.scalars(select(Stage))}


def opp(db, stage, value="1000", probability=None, manual=False):
    o = Opportunity(
        title="Deal",
        company=Company(name="Acme", name_key="acme"),
        value=Decimal(value),
        stage=stage,
        probability=stage.probability if probability is None else probability,
        probability_manual=manual,
    )
    db.add(o)
    db.commit()
    return o


def test_probability_follows_the_stage_unless_set_by_hand(db, stages):
    following = opp(db, stages["New"])
    by_hand = opp(db, stages["New"], probability=60, manual=True)
    for o in (following, by_hand):
        opportunities.move_to_stage(db, o, stages["Proposal"].id)
    assert following.probability == 50
    assert by_hand.probability == 60


def test_a_rep_may_act_on_their_own_opportunities_a_coordinator_or_admin_on_all(
    db, stages, make_user
):
    rep = make_user("rep@example.com", "rep")
    other = make_user("other@example.com", "rep")
    coordinator = make_user("coordinator@example.com", "coordinator")
    admin = make_user("admin@example.com", "admin")
    mine, theirs, nobodys = (opp(db, stages["New"]) for _ in range(3))
    mine.owner_id, theirs.owner_id = rep.id, other.id
    db.commit()
    assert opportunities.may_act_on(rep, mine)
    assert not opportunities.may_act_on(rep, theirs)
    assert not opportunities.may_act_on(rep, nobodys)
    for boss in (coordinator, admin):
        assert all(opportunities.may_act_on(boss, o) for o in (mine, theirs, nobodys))


def test_moving_to_a_closed_stage_is_refused(db, stages):
    o = opp(db, stages["New"])
    with pytest.raises(v.Refused):
        opportunities.move_to_stage(db, o, stages["Won"].id)
    with pytest.raises(v.Refused):
        opportunities.move_to_stage(db, o, 9999)


def test_won_and_lost(db, stages):
    ensure_default_lost_reasons(db)
    won, lost = opp(db, stages["New"]), opp(db, stages["New"])
    opportunities.win(db, won)
    assert (won.outcome, won.stage.name, won.probability) == ("won", "Won", 100)
    assert won.closed_at is not None
    with pytest.raises(v.Refused):
        opportunities.lose(db, lost, "Because")
    opportunities.lose(db, lost, "Price")
    assert (lost.outcome, lost.stage.name, lost.lost_reason, lost.probability) == (
        "lost",
        "Lost",
        "Price",
        0,
    )
    opportunities.move_to_stage(db, lost, stages["Qualified"].id)  # reopened
    assert (lost.outcome, lost.lost_reason, lost.closed_at, lost.probability) == (
        "open",
        None,
        None,
        25,
    )


def test_board_sums_per_open_stage(db, stages):
    opp(db, stages["New"], "1000")
    opp(db, stages["New"], "3000", probability=40, manual=True)
    opp(db, stages["Proposal"], "2000")
    opportunities.win(db, opp(db, stages["Proposal"], "9999"))
    columns = {c.stage.name: c for c in opportunities.board(db)}
    assert list(columns) == ["New", "Qualified", "Proposal", "Negotiation"]
    assert (columns["New"].count, columns["New"].total, columns["New"].weighted) == (
        2,
        Decimal("4000.00"),
        Decimal("1300.00"),  # 1000 × 10 % + 3000 × 40 %
    )
    assert (columns["Proposal"].count, columns["Proposal"].weighted) == (1, Decimal("1000.00"))
    assert columns["Qualified"].count == 0


def test_a_column_shows_its_first_cards_by_close_date_undated_last(db, stages):
    today = date(2026, 11, 29)
    undated = opp(db, stages["New"], "1")
    dated = []
    for days in (9, 3, 5, 1):
        o = opp(db, stages["New"], "100")
        o.close_on = today + timedelta(days=days)
        dated.append(o)
    db.commit()
    new = {c.stage.name: c for c in opportunities.board(db, cards=3)}["New"]
    # The sums count every open opportunity of the stage; the cards are the soonest.
    assert (new.count, new.total, new.more) == (5, Decimal("401.00"), 2)
    assert [o.close_on.day for o in new.opportunities] == [30, 2, 4]  # +1, +3, +5 days
    new = {c.stage.name: c for c in opportunities.board(db, cards=5)}["New"]
    assert new.opportunities[-1] is undated and new.more == 0
    # One just moved shows in its column even past the first cards.
    kept = {c.stage.name: c for c in opportunities.board(db, cards=2, keep=dated[0])}["New"]
    assert kept.opportunities[-1] is dated[0] and len(kept.opportunities) == 3


def test_editing_marks_a_hand_set_probability(db, stages):
    o = opp(db, stages["New"])

    def edited(**changes):
        raw = {**opportunities.OpportunityForm.of(o).raw, **changes}
        return opportunities.OpportunityForm.clean(db, raw)

    opportunities.update_opportunity(db, o, edited(stage_id=str(stages["Proposal"].id)))
    assert (o.probability, o.probability_manual) == (50, False)  # followed the stage
    assert edited(probability="35", value="abc").errors == {
        "value": "Enter an amount like 12500 or 12500.50."
    }
    opportunities.update_opportunity(db, o, edited(probability="35"))
    assert (o.probability, o.probability_manual) == (35, True)


def test_stage_admin(db, stages):
    following = opp(db, stages["Qualified"])
    by_hand = opp(db, stages["Qualified"], probability=70, manual=True)
    stage_admin.edit_stage(db, stages["Qualified"], "Discovery", "30")
    db.expire_all()
    assert (following.probability, by_hand.probability) == (30, 70)
    with pytest.raises(v.Refused):
        stage_admin.edit_stage(db, stages["Proposal"], "discovery", "50")
    demo = stage_admin.add_stage(db, "Demo", "40")
    names = [s.name for s in db.scalars(select(Stage).order_by(Stage.position))]
    assert names == ["New", "Discovery", "Proposal", "Negotiation", "Demo", "Won", "Lost"]
    stage_admin.move_stage(db, demo, -1)
    names = [s.name for s in db.scalars(select(Stage).order_by(Stage.position))]
    assert names[3:5] == ["Demo", "Negotiation"]
    with pytest.raises(v.Refused):
        stage_admin.remove_stage(db, stages["Qualified"])  # in use: where do they go?
    with pytest.raises(v.Refused):
        stage_admin.remove_stage(db, stages["Qualified"], str(stages["Won"].id))
    assert stage_admin.remove_stage(db, stages["Qualified"], str(demo.id)) == 2
    db.expire_all()
    assert (following.stage_id, following.probability, by_hand.probability) == (demo.id, 40, 70)
    with pytest.raises(v.Refused):
        stage_admin.remove_stage(db, stages["Won"])  # the only won stage
    assert stage_admin.remove_stage(db, stages["New"]) == 0


def test_the_last_lost_reason_cannot_be_removed(db):
    ensure_default_lost_reasons(db)
    reasons = list(db.scalars(select(LostReason).order_by(LostReason.position)))
    for reason in reasons[:-1]:
        stage_admin.remove_lost_reason(db, reason)
    with pytest.raises(v.Refused, match="Keep at least one"):
        stage_admin.remove_lost_reason(db, reasons[-1])
    assert stage_admin.lost_reasons(db) == [reasons[-1].name]


def test_the_list_pages_by_close_date_then_the_undated_each_once(db, monkeypatch):
    stage = db.scalar(select(Stage).where(Stage.name == "New"))
    acme = Company(name="Acme", name_key="acme")
    days = [date(2026, 12, 1), date(2026, 12, 1), date(2027, 1, 5), None, date(2026, 11, 30), None]
    made = [
        Opportunity(title=f"Deal {n}", company=acme, stage=stage, probability=10, close_on=day)
        for n, day in enumerate(days)
    ]
    db.add_all(made)
    db.commit()
    monkeypatch.setattr(opportunities, "LIST_PAGE", 2)
    query = opportunities.OpportunityQuery()
    seen, after = [], ""
    while True:
        page = opportunities.opportunity_list(db, replace(query, after=after))
        seen += page.opportunities
        if page.after is None:
            break
        after = page.after
    dated = sorted((o for o in made if o.close_on), key=lambda o: (o.close_on, o.id))
    undated = sorted((o for o in made if not o.close_on), key=lambda o: o.id)
    assert seen == dated + undated
    # A cursor that is not one starts at the beginning.
    for nonsense in ("x", "2026-13-01.1", ".", "2026-12-01.", "9" * 30):
        page = opportunities.opportunity_list(db, replace(query, after=nonsense))
        assert page.opportunities[:2] == seen[:2]
