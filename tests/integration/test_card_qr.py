"""QR codes on cards and badges: OpenCV finds the code in a photographed card (generated
with segno and Pillow, tests/card_photos.py), and a card photo with a vCard's QR code fills
the capture exactly — online (POST /cards/read) and at sync (POST /captures) — without the
OCR; a form the page filled from a code scanned live is an ordinary capture. The OCR is
replaced by canned lines (``reads``, tests/conftest.py), and counted: it must not run for a
contact's QR code."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image
from sqlalchemy import select

from quickcrm.domain import cards
from quickcrm.domain.cards import decode
from quickcrm.domain.leads.capture import FROM_QR
from quickcrm.models import Activity, Lead
from tests.card_photos import card_image, qr_image, sample, truth, vcard_of
from tests.conftest import csrf_token


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# --- Finding the code in a photo --------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 7])  # the three layouts, a German card
def test_the_qr_code_of_a_photographed_card_is_decoded_and_read_exactly(seed):
    t = truth(seed)
    _, photo = sample(seed, qr=vcard_of(t))
    texts = decode.qr_texts(photo)
    assert texts == [vcard_of(t)]
    card = cards.qr_in_photo(photo)
    assert card is not None and card.exact
    assert (card.name, card.company, card.email, card.phone, card.title) == (
        t.name, t.company, t.email, t.phone, t.title,
    )  # fmt: skip
    assert card.address == ", ".join(t.address)


def test_a_card_without_a_qr_code_and_what_is_no_photo_give_no_text():
    _, photo = sample(3)
    assert decode.qr_texts(photo) == []
    assert decode.qr_texts(b"not a picture at all") == []
    assert decode.qr_texts(b"") == []
    assert cards.qr_in_photo(photo) is None


def test_a_badge_with_a_ticket_code_and_a_contact_code_gives_the_contact():
    badge = Image.new("RGB", (900, 500), "white")
    badge.paste(qr_image("TICKET-2026-000123", 300), (40, 80))
    badge.paste(qr_image("MECARD:N:Rossi,Marco;EMAIL:marco@redstone.example;;", 300), (500, 80))
    card = cards.qr_in_photo(png(badge))
    assert card is not None
    assert (card.name, card.email) == ("Marco Rossi", "marco@redstone.example")


def test_a_qr_code_holding_binary_data_gives_nothing():
    import segno

    code = segno.make(b"\x00\x01\x02\xff\xfe binary", error="m", micro=False)
    out = io.BytesIO()
    code.save(out, kind="png", scale=8, border=4)
    assert cards.qr_in_photo(out.getvalue()) is None


# --- Online: the capture form's card photo ----------------------------------------------


def read(client, photo: bytes):
    token = csrf_token(client, "/")
    return client.post(
        "/cards/read",
        data={"photo": (io.BytesIO(photo), "card.jpg")},
        headers={"X-CSRFToken": token},
    )


def test_a_card_photo_with_a_vcard_qr_code_fills_the_form_exactly_without_the_ocr(
    client, rep, reads
):
    t = truth(2)
    _, photo = sample(2, qr=vcard_of(t))
    response = read(client, photo)
    assert response.status_code == 200, response.json
    assert response.json["source"] == "qr"
    assert response.json["message"] == "Filled from the QR code — exact."
    fields = response.json["fields"]
    assert (fields["name"], fields["company_name"], fields["email"], fields["phone"]) == (
        t.name, t.company, t.email, t.phone,
    )  # fmt: skip
    # The form has an Address field: the code's address goes there, not into the note.
    assert fields["note"] == f"{t.title}\nWebsite: https://{t.website}"
    assert fields["address"], fields
    assert reads.got == []


def test_a_qr_code_with_only_a_website_adds_it_to_what_the_ocr_reads(client, rep, reads):
    t = truth(4)
    _, photo = sample(4, qr="https://www.brightwave.example/jane")
    response = read(client, photo)
    assert response.json["source"] == "card"
    assert response.json["fields"]["name"] == "Jane Doe"
    assert response.json["fields"]["note"].endswith("Website: https://www.brightwave.example/jane")
    assert len(reads.got) == 1
    assert t  # the printed card is read by the (canned) OCR


def test_a_website_qr_code_on_a_card_the_ocr_cannot_read_still_gives_the_website(
    client, rep, reads
):
    reads.fail = True
    _, photo = sample(4, qr="https://www.brightwave.example/jane")
    response = read(client, photo)
    assert response.json["fields"] == {"note": "Website: https://www.brightwave.example/jane"}
    assert "Could not read the card" in response.json["message"]


def test_a_qr_code_holding_something_else_leaves_the_card_to_the_ocr(client, rep, reads):
    card = card_image(truth(1), 1, qr="WIFI:T:WPA;S:Fair;P:secret;;")
    response = read(client, png(card))
    assert response.json["source"] == "card"
    assert response.json["message"] == "Read from the card — check each field."
    assert len(reads.got) == 1


# --- At sync (offline) and the form's save ----------------------------------------------


def timeline(db, lead: Lead) -> list[str]:
    return list(db.scalars(select(Activity.text).where(Activity.lead_id == lead.id)))


def test_a_queued_capture_with_a_qr_card_is_stored_exactly_and_not_marked_to_check(
    client, db, rep, reads
):
    t = truth(5)
    _, photo = sample(5, qr=vcard_of(t))
    token = csrf_token(client, "/")
    key = str(uuid.uuid4())
    response = client.post(
        "/captures",
        data={
            "uuid": key,
            "name": "",
            "note": "Met at stand 4",
            "captured_at": "2026-11-29T10:32:00Z",
            "card_photo": (io.BytesIO(photo), "card.jpg"),
        },
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    assert response.status_code == 201, response.json
    lead = db.scalars(select(Lead).where(Lead.uuid == uuid.UUID(key))).one()
    assert (lead.name, lead.company_name, lead.email) == (t.name, t.company, t.email)
    assert lead.phone is not None and lead.phone.replace(" ", "") == t.phone
    assert lead.note.startswith(f"Met at stand 4\n{t.title}")
    assert not lead.from_card
    assert timeline(db, lead) == [FROM_QR]
    assert [a.kind for a in lead.attachments] == ["card_photo"]
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "from a card — check" not in page and FROM_QR in page
    assert reads.got == []


def test_a_card_photo_without_a_qr_code_is_still_read_and_marked_at_sync(client, db, rep, reads):
    _, photo = sample(3)
    token = csrf_token(client, "/")
    key = str(uuid.uuid4())
    client.post(
        "/captures",
        data={"uuid": key, "name": "", "card_photo": (io.BytesIO(photo), "card.jpg")},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    lead = db.scalars(select(Lead).where(Lead.uuid == uuid.UUID(key))).one()
    assert (lead.name, lead.from_card) == ("Jane Doe", True)
    assert timeline(db, lead) == []


def test_a_form_filled_from_a_code_scanned_live_is_an_ordinary_capture(client, db, rep):
    """static/js/qr.js filled the form from the camera (no photo) and says card_read=qr."""
    token = csrf_token(client, "/")
    response = client.post(
        "/",
        data={
            "csrf_token": token,
            "name": "Pierre Dubois",
            "company_name": "Smith; Sons, Ltd",
            "email": "pierre@acme.example",
            "phone": "+33 1 42 68 53 00",
            "note": "Directeur commercial\nWebsite: https://acme.example",
            "card_read": "qr",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    lead = db.scalars(select(Lead)).one()
    assert (lead.name, lead.email) == ("Pierre Dubois", "pierre@acme.example")
    assert not lead.from_card
    assert timeline(db, lead) == [FROM_QR]


@pytest.mark.parametrize("card_read", ["1", "", "qr\x00", "x" * 5000])
def test_only_the_page_s_qr_word_puts_the_qr_line_on_the_timeline(client, db, rep, card_read):
    token = csrf_token(client, "/")
    response = client.post(
        "/", data={"csrf_token": token, "name": "Ann Lee", "card_read": card_read}
    )
    assert response.status_code < 500
    for lead in db.scalars(select(Lead)):
        assert timeline(db, lead) == []


def test_a_photo_waiting_too_long_for_its_turn_is_told_to_come_again(
    client, db, rep, reads, monkeypatch
):
    """Looking for a QR code takes the photo's turn in the process, as decoding it does."""
    from quickcrm.domain import attachments

    monkeypatch.setattr(attachments, "DECODE_WAIT", 0.01)
    real = attachments.prepare_photo

    def prepared_then_busy(data):
        done = real(data)
        assert attachments._decoding.acquire(timeout=5)  # another photo's turn now
        return done

    monkeypatch.setattr(attachments, "prepare_photo", prepared_then_busy)
    monkeypatch.setitem(attachments.PREPARE, "card_photo", prepared_then_busy)
    _, photo = sample(2, qr=vcard_of(truth(2)))
    token = csrf_token(client, "/")
    try:
        read_answer = read(client, photo)
        attachments._decoding.release()
        saved = client.post(
            "/",
            data={"csrf_token": token, "card_photo": (io.BytesIO(photo), "card.jpg")},
        )
    finally:
        attachments._decoding.release()
    assert read_answer.status_code == 429 and "send it again" in read_answer.json["error"]
    assert saved.status_code == 429 and "send it again" in saved.get_data(as_text=True)
    assert db.scalars(select(Lead)).all() == []
