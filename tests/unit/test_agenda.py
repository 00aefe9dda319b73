"""The agenda's rules: sections by due date, completing (with repeats), snoozing, the feed
token and its rate limit."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from quickcrm.domain import agenda
from quickcrm.domain import validation as v
from quickcrm.models import Activity, Lead

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("start", "every", "unit", "expected"),
    [
        (date(2026, 1, 31), 1, "day", date(2026, 2, 1)),
        (date(2026, 12, 28), 2, "week", date(2027, 1, 11)),
        (date(2026, 1, 15), 3, "month", date(2026, 4, 15)),
        (date(2026, 1, 31), 1, "month", date(2026, 2, 28)),
        (date(2028, 1, 31), 1, "month", date(2028, 2, 29)),
        (date(2026, 8, 31), 1, "month", date(2026, 9, 30)),
        (date(2026, 11, 30), 3, "month", date(2027, 2, 28)),
        (date(2026, 12, 31), 12, "month", date(2027, 12, 31)),
    ],
)
def test_add_interval_clamps_month_ends(start, every, unit, expected):
    assert agenda.add_interval(start, every, unit) == expected


def test_add_interval_refuses_nonsense():
    with pytest.raises(ValueError):
        agenda.add_interval(TODAY, 0, "day")
    with pytest.raises(ValueError):
        agenda.add_interval(TODAY, 1, "year")


def task(db, user, due, text="Follow up", lead=None, **extra):
    lead = lead or Lead(name="Maria Novak", owner_id=user.id, phone="+44 20 7946 0958")
    activity = Activity(
        kind="task",
        text=text,
        due_on=due,
        lead=lead,
        author_id=user.id,
        assignee_id=user.id,
        **extra,
    )
    db.add(activity)
    db.commit()
    return activity


def test_agenda_sorts_open_activities_into_overdue_today_and_this_week(db, make_user):
    rep = make_user()
    other = make_user("other@example.com")
    late = task(db, rep, TODAY - timedelta(days=3))
    now = task(db, rep, TODAY)
    soon = task(db, rep, TODAY + timedelta(days=7))
    task(db, rep, TODAY + timedelta(days=8))  # beyond the week
    task(db, other, TODAY)  # someone else's
    task(db, rep, TODAY, done=True)  # done already
    result = agenda.agenda(db, rep.id, TODAY)
    assert [i.activity.id for i in result.overdue] == [late.id]
    assert [i.activity.id for i in result.today] == [now.id]
    assert [i.activity.id for i in result.this_week] == [soon.id]
    assert result.today[0].who == "Maria Novak"
    assert result.today[0].phone == "+44 20 7946 0958"
    assert agenda.due_count(db, rep.id, TODAY) == 2
    assert agenda.agenda(db, make_user("new@example.com").id, TODAY).empty


def test_a_long_section_pages_on_from_the_last_item_shown(db, make_user):
    rep = make_user()
    # Seven overdue items over two days: ties on the date go by id.
    made = [task(db, rep, TODAY - timedelta(days=2 - i // 4)) for i in range(7)]
    seen, after, mores = [], {}, []
    while True:
        overdue = agenda.agenda(db, rep.id, TODAY, after=after, limit=3).overdue
        seen += [i.activity.id for i in overdue]
        mores.append(overdue.more)
        assert overdue.total == 7
        if not overdue.next:
            break
        after = {"overdue": agenda.read_position(overdue.next)}
    assert seen == [a.id for a in made] and mores == [4, 1, 0]
    assert agenda.read_position(agenda.position(made[0])) == (made[0].due_on, made[0].id)
    for nonsense in ("", "2026-13-01.1", "2026-01-01", "2026-01-01.0", "x.1"):
        assert agenda.read_position(nonsense) is None


def test_completing_with_a_next_date_creates_the_follow_up_and_logs_the_outcome(db, make_user):
    rep = make_user()
    activity = task(db, rep, TODAY)
    created = agenda.complete(
        db, activity, rep, today=TODAY, outcome="Left a voicemail", next_on="2026-11-30"
    )
    assert activity.done and activity.done_at is not None
    note, follow = created
    assert (note.kind, note.text, note.done, note.lead_id) == (
        "note",
        "Left a voicemail",
        True,
        activity.lead_id,
    )
    assert (follow.kind, follow.due_on, follow.done, follow.lead_id) == (
        "task",
        date(2026, 11, 30),
        False,
        activity.lead_id,
    )
    assert [i.activity.id for i in agenda.agenda(db, rep.id, TODAY).this_week] == [follow.id]


def test_completing_a_repeating_task_creates_the_next_occurrence(db, make_user):
    rep = make_user()
    activity = task(
        db,
        rep,
        date(2026, 11, 30),
        text="Quarterly service call",
        repeat_every=3,
        repeat_unit="month",
    )
    (following,) = agenda.complete(db, activity, rep, today=TODAY)
    assert (following.due_on, following.text, following.repeat_every, following.repeat_unit) == (
        date(2027, 2, 28),
        "Quarterly service call",
        3,
        "month",
    )
    assert not following.done


def test_completing_refuses_a_bad_date_and_writes_nothing(db, make_user):
    rep = make_user()
    activity = task(db, rep, TODAY)
    with pytest.raises(v.Refused) as error:
        agenda.complete(db, activity, rep, today=TODAY, outcome="Called", next_on="30/11/2026")
    assert error.value.field == "next_action_on"
    db.rollback()
    db.refresh(activity)
    assert not activity.done
    assert db.query(Activity).count() == 1


def test_snooze_moves_from_today_for_overdue_items(db, make_user):
    rep = make_user()
    late = task(db, rep, TODAY - timedelta(days=5))
    ahead = task(db, rep, TODAY + timedelta(days=2))
    agenda.snooze(db, late, "day", TODAY)
    agenda.snooze(db, ahead, "week", TODAY)
    assert late.due_on == TODAY + timedelta(days=1)
    assert ahead.due_on == TODAY + timedelta(days=9)
    with pytest.raises(v.Refused):
        agenda.snooze(db, late, "year", TODAY)


def test_feed_token_regenerates_and_the_old_one_stops_working(db, make_user):
    rep = make_user()
    old = agenda.regenerate_feed_token(db, rep)
    assert agenda.user_for_feed(db, old).id == rep.id
    new = agenda.regenerate_feed_token(db, rep)
    assert new != old
    assert agenda.user_for_feed(db, old) is None
    assert agenda.user_for_feed(db, "") is None
    assert agenda.user_for_feed(db, new).id == rep.id


def test_the_calendar_feed_is_bounded_in_time_and_in_size(db, make_user, monkeypatch):
    rep = make_user()
    lead = Lead(name="Maria Novak", owner_id=rep.id)
    ahead = timedelta(days=agenda.FEED_DAYS_AHEAD)
    back = timedelta(days=agenda.FEED_DAYS_BACK)
    for due in (TODAY - back - timedelta(days=1), TODAY + ahead + timedelta(days=1)):
        task(db, rep, due, text="Outside", lead=lead)
    inside = [task(db, rep, due, lead=lead) for due in (TODAY + ahead, TODAY - back, TODAY)]
    fed = agenda.feed_activities(db, rep, TODAY)
    assert [a.id for a in fed] == [inside[1].id, inside[2].id, inside[0].id]
    monkeypatch.setattr(agenda, "FEED_MOST", 2)
    assert [a.id for a in agenda.feed_activities(db, rep, TODAY)] == [inside[1].id, inside[2].id]
