"""A rep on a phone downloads their leads as CSV from the leads list."""

from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import expect

from quickcrm.models import Lead
from tests.e2e.conftest import sign_in


def test_a_reps_export_from_the_leads_list_holds_only_their_leads(page, make_live_user, live_db):
    rita = make_live_user("rita@example.com", "rep", "Rita Rep")
    sam = make_live_user("sam@example.com", "rep", "Sam Rep")
    live_db.add_all(
        [
            Lead(owner=rita, name="Maria Novak", temperature="hot", phone="+44 20 7946 0001"),
            Lead(owner=rita, name="Tom Becker", temperature="cold"),
            Lead(owner=sam, name="Aisha Khan", temperature="hot"),
        ]
    )
    live_db.commit()
    sign_in(page, "rita@example.com")

    page.get_by_role("link", name="Leads").click()
    page.get_by_role("button", name="Filters").tap()  # on a phone the filters are folded
    page.get_by_label("Temperature").select_option("hot")
    expect(page.get_by_role("status").filter(has_text="lead")).to_contain_text("1 lead")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value

    assert re.fullmatch(r"quickcrm-leads-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    with open(download.path(), "rb") as fh:
        body = fh.read()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert [(row["Name"], row["Owner"]) for row in rows] == [("Maria Novak", "Rita Rep")]
    assert rows[0]["Phone"] == "'+44 20 7946 0001"
