"""Undoing the conversion of a lead that came with a card photo: the photo is the lead's
again, on its page, and private to its rep again."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from quickcrm.models import Lead
from tests import factories
from tests.card_photos import sample
from tests.e2e.conftest import sign_in, sign_out


def test_undo_a_card_lead_conversion_gives_the_photo_back_to_the_lead_alone(
    make_live_user, live_db, page
):
    rep = make_live_user()
    make_live_user("cora@example.com", "coordinator", "Cora Coordinator")
    make_live_user("other@example.com", "rep", "Otto Other")
    lead = factories.lead(live_db, rep, "Jane Doe", company_name="Brightwave Ltd",
                          email="jane@brightwave.example", from_card=True)  # fmt: skip
    _, jpeg = sample(3)
    photo = factories.attachment(live_db, lead, "card_photo", data=jpeg)

    sign_in(page, "cora@example.com")
    page.goto(f"/leads/{lead.id}/convert")
    page.get_by_role("button", name="Convert").click()
    # The conversion lands on the company it made (a flash may be taken by another request).
    expect(page).to_have_url(re.compile(r"/companies/\d+$"))
    expect(page.get_by_role("heading", name="Brightwave Ltd", level=1)).to_be_visible()
    page.goto(f"/leads/{lead.id}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Undo conversion").click()
    expect(page.get_by_role("link", name="Convert", exact=True)).to_be_visible()
    expect(page.get_by_role("img", name="Card photo")).to_be_visible()
    live_db.expire_all()
    assert live_db.get(Lead, lead.id).status == "open"
    sign_out(page)

    sign_in(page, "other@example.com")
    expect(page.get_by_label("Name", exact=True)).to_be_visible()
    answer = page.request.get(f"/attachments/{photo.id}")
    assert answer.status in (403, 404)
