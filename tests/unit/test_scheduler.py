"""When a scheduled job is next due, and one run's life: claimed under a lease, finished
with its result, failed and tried again (quickcrm/domain/scheduler.py)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from quickcrm.domain import scheduler as schedule
from quickcrm.models import ScheduledJob

LONDON = ZoneInfo("Europe/London")
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 9, 17, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_hourly_is_due_on_the_next_hour_whatever_the_zone():
    hourly = schedule.Every(HOUR)
    assert hourly.next_after(NOW, LONDON) == utc(2026, 11, 23, 10)
    assert hourly.next_after(utc(2026, 11, 23, 10), BERLIN) == utc(2026, 11, 23, 11)
    assert hourly.describe() == "every hour"


def test_every_five_minutes_has_one_slot_per_five_minutes():
    every = schedule.Every(timedelta(minutes=5))
    assert every.next_after(NOW, LONDON) == utc(2026, 11, 23, 9, 20)
    assert every.next_after(utc(2026, 11, 23, 9, 20), LONDON) == utc(2026, 11, 23, 9, 25)
    assert every.describe() == "every 5 minutes"


def test_daily_at_two_on_the_teams_clock_across_the_clocks_going_forward():
    nightly = schedule.DailyAt(time(2, 0))
    saturday = nightly.next_after(utc(2026, 3, 27, 12), LONDON)
    sunday = nightly.next_after(saturday, LONDON)
    monday = nightly.next_after(sunday, LONDON)
    # 02:00 GMT, then 02:00 BST: the clocks went forward at 01:00 on Sunday 29 March.
    assert (saturday, sunday, monday) == (
        utc(2026, 3, 28, 2),
        utc(2026, 3, 29, 1),
        utc(2026, 3, 30, 1),
    )
    assert {moment.astimezone(LONDON).hour for moment in (saturday, sunday, monday)} == {2}
    assert nightly.describe() == "daily at 02:00"


def test_a_time_the_clocks_skip_runs_at_the_hour_after_and_one_they_repeat_runs_once():
    at_half_past_two = schedule.DailyAt(time(2, 30))
    # Berlin skips 02:00–03:00 on 29 March 2026: that night it runs at 03:30 CEST.
    skipped = at_half_past_two.next_after(utc(2026, 3, 28, 12), BERLIN)
    assert skipped == utc(2026, 3, 29, 1, 30)
    assert skipped.astimezone(BERLIN).strftime("%H:%M") == "03:30"
    assert at_half_past_two.next_after(skipped, BERLIN) == utc(2026, 3, 30, 0, 30)
    # Berlin has 02:30 twice on 25 October 2026: it runs at the first, not again an hour later.
    first = at_half_past_two.next_after(utc(2026, 10, 24, 12), BERLIN)
    assert first == utc(2026, 10, 25, 0, 30)
    assert at_half_past_two.next_after(first, BERLIN) == utc(2026, 10, 26, 1, 30)


class Calls:
    """A job's function that counts its runs, and fails while told to."""

    def __init__(self) -> None:
        self.runs: list[schedule.Run] = []
        self.failing = False

    def __call__(self, run: schedule.Run) -> str:
        self.runs.append(run)
        if self.failing:
            raise RuntimeError("the mail server said no\nsecond line")
        return f"Run {len(self.runs)}"


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def job(calls) -> schedule.Job:
    return schedule.Job(
        name="test-job", title="Test job", when=schedule.Every(HOUR), function=calls, lease=HOUR
    )


def run(db, job, now, **options) -> schedule.Outcome:
    return schedule.run_due(db, db.get_bind(), [job], LONDON, now=now, **options)[0]


def test_a_new_job_is_due_at_its_first_slot_and_runs_once_a_slot(db, job, calls):
    assert not run(db, job, NOW).ran  # its row made now, due at 10:00
    assert db.get(ScheduledJob, "test-job").next_run_at == utc(2026, 11, 23, 10)
    assert not run(db, job, utc(2026, 11, 23, 9, 59)).ran
    done = run(db, job, utc(2026, 11, 23, 10, 0, 20))
    assert (done.ran, done.result, done.message) == (True, "ok", "Run 1")
    assert done.next_run_at == utc(2026, 11, 23, 11)
    assert calls.runs[0].due == utc(2026, 11, 23, 10)
    assert not run(db, job, utc(2026, 11, 23, 10, 30)).ran
    row = db.get(ScheduledJob, "test-job", populate_existing=True)
    assert (row.result, row.message, row.holder, row.lease_until) == ("ok", "Run 1", None, None)
    assert (row.started_at, row.finished_at) == (utc(2026, 11, 23, 10, 0, 20),) * 2
    assert len(calls.runs) == 1


