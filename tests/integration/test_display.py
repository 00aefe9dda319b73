"""How pages write dates, times and money (issue 22, display): in the viewer's zone and the
team's locale and currency, with the server in UTC and the team in Perth (en-AU, AUD).
CLDR puts a narrow no-break space (U+202F) between a time and its "am"."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

from flask import g
from sqlalchemy import select

from quickcrm.domain import team as teams
from quickcrm.models import Activity, Company, Opportunity, Stage, TeamSettings
from quickcrm.web import formats
from tests import factories

# 06:00 on Sunday 7 December 2025 in Perth (UTC+8) is 22:00 on Saturday in UTC.
SUNDAY_6AM_PERTH = datetime(2025, 12, 6, 22, 0, tzinfo=UTC)
PERTH = teams.Team(time_zone="Australia/Perth", currency="AUD", locale="en-AU",
                   week_start=teams.MONDAY, phone_region="AU")  # fmt: skip


def perth_team(db) -> None:
    db.add(TeamSettings(id=1, time_zone="Australia/Perth", currency="AUD", locale="en-AU",
                        week_start=teams.MONDAY, phone_region="AU"))  # fmt: skip
    db.commit()


def test_the_filters_write_the_teams_formats_in_the_viewers_zone(app):
    with app.test_request_context():
        g.quickcrm_team = PERTH
        assert formats.day(SUNDAY_6AM_PERTH) == "7 Dec 2025"
        assert formats.day(date(2026, 12, 6), "short") == "6/12/26"
        assert formats.moment(SUNDAY_6AM_PERTH) == "7 Dec 2025, 6:00\u202fam"
        assert formats.time_of_day(SUNDAY_6AM_PERTH) == "6:00\u202fam"
        assert formats.local_moment(SUNDAY_6AM_PERTH).isoformat() == "2025-12-07T06:00:00+08:00"
        assert formats.month(date(2026, 12, 1)) == "Dec 2026"
        assert formats.month(date(2026, 9, 1), year=False) == "Sept"
        assert formats.amount(Decimal("12500")) == "$12,500"
        assert formats.amount(Decimal("12500.5"), cents=True) == "$12,500.50"
        assert formats.amount(Decimal("-300"), signed=True) == "-$300"
        g.quickcrm_team = teams.Team(time_zone="Europe/London", currency="AUD", locale="en-GB",
                                     week_start=teams.MONDAY, phone_region=None)  # fmt: skip
        assert formats.moment(SUNDAY_6AM_PERTH) == "6 Dec 2025, 22:00"
        assert formats.amount(Decimal("12500")) == "A$12,500"


def test_a_lead_captured_at_6am_in_perth_on_sunday_is_sundays_on_its_page_and_in_the_list(
    client, admin, db
):
    perth_team(db)
    lead = factories.lead(db, admin, name="Sunday Dawn", captured_at=SUNDAY_6AM_PERTH)
    db.commit()
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert '<time datetime="2025-12-07T06:00:00+08:00">7 Dec 2025, 6:00\u202fam</time>' in page
    listing = client.get("/leads/", query_string={"status": "all"}).get_data(as_text=True)
    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*Sunday Dawn(?:(?!</tr>).)*</tr>", listing, re.S)
    assert row, "the lead is in the list"
    assert '<td class="cell-captured">7 Dec 2025</td>' in row.group(0)


def test_a_timeline_item_is_written_in_the_viewers_zone_without_utc(client, admin, db):
    perth_team(db)
    lead = factories.lead(db, admin, name="Timeline Lead")
    db.add(Activity(kind="note", text="Met at the fair", lead=lead, author_id=admin.id,
                    created_at=SUNDAY_6AM_PERTH))  # fmt: skip
    db.commit()
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert '<time datetime="2025-12-07T06:00:00+08:00">7 Dec 2025, 6:00\u202fam</time>' in page
    assert "UTC" not in page


def test_amounts_carry_the_teams_currency_as_its_locale_writes_it(client, admin, db):
    perth_team(db)
    open_stages = select(Stage).where(Stage.outcome == "open").order_by(Stage.position)
    stage = db.scalars(open_stages).first()
    deal = Opportunity(
        company=Company(name="Acme", name_key="acme"), title="Fit-out", value=Decimal("12500"),
        stage=stage, probability=40, owner_id=admin.id,
    )  # fmt: skip
    db.add(deal)
    db.commit()
    detail = client.get(f"/opportunities/{deal.id}").get_data(as_text=True)
    assert "· weighted $5,000" in detail
    company = client.get(f"/companies/{deal.company_id}").get_data(as_text=True)
    assert "<td>$12,500.00</td>" in company
    board = client.get("/opportunities").get_data(as_text=True)
    assert "<dt>Total</dt><dd>$12,500</dd>" in board
