"""QR codes on a phone: a card photo with a vCard's QR code fills the form exactly, marked
"from the QR code"; *Scan QR* opens Card photo where the browser has no BarcodeDetector
(headless chromium), and — with a stand-in BarcodeDetector over chromium's fake camera —
reads a code live, fills the form and saves it as an ordinary capture. And the browser's
parser (static/js/qr.js) reads every payload of tests/unit/test_qr.py as the server does."""

from __future__ import annotations

import json
import random

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.domain.cards import qr
from quickcrm.domain.leads.capture import FROM_QR
from quickcrm.models import Activity, Lead
from tests.card_photos import sample, truth, vcard_of
from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import violations
from tests.e2e.test_offline import kept, open_app_ready_for_offline, waiting
from tests.unit.test_qr import NOTHING, PAYLOADS

# The server decodes the code in the photo (OpenCV, loaded on the first photo).
READING = 60_000
MECARD = "MECARD:N:Dubois,Pierre;TEL:+33 1 42 68 53 00;EMAIL:pierre@acme.example;ORG:Acme\\, SA;;"

NO_DETECTOR = "delete window.BarcodeDetector;"


def fake_detector(payload: str | None) -> str:
    """A BarcodeDetector that reads QR codes and, from the third frame it is shown, finds
    one holding ``payload`` (never, with None)."""
    return f"""
    window.BarcodeDetector = class {{
      static async getSupportedFormats() {{ return ["qr_code", "ean_13"]; }}
      constructor(options) {{ this.formats = options.formats; this.seen = 0; }}
      async detect(source) {{
        this.seen += 1;
        const payload = {json.dumps(payload)};
        if (payload === null || this.seen < 3) return [];
        return [{{ rawValue: payload, format: "qr_code", boundingBox: {{}}, cornerPoints: [] }}];
      }}
    }};
    """


def open_capture(page) -> None:
    """Sign in to the capture page, its modules run (a tap before would do nothing)."""
    sign_in(page)
    expect(page.get_by_label("Name", exact=True)).to_be_visible()
    page.wait_for_load_state("load")


def stored_lead(live_db) -> Lead:
    live_db.expire_all()
    return live_db.scalars(select(Lead)).one()


def timeline(live_db, lead: Lead) -> list[str]:
    return list(live_db.scalars(select(Activity.text).where(Activity.lead_id == lead.id)))


def test_a_card_photo_with_a_vcard_qr_code_fills_the_form_exactly(make_live_user, live_db, page):
    make_live_user()
    open_capture(page)
    t = truth(2)
    _, photo = sample(2, qr=vcard_of(t))
    page.get_by_label("Card photo").set_input_files(
        files=[{"name": "card.jpg", "mimeType": "image/jpeg", "buffer": photo}]
    )
    expect(page.get_by_label("Name", exact=True)).to_have_value(t.name, timeout=READING)
    expect(page.get_by_label("Company")).to_have_value(t.company)
    expect(page.get_by_label("Email")).to_have_value(t.email)
    expect(page.get_by_label("Phone")).to_have_value(t.phone)
    expect(page.get_by_label("Address")).not_to_have_value("")
    expect(page.locator("#email-from-card")).to_have_text("from the QR code")
    expect(page.get_by_text("Filled from the QR code — exact.")).to_be_visible()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_contain_text(
        "on the server ✓", timeout=READING
    )
    lead = stored_lead(live_db)
    assert (lead.name, lead.company_name, lead.email) == (t.name, t.company, t.email)
    assert lead.address and lead.address not in (lead.note or "")
    assert not lead.from_card
    assert timeline(live_db, lead) == [FROM_QR]


def test_scan_qr_opens_card_photo_where_the_browser_cannot_read_codes(make_live_user, page):
    make_live_user()
    page.add_init_script(NO_DETECTOR)
    open_capture(page)
    scan = page.get_by_role("button", name="Scan QR")
    expect(scan).to_be_visible()
    with page.expect_file_chooser() as chooser:
        scan.tap()
    assert chooser.value.element.get_attribute("id") == "card_photo"
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_scan_qr_reads_a_code_live_and_saves_an_ordinary_capture(make_live_user, live_db, page):
    make_live_user()
    page.add_init_script(fake_detector(MECARD))
    open_capture(page)
    page.get_by_role("button", name="Scan QR").tap()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Pierre Dubois", timeout=15_000)
    expect(page.get_by_role("dialog", name="Scan QR")).to_be_hidden()
    expect(page.get_by_label("Company")).to_have_value("Acme, SA")
    expect(page.get_by_label("Email")).to_have_value("pierre@acme.example")
    expect(page.get_by_label("Phone")).to_have_value("+33 1 42 68 53 00")
    expect(page.locator("#name-from-card")).to_have_text("from the QR code")
    # The camera is let go once the code is read.
    page.wait_for_function("() => !document.querySelector('#qr-scan video')?.srcObject")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_contain_text(
        "on the server ✓", timeout=15_000
    )
    lead = stored_lead(live_db)
    assert (lead.name, lead.company_name, lead.phone) == (
        "Pierre Dubois", "Acme, SA", "+33 1 42 68 53 00",
    )  # fmt: skip
    assert lead.attachments == [] and not lead.from_card
    assert timeline(live_db, lead) == [FROM_QR]