def test_slots_missed_while_no_server_ran_are_one_run(db, job, calls):
    run(db, job, NOW)
    late = run(db, job, utc(2026, 11, 23, 14, 5))
    assert late.ran and calls.runs[0].due == utc(2026, 11, 23, 10)
    assert late.next_run_at == utc(2026, 11, 23, 15)


def test_a_failing_run_is_recorded_in_one_line_and_tried_again_at_its_next_run(db, job, calls):
    run(db, job, NOW)
    calls.failing = True
    failed = run(db, job, utc(2026, 11, 23, 10, 1))
    assert (failed.ran, failed.result) == (True, "failed")
    assert failed.message == "RuntimeError: the mail server said no second line"
    row = db.get(ScheduledJob, "test-job", populate_existing=True)
    assert (row.result, row.holder, row.next_run_at) == ("failed", None, utc(2026, 11, 23, 11))
    assert not run(db, job, utc(2026, 11, 23, 10, 30)).ran
    calls.failing = False
    again = run(db, job, utc(2026, 11, 23, 11, 1))
    assert (again.result, again.message) == ("ok", "Run 2")


def test_a_held_lease_keeps_others_out_until_it_ends(db, job, calls):
    run(db, job, NOW)
    due = utc(2026, 11, 23, 10)
    assert schedule.claim(db, job, due, "server-a:1:x") == due
    assert schedule.claim(db, job, due + timedelta(minutes=59), "server-b:2:y") is None
    assert not run(db, job, due + timedelta(minutes=59), force=True).ran  # not even Run now
    # Server a was killed: an hour on, its lease has ended and the run is taken over.
    taken = run(db, job, due + HOUR)
    assert taken.ran and calls.runs[0].due == due
    # Server a, had it lived, finds its lease gone: it records nothing over b's result.
    assert schedule.finish(db, job, "server-a:1:x", due, due + HOUR, "ok", "late", LONDON) is None
    assert db.get(ScheduledJob, "test-job", populate_existing=True).message == "Run 1"


def test_run_now_runs_a_job_that_is_not_due_and_keeps_its_rhythm(db, job, calls):
    run(db, job, NOW)
    now = run(db, job, NOW + timedelta(minutes=5), force=True)
    assert now.ran and now.next_run_at == utc(2026, 11, 23, 10)
    assert calls.runs[0].due == NOW + timedelta(minutes=5)


def test_the_page_sees_a_job_running_while_its_lease_lasts(db, job):
    run(db, job, NOW)
    schedule.claim(db, job, utc(2026, 11, 23, 10), "server-a:1:x")
    [state] = schedule.states(db, [job], utc(2026, 11, 23, 10, 30))
    assert (state.running, state.stalled, state.due) == (True, False, False)
    assert state.row.holder == "server-a:1:x"
    # Server a was killed: its lease has ended, the next check takes the run over.
    [state] = schedule.states(db, [job], utc(2026, 11, 23, 11, 30))
    assert (state.running, state.stalled, state.due) == (False, True, False)
    schedule.finish(db, job, "server-a:1:x", NOW, NOW, "ok", "Done", LONDON)  # due at 10:00
    [state] = schedule.states(db, [job], utc(2026, 11, 23, 9, 30))
    assert (state.running, state.stalled, state.due) == (False, False, False)
    [state] = schedule.states(db, [job], utc(2026, 11, 23, 10, 30))
    assert (state.running, state.stalled, state.due) == (False, False, True)


def test_a_new_hour_or_time_zone_moves_the_next_run_at_the_next_check(db, calls):
    def nightly(at: time) -> schedule.Job:
        return schedule.Job("nightly", "Nightly", schedule.DailyAt(at), calls, HOUR)

    schedule.ensure(db, [nightly(time(2))], NOW, LONDON)
    assert db.get(ScheduledJob, "nightly").next_run_at == utc(2026, 11, 24, 2)
    schedule.ensure(db, [nightly(time(4))], NOW + HOUR, LONDON)  # QUICKCRM_BACKUP_AT=04:00
    assert db.get(ScheduledJob, "nightly", populate_existing=True).next_run_at == utc(
        2026, 11, 24, 4
    )
    schedule.ensure(db, [nightly(time(4))], NOW + HOUR, BERLIN)  # the team moved
    row = db.get(ScheduledJob, "nightly", populate_existing=True)
    assert row.next_run_at == utc(2026, 11, 24, 3)
    # A due run is left to run, whatever the rule says now.
    late = utc(2026, 11, 24, 3, 30)
    schedule.ensure(db, [nightly(time(5))], late, BERLIN)
    assert db.get(ScheduledJob, "nightly", populate_existing=True).next_run_at == utc(
        2026, 11, 24, 3
    )
