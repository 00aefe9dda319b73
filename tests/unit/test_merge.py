"""Merging two leads and undoing it (quickcrm/domain/merge.py)."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import func, select

from quickcrm.domain import forecast, leads
from quickcrm.domain import merge as merging
from quickcrm.domain import validation as v
from quickcrm.models import Activity, Category, Lead, LeadCategory, LeadMerge, utcnow
from tests import factories

TODAY = date(2026, 11, 23)


@pytest.fixture
def people(db, make_user):
    rep = make_user("rep@example.com", "rep", "Rita Rep")
    other = make_user("other@example.com", "rep", "Otto Other")
    boss = make_user("cora@example.com", "coordinator", "Cora Coordinator")
    return rep, other, boss


def _task(db, lead, author, due, text="Follow up"):
    task = Activity(
        kind="task", text=text, due_on=due, lead=lead, author=author, assignee_id=lead.owner_id
    )
    db.add(task)
    db.commit()
    return task


def _category(db, name, position):
    made = Category(name=name, position=position)
    db.add(made)
    db.commit()
    return made


def test_by_default_the_kept_lead_keeps_its_values_and_fills_its_gaps(db, people):
    rep, other, boss = people
    kept = factories.lead(db, rep, "Maria Novak", email="maria@acme.example", source="Fair")
    merged = factories.lead(
        db, other, "Maria Novák", phone="020 7946 0958", source="Web", potential_value=500
    )
    rows = {row.name: row for row in merging.field_choices(db, kept, merged)}
    assert rows["name"].default == "kept" and rows["source"].default == "kept"
    assert rows["phone"].default == "merged"  # the kept lead has none
    assert not rows["email"].differs or rows["email"].default == "kept"
    merging.merge_leads(db, kept, merged, {}, boss)
    db.refresh(kept)
    assert (kept.name, kept.email, kept.source) == ("Maria Novak", "maria@acme.example", "Fair")
    assert kept.phone == "020 7946 0958" and kept.phone_tail == "079460958"
    assert kept.potential_value == Decimal("500")
    assert kept.owner_id == rep.id


def test_a_chosen_value_wins_field_by_field(db, people):
    rep, other, boss = people
    kept = factories.lead(db, rep, "M. Novak", temperature="cold", company_name="Acme")
    merged = factories.lead(db, other, "Maria Novak", temperature="hot", company_name="Acme Ltd")
    choices = {"name": "merged", "temperature": "merged", "owner": "merged"}
    merging.merge_leads(db, kept, merged, choices, boss)
    db.refresh(kept)
    assert (kept.name, kept.name_key, kept.temperature) == ("Maria Novak", "maria novak", "hot")
    assert kept.company_name == "Acme"  # not chosen: the kept lead's
    assert kept.owner_id == other.id


def test_two_notes_are_joined_unless_one_is_chosen(db, people):
    rep, other, boss = people
    kept = factories.lead(db, rep, "Maria", note="Met at the fair")
    merged = factories.lead(db, other, "Maria", note="Wants a quote")
    assert {r.name: r for r in merging.field_choices(db, kept, merged)}["note"].default == "both"
    merging.merge_leads(db, kept, merged, {}, boss)
    assert db.get(Lead, kept.id).note == "Met at the fair\n\nWants a quote"
    one = factories.lead(db, rep, "Jo", note="A")
    two = factories.lead(db, rep, "Jo", note="B")
    merging.merge_leads(db, one, two, {"note": "merged"}, boss)
    assert db.get(Lead, one.id).note == "B"


def test_a_bad_choice_is_refused(db, people):
    rep, other, _boss = people
    kept = factories.lead(db, rep, "Maria", note="A")
    merged = factories.lead(db, other, "Mario", note="B")
    with pytest.raises(v.Refused) as refused:
        merging.clean_choices(db, kept, merged, {"name": "both", "note": "<script>"})
    assert set(refused.value.errors) == {"name", "note"}
    assert merging.clean_choices(db, kept, merged, {"note": "merged"}) == {
        "name": "kept",
        "owner": "kept",
        "note": "merged",
    }


def test_the_merged_lead_is_closed_and_points_at_the_kept_one(db, people):
    rep, other, boss = people
    kept = factories.lead(db, rep, "Maria Novak")
    merged = factories.lead(db, other, "Maria Novak")
    merge = merging.merge_leads(db, kept, merged, {}, boss)
    db.refresh(merged)
    assert merged.merged_into_id == kept.id and merged.status == "disqualified"
    assert merged.disqualified_reason == "Merged into Maria Novak"
    assert merged.owner_id == other.id  # its owner's phone still finds it
    assert (merge.kept_id, merge.merged_id, merge.merged_by_id) == (kept.id, merged.id, boss.id)
    audit = db.scalars(select(Activity).where(Activity.lead_id == kept.id)).all()
    assert [(a.kind, a.text, a.author_id) for a in audit] == [
        ("note", "Merged Maria Novak into this lead.", boss.id)
    ]
    assert leads.edit_refusal(merged) is not None
    with pytest.raises(v.Conflict):
        leads.reopen(db, merged)


@pytest.mark.parametrize(
    "case, message",
    [
        ("itself", "cannot be merged into itself"),
        ("converted kept", "has been converted"),
        ("converted merged", "has been converted"),
        ("into a merged lead", "already merged"),
        ("merged again", "already merged"),
        ("disqualified", "reopen it first"),
    ],
)
def test_refusals(db, people, case, message):
    rep, other, boss = people
    kept = factories.lead(db, rep, "Maria")
    merged = factories.lead(db, other, "Maria")
    third = factories.lead(db, other, "Maria")
    if case == "itself":
        merged = kept
    elif case == "converted kept":
        kept.status = "converted"
    elif case == "converted merged":
        merged.status = "converted"
    elif case == "into a merged lead":
        merging.merge_leads(db, third, kept, {}, boss)
    elif case == "merged again":
        merging.merge_leads(db, third, merged, {}, boss)
    elif case == "disqualified":
        merged.status, merged.disqualified_reason = "disqualified", "no fit"
    db.commit()
    before = db.scalar(select(func.count()).select_from(LeadMerge))
    with pytest.raises(v.Conflict, match=message):
        merging.merge_leads(db, kept, merged, {}, boss)
    assert db.scalar(select(func.count()).select_from(LeadMerge)) == before


def test_a_pair_merged_meanwhile_is_refused_inside_the_transaction(db, people):
    """The refusal before the claim saw an open lead; the claim finds it merged by another
    coordinator since (simulated by changing the row behind the object's back)."""
    rep, other, boss = people
    kept = factories.lead(db, rep, "Maria")
    merged = factories.lead(db, other, "Maria")
    third = factories.lead(db, other, "Maria")
    db.execute(
        Lead.__table__.update()
        .where(Lead.id == merged.id)
        .values(status="disqualified", disqualified_reason="x", merged_into_id=third.id)
    )
    db.commit()
    with pytest.raises(v.Conflict, match="changed meanwhile"):
        merging.merge_leads(db, kept, merged, {}, boss)
    assert db.scalar(select(func.count()).select_from(LeadMerge)) == 0
    assert db.scalar(select(func.count()).where(Activity.lead_id == kept.id)) == 0


def test_activities_attachments_and_categories_move_and_the_next_action_follows(db, people):
    rep, other, boss = people
    north, retail, big = (_category(db, n, i) for i, n in enumerate(("North", "Retail", "Big")))
    kept = factories.lead(db, rep, "Maria")
    merged = factories.lead(db, other, "Maria")
    kept.categories = [north]
    merged.categories = [north, retail, big]
    db.commit()
    later = _task(db, kept, rep, TODAY + timedelta(days=9), "Send brochure")
    sooner = _task(db, merged, other, TODAY + timedelta(days=2), "Call back")
    note = Activity(kind="note", text="Met", lead=merged, author=other)
    db.add(note)
    photo = factories.attachment(db, merged, "card_photo")
    db.commit()
    merging.merge_leads(db, kept, merged, {"next_action": "merged"}, boss)
    db.refresh(kept), db.refresh(photo)
    assert note.lead_id == kept.id and sooner.lead_id == kept.id and photo.lead_id == kept.id
    assert sooner.assignee_id == rep.id  # a follow-up belongs to the lead's owner
    assert later.done  # the next action not chosen is closed
    assert kept.next_action_on == TODAY + timedelta(days=2)
    assert [c.name for c in kept.categories] == ["North", "Retail", "Big"]
    assert db.scalar(select(func.count()).where(LeadCategory.lead_id == kept.id)) == 3


def test_choosing_the_kept_next_action_closes_the_other(db, people):
    rep, other, boss = people
    kept = factories.lead(db, rep, "Maria")
    merged = factories.lead(db, other, "Maria")
    mine = _task(db, kept, rep, TODAY + timedelta(days=9))
    theirs = _task(db, merged, other, TODAY + timedelta(days=2))
    merging.merge_leads(db, kept, merged, {}, boss)
    db.refresh(kept)
    assert theirs.done and not mine.done
    assert kept.next_action_on == TODAY + timedelta(days=9)


def test_undo_puts_everything_back(db, people):
    rep, other, boss = people
    north, retail = _category(db, "North", 1), _category(db, "Retail", 2)
    kept = factories.lead(db, rep, "M. Novak", note="A", potential_value=Decimal("10.50"))
    merged = factories.lead(
        db, other, "Maria Novak", note="B", phone="020 7946 0958", potential_value=900
    )
    kept.categories = [north]
    merged.categories = [retail]
    db.commit()
    mine = _task(db, kept, rep, TODAY + timedelta(days=9))
    theirs = _task(db, merged, other, TODAY + timedelta(days=2))
    photo = factories.attachment(db, merged)
    choices = {"name": "merged", "owner": "merged", "potential_value": "merged"}
    merge = merging.merge_leads(db, kept, merged, choices, boss)
    assert db.get(Lead, kept.id).owner_id == other.id
    assert mine.assignee_id == other.id  # the new owner's follow-ups now
    merging.undo_merge(db, merge, boss)
    kept, merged = db.get(Lead, kept.id), db.get(Lead, merged.id)
    assert (kept.name, kept.name_key, kept.note, kept.phone) == ("M. Novak", "m novak", "A", None)
    assert kept.potential_value == Decimal("10.50") and kept.owner_id == rep.id
    assert (merged.status, merged.disqualified_reason, merged.merged_into_id) == (
        "open",
        None,
        None,
    )
    assert merged.owner_id == other.id
    db.refresh(mine), db.refresh(theirs), db.refresh(photo)
    assert mine.assignee_id == rep.id and not mine.done and mine.lead_id == kept.id
    assert theirs.lead_id == merged.id and theirs.assignee_id == other.id and not theirs.done
    assert photo.lead_id == merged.id
    assert [c.name for c in kept.categories] == ["North"]
    assert kept.next_action_on == TODAY + timedelta(days=9)
    assert merged.next_action_on == TODAY + timedelta(days=2)
    texts = db.scalars(
        select(Activity.text).where(Activity.lead_id == kept.id, Activity.kind == "note")
    )
    assert sorted(texts) == [
        "Merged Maria Novak into this lead.",
        "Undid merging Maria Novak into this lead.",
    ]
    assert db.get(LeadMerge, merge.id).undone_at is not None
    with pytest.raises(v.Conflict, match="already undone"):
        merging.undo_merge(db, db.get(LeadMerge, merge.id), boss)


def test_undo_is_refused_after_24_hours(db, people):
    rep, other, boss = people
    kept, merged = factories.lead(db, rep, "Maria"), factories.lead(db, other, "Maria")
    start = utcnow()
    with time_machine.travel(start, tick=False):
        merge = merging.merge_leads(db, kept, merged, {}, boss)
    with time_machine.travel(start + timedelta(hours=23), tick=False):
        assert merging.undo_refusal(db, merge, boss) is None
    late = time_machine.travel(start + timedelta(hours=24, minutes=1), tick=False)
    with late, pytest.raises(v.Conflict, match="24 hours"):
        merging.undo_merge(db, merge, boss)
    assert db.get(Lead, merged.id).merged_into_id == kept.id


def test_undo_is_refused_when_the_kept_lead_changed_since(db, people, make_user):
    rep, other, boss = people
    kept, merged = factories.lead(db, rep, "Maria"), factories.lead(db, other, "Mario")
    merge = merging.merge_leads(db, kept, merged, {"name": "merged"}, boss)
    another = make_user("cy@example.com", "coordinator", "Cy")
    assert "Only the coordinator who merged" in merging.undo_refusal(db, merge, another)
    kept = db.get(Lead, kept.id)
    kept.name = "Mario Rossi"
    db.commit()
    with pytest.raises(v.Conflict, match="changes to the name"):
        merging.undo_merge(db, merge, boss)


def test_a_phone_resending_the_merged_capture_creates_nothing(db, people):
    rep, other, boss = people
    key = uuid.uuid4()
    form = leads.LeadForm.clean(None, {"name": "Maria"}, today=TODAY, phone_region="GB")
    first = leads.store_capture(db, other, form, key)
    db.commit()
    kept = factories.lead(db, rep, "Maria")
    merging.merge_leads(db, kept, db.get(Lead, first.lead_id), {}, boss)
    count = db.scalar(select(func.count()).select_from(Lead))
    again = leads.store_capture(db, other, form, key)
    db.commit()
    assert not again.created and again.lead_id == first.lead_id
    assert db.scalar(select(func.count()).select_from(Lead)) == count


def test_the_record_holds_what_undo_needs(db, people):
    rep, other, boss = people
    kept = factories.lead(db, rep, "Maria", source="Fair")
    merged = factories.lead(db, other, "Maria", source="Web")
    merge = merging.merge_leads(db, kept, merged, {"source": "merged"}, boss)
    record = json.loads(merge.undo)
    assert record["kept_before"] == {"source": "Fair"}
    assert record["merged_before"] == {
        "status": "open",
        "disqualified_reason": None,
        "owner_id": other.id,
    }


def test_a_merged_lead_is_not_counted_in_the_funnel(db, people):
    rep, other, boss = people
    kept = factories.lead(db, rep, "Maria", source="Fair")
    merged = factories.lead(db, other, "Maria", source="Fair")
    factories.lead(db, other, "Jo", source="Fair")
    before = forecast.funnel(db, TODAY - timedelta(days=400), TODAY + timedelta(days=400))
    merging.merge_leads(db, kept, merged, {}, boss)
    after = forecast.cohort(db, TODAY - timedelta(days=400), TODAY + timedelta(days=400))
    assert after.funnel.leads == before.leads - 1
    assert sum(rep_.leads for rep_ in after.reps) == after.funnel.leads


def test_possible_duplicates_are_grouped_by_key(db, people):
    rep, other, boss = people
    a = factories.lead(db, rep, "Maria Novak", email="maria@acme.example")
    b = factories.lead(db, other, "Novak, Maria", email="MARIA@acme.example ")
    factories.lead(db, rep, "Jo", phone="+44 20 7946 0958")
    factories.lead(db, rep, "Joe", phone="020 7946 0958")
    closed = factories.lead(
        db, rep, "Ann", phone="0111 222 333", status="disqualified", disqualified_reason="no fit"
    )
    factories.lead(db, rep, "Anne", phone="0111 222 333")
    emails = merging.duplicate_groups(db, "email")
    assert [[lead.id for lead in g] for g in emails.groups] == [[a.id, b.id]]
    phones = merging.duplicate_groups(db, "phone")
    assert [[lead.name for lead in g] for g in phones.groups] == [["Jo", "Joe"]]
    assert closed.id not in {lead.id for g in phones.groups for lead in g}
    names = merging.duplicate_groups(db, "name")
    assert [[lead.id for lead in g] for g in names.groups] == [[a.id, b.id]]
    merging.merge_leads(db, a, b, {}, boss)
    assert merging.duplicate_groups(db, "email").groups == []


def test_possible_duplicates_page_by_key(db, people):
    rep, *_ = people
    for n in range(5):
        factories.lead(db, rep, f"Twin {n}", email=f"twin{n}@x.example")
        factories.lead(db, rep, f"Twin {n}", email=f"twin{n}@x.example")
    first = merging.duplicate_groups(db, "email", limit=2)
    assert len(first.groups) == 2 and first.next_after == "twin1@x.example"
    rest = merging.duplicate_groups(db, "email", first.next_after, limit=2)
    assert [g[0].email for g in rest.groups] == ["twin2@x.example", "twin3@x.example"]


def test_likely_duplicates_and_search_offer_open_leads_only(db, people):
    rep, other, _boss = people
    lead = factories.lead(db, rep, "Maria Novak", email="maria@acme.example")
    same = factories.lead(db, other, "M Novak", email="maria@acme.example")
    factories.lead(db, other, "Maria Novak", status="disqualified", disqualified_reason="no fit")
    assert merging.likely_duplicates(db, lead) == [same]
    assert merging.merge_targets(db, lead, "Novak") == [same]
    assert merging.merge_targets(db, lead, "") == []


def test_the_weekly_meeting_counts_a_merged_pair_as_one_new_lead(db, people):
    from quickcrm.domain import meeting

    rep, other, boss = people
    snapshot = meeting.take_snapshot(db, boss, now=utcnow() - timedelta(days=7))
    kept = factories.lead(db, rep, "Maria", temperature="hot")
    merged = factories.lead(db, rep, "Maria", temperature="hot")
    merging.merge_leads(db, kept, merged, {}, boss)
    found = meeting.compare(db, snapshot, None, TODAY)
    assert found.new_leads == [("Rita Rep", "hot", 1)]
    assert found.disqualified == []  # merged, not judged