def test_a_code_scanned_with_no_network_is_read_on_the_phone_and_synced_later(
    make_live_user, live_db, page
):
    """At a fair without signal: qr.js comes from the phone's copy and parses the code
    itself; the capture waits in the queue with card_read=qr."""
    make_live_user()
    page.add_init_script(fake_detector(MECARD))
    open_app_ready_for_offline(page)
    page.context.set_offline(True)
    page.reload()
    page.wait_for_load_state("load")
    page.get_by_role("button", name="Scan QR").tap()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Pierre Dubois", timeout=15_000)
    expect(page.locator("#email-from-card")).to_have_text("from the QR code")
    page.get_by_role("button", name="Save").click()
    expect(kept(page)).to_contain_text("Pierre Dubois")
    expect(waiting(page, 1)).to_be_visible()

    page.context.set_offline(False)
    expect(waiting(page, 0)).to_be_visible(timeout=15_000)
    lead = stored_lead(live_db)
    assert (lead.name, lead.email, lead.from_card) == (
        "Pierre Dubois",
        "pierre@acme.example",
        False,
    )
    assert timeline(live_db, lead) == [FROM_QR]


def test_cancel_closes_the_camera_and_leaves_the_form(make_live_user, page):
    make_live_user()
    page.add_init_script(fake_detector(None))
    open_capture(page)
    page.get_by_label("Name", exact=True).fill("Typed Name")
    page.get_by_role("button", name="Scan QR").tap()
    dialog = page.get_by_role("dialog", name="Scan QR")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_text("Point the camera at the QR code.")).to_be_visible(timeout=15_000)
    page.wait_for_function("() => document.querySelector('#qr-scan video').srcObject?.active")
    dialog.get_by_role("button", name="Cancel").tap()
    expect(dialog).to_be_hidden()
    page.wait_for_function("() => !document.querySelector('#qr-scan video').srcObject")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Typed Name")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_scan_dialog_and_a_form_filled_from_a_code_pass_axe(make_live_user, page, scheme):
    make_live_user()
    page.emulate_media(color_scheme=scheme)
    page.add_init_script(fake_detector(None))
    open_capture(page)
    page.get_by_role("button", name="Scan QR").tap()
    dialog = page.get_by_role("dialog", name="Scan QR")
    expect(dialog.get_by_text("Point the camera at the QR code.")).to_be_visible(timeout=15_000)
    found = {"scanning": violations(page)}
    dialog.get_by_role("button", name="Cancel").tap()
    # The next code the camera shows is a contact.
    page.evaluate(f"() => {{ {fake_detector(MECARD)} }}")
    page.get_by_role("button", name="Scan QR").tap()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Pierre Dubois", timeout=15_000)
    found["filled"] = violations(page)
    assert {state: v for state, v in found.items() if v} == {}


def test_the_browser_reads_each_payload_as_the_server_does(make_live_user, page):
    """static/js/qr.js is the twin of quickcrm/domain/cards/qr.py: the same values."""
    make_live_user()
    open_capture(page)
    payloads = [payload for payload, _ in PAYLOADS] + NOTHING
    got = page.evaluate(
        """async (payloads) => {
          const src = document.querySelector('script[src*="capture.js"]').src;
          const qr = await import(src.replace("capture.js", "qr.js"));
          return payloads.map((p) => qr.parse(p));
        }""",
        payloads,
    )
    want = [card.as_dict() if (card := qr.parse(p)) else None for p in payloads]
    for payload, mine, theirs in zip(payloads, got, want, strict=True):
        assert mine == theirs, payload[:60]


# What mutated payloads are made of: the syntax the parsers must agree on.
PIECES = list(';:,\\\n\r =\"\t') + [
    "BEGIN:VCARD", "END:VCARD", "MECARD:", "N:", "TEL:", "EMAIL;TYPE=work,PREF=1",
    "ENCODING=QUOTED-PRINTABLE", "CHARSET=UTF-8", "=C3=BC", "ü", "X-ABLABEL:", "item1.",
]  # fmt: skip


def mutated(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(chars) + 1)
        if rng.random() < 0.4 and chars:
            del chars[min(at, len(chars) - 1)]
        else:
            chars.insert(at, rng.choice(PIECES))
    return "".join(chars)


def test_the_browser_reads_mutated_payloads_as_the_server_does(make_live_user, page):
    """2,000 payloads of tests/unit/test_qr.py with a few characters or pieces of syntax
    dropped or added (a fixed seed): the twin parsers give the same values, or both none."""
    make_live_user()
    open_capture(page)
    rng = random.Random(29)
    seeds = [payload for payload, _ in PAYLOADS] + [n for n in NOTHING if len(n) < 500]
    payloads = [mutated(rng, rng.choice(seeds)) for _ in range(2000)]
    got = page.evaluate(
        """async (payloads) => {
          const src = document.querySelector('script[src*="capture.js"]').src;
          const qr = await import(src.replace("capture.js", "qr.js"));
          return payloads.map((p) => qr.parse(p));
        }""",
        payloads,
    )
    differ = [
        payload
        for payload, mine in zip(payloads, got, strict=True)
        if mine != (card.as_dict() if (card := qr.parse(payload)) else None)
    ]
    assert differ == [], differ[:3]
