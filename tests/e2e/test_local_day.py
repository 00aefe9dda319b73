"""A rep in Perth at 07:30 on a Sunday morning, the server in UTC where it is still
Saturday: the agenda, the chips, the lead page, the list and the export all say Sunday
(issue 22, "One definition of today")."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect

from quickcrm.models import Activity, Lead, TeamSettings
from tests.e2e.conftest import sign_in

PERTH = ZoneInfo("Australia/Perth")


def a_perth_sunday_ahead() -> date:
    """A Sunday a week or two ahead: the server's clock may only move forward (a signed
    session cookie from the past or more than 30 days old is refused)."""
    day = date.today() + timedelta(days=7)
    return day + timedelta(days=(6 - day.weekday()) % 7)


@pytest.fixture
def perth_page(browser, browser_context_args):
    context = browser.new_context(**browser_context_args, timezone_id="Australia/Perth")
    yield context.new_page()
    context.close()


def test_at_half_past_seven_in_perth_today_is_perths_everywhere(
    perth_page, make_live_user, live_db
):
    page = perth_page
    sunday = a_perth_sunday_ahead()
    morning = datetime(sunday.year, sunday.month, sunday.day, 7, 30, tzinfo=PERTH)
    rep = make_live_user()
    live_db.add(TeamSettings(id=1, time_zone="Australia/Perth", locale="en-GB", week_start=0))
    # Captured at 06:00 on Sunday in Perth: 22:00 on Saturday in UTC.
    lead = Lead(owner=rep, name="Sunday Sue", captured_at=morning - timedelta(hours=1, minutes=30))
    live_db.add(lead)
    live_db.add(Activity(kind="task", text="Call back", due_on=sunday, lead=lead,
                         author=rep, assignee=rep))  # fmt: skip
    live_db.commit()
    assert lead.captured_at.astimezone(UTC).date() == sunday - timedelta(days=1)

    # The phone's clock and the server's (a thread of this process) both at 07:30 Perth.
    page.clock.set_fixed_time(morning)
    with time_machine.travel(morning.astimezone(UTC), tick=True):
        sign_in(page)
        # The capture page: the chip Tomorrow sets Perth's Monday.
        page.get_by_role("button", name="Tomorrow").click()
        monday = (sunday + timedelta(days=1)).isoformat()
        expect(page.get_by_label("Next action date")).to_have_value(monday)

        # The agenda: the follow-up due on Perth's Sunday is today's, not tomorrow's.
        page.goto("/agenda")
        today_section = page.locator("section.agenda-today")
        expect(today_section.get_by_role("link", name="Sunday Sue")).to_be_visible()
        expect(page.locator("section.agenda-overdue")).to_have_count(0)

        # The lead page says 06:00 on Sunday.
        page.goto(f"/leads/{lead.id}")
        captured = page.locator(f"time[datetime='{sunday.isoformat()}T06:00:00+08:00']")
        expect(captured).to_contain_text(f"{sunday.day} {sunday.strftime('%b')}, 06:00")

        # The list says Sunday, and "captured on Sunday" finds the lead.
        on_sunday = {"from": sunday.isoformat(), "to": sunday.isoformat()}
        page.goto(f"/leads/?from={on_sunday['from']}&to={on_sunday['to']}")
        row = page.get_by_role("row").filter(has_text="Sunday Sue")
        expect(row).to_contain_text(f"{sunday.day} {sunday.strftime('%b %Y')}")
        page.goto(f"/leads/?from={sunday - timedelta(days=1)}&to={sunday - timedelta(days=1)}")
        expect(page.get_by_role("row").filter(has_text="Sunday Sue")).to_have_count(0)

        # The export of the same list holds it, its moment in UTC: Sunday in Perth.
        page.goto(f"/leads/?from={on_sunday['from']}&to={on_sunday['to']}")
        with page.expect_download() as download_info:
            page.get_by_role("link", name="Export CSV").click()
        body = Path(download_info.value.path()).read_bytes().decode("utf-8-sig")
    (record,) = csv.DictReader(io.StringIO(body, newline=""))
    captured = datetime.fromisoformat(record["Captured at (UTC)"])
    assert record["Captured at (UTC)"].endswith("Z") and record["Name"] == "Sunday Sue"
    assert captured.astimezone(PERTH).date() == sunday
