"""Duplicate hints while typing, on a phone (README, "Duplicate hints"): a quiet line under
the field says what the typed name already is — online from the server, offline from the
captures on the phone — and Save never waits for it."""

from __future__ import annotations

from playwright.sync_api import expect

from quickcrm.domain.keys import email_key, person_key, phone_tail
from tests import factories
from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import violations
from tests.e2e.test_offline import (
    capture,
    kept,
    lead_names,
    on_server,
    open_app_ready_for_offline,
    waiting,
)


def hint_under(page, field: str):
    return page.locator(f"[data-duplicate-hint={field}]")


def test_a_hint_appears_while_typing_and_save_still_works(make_live_user, live_db, page):
    chris = make_live_user("chris@example.com", "rep", "Chris")
    factories.lead(live_db, chris, "Maria Novák", company_name="Acme")
    make_live_user()
    sign_in(page)
    page.get_by_label("Name", exact=True).press_sequentially("maria novak")
    hint = hint_under(page, "name")
    expect(hint).to_contain_text("Maria Novák (Acme) is already an open lead of Chris, captured")
    # Another rep's lead: she may know it exists and whose it is, not open it.
    expect(hint.get_by_role("link", name="Open")).to_have_count(0)
    assert violations(page) == []
    page.get_by_role("button", name="Save").click()
    expect(kept(page)).to_contain_text("maria novak")
    expect(hint).to_be_empty()

    # A look-up that never answers holds nothing up: Save saves at once.
    held = []
    page.route("**/duplicates?*", lambda route: held.append(route))
    with page.expect_request(lambda request: "/duplicates?" in request.url):
        page.get_by_label("Name", exact=True).press_sequentially("Maria Novak")
    # Save empties the form and drops the look-up of what it held: its answer never shows.
    with page.expect_event("requestfailed", lambda request: "/duplicates?" in request.url):
        page.get_by_role("button", name="Save").click()
    expect(kept(page)).to_contain_text("Maria Novak")
    expect(page.get_by_label("Name", exact=True)).to_have_value("")
    on_server(page, "Maria Novak")
    page.unroute("**/duplicates?*")
    assert sorted(lead_names(live_db)) == ["Maria Novak", "Maria Novák", "maria novak"]
    expect(hint_under(page, "name")).to_be_empty()


def test_offline_the_captures_on_the_phone_give_the_hint(make_live_user, live_db, page):
    rita = make_live_user()
    factories.lead(live_db, rita, "Jan Dvořák", email="jan@dvorak.example")
    open_app_ready_for_offline(page)  # the page the phone keeps lists Jan among recent captures
    page.context.set_offline(True)
    page.reload()
    capture(page, "Petra Svoboda")
    expect(kept(page)).to_contain_text("Petra Svoboda")
    expect(waiting(page, 1)).to_be_visible()

    page.get_by_label("Name", exact=True).press_sequentially("SVOBODA, Petra")
    expect(hint_under(page, "name")).to_have_text(
        "Petra Svoboda is already in your captures on this phone"
    )
    page.get_by_label("Name", exact=True).fill("")
    page.get_by_role("button", name="More").click()
    page.get_by_label("Email").press_sequentially("JAN@dvorak.example")
    expect(hint_under(page, "email")).to_contain_text(
        "Jan Dvořák is already in your captures on this phone"
    )
    page.get_by_label("Name", exact=True).press_sequentially("Someone Else")
    expect(hint_under(page, "name")).to_be_empty()


def test_the_new_company_form_says_the_company_exists(make_live_user, live_db, page):
    acme = factories.company(live_db, "ACME, Inc.")
    make_live_user("cora@example.com", "coordinator", "Cora")
    sign_in(page, "cora@example.com")
    page.goto("/companies/new")
    page.get_by_label("Name", exact=True).press_sequentially("Acme Ltd")
    hint = hint_under(page, "name")
    expect(hint).to_contain_text("ACME, Inc. is already a company")
    assert violations(page) == []
    hint.get_by_role("link", name="Open").click()
    expect(page).to_have_url(f"/companies/{acme.id}")


SAMPLES = {
    "name": ["Novák, Maria", "  MARIA   novak ", "Łukasz Ørsted-Æbelø", "Straße Groß",
             "José_ María", "Ǆemal İnce", "ﬁona", "", "!!!", "Anne-Marie O'Neil 2nd",
             "ΣΟΦΟΚΛΗΣ Σοφοκλής"],
    "email": ["Maria@Acme.COM ", "no-at-sign", "", " a@b ", "ÉLODIE@Exemple.fr"],
    "phone": ["+44 20 7946 0958", "020 7946 0958 ext. 12", "(555) 123-4567 x89", "１２３４５６７８",
              "123", "0044 (20) 7946-0958 #4", "٠١٢٣٤٥٦٧٨٩"],
}  # fmt: skip


def test_the_phones_keys_are_the_servers(make_live_user, page):
    """static/js/keys.js is the twin of quickcrm/domain/keys.py: the same key for each value."""
    make_live_user()
    sign_in(page)
    got = page.evaluate(
        """async (samples) => {
          const keys = await import("/static/js/keys.js");
          return {
            name: samples.name.map(keys.personKey),
            email: samples.email.map(keys.emailKey),
            phone: samples.phone.map(keys.phoneTail),
          };
        }""",
        SAMPLES,
    )
    assert got == {
        "name": [person_key(v) for v in SAMPLES["name"]],
        "email": [email_key(v) for v in SAMPLES["email"]],
        "phone": [phone_tail(v) for v in SAMPLES["phone"]],
    }


def test_the_new_contact_form_says_the_person_is_already_a_contact(make_live_user, live_db, page):
    acme = factories.company(live_db, "Acme Ltd", email_domain="acme.example")
    factories.company(live_db, "Acme Holdings", email_domain="acme.example")
    factories.contact(live_db, acme, "Maria Novak", email="maria@acme.example")
    make_live_user()
    sign_in(page)
    page.goto(f"/companies/{acme.id}/contacts/new")
    page.get_by_label("Email").press_sequentially("MARIA@acme.example")
    hint = hint_under(page, "email")
    expect(hint).to_contain_text("Maria Novak is already a contact at Acme Ltd")
    # Another company at that domain is news; the one the contact is being added to is not.
    expect(hint).to_contain_text("Acme Holdings is already a company")
    expect(hint).not_to_contain_text("Acme Ltd is already a company")
