"""Card photos and voice notes over HTTP: reading a card, captures that bring them, who
may see them, the 10 MB limit, types told by content, CSRF. The OCR process is replaced
by canned lines here (the ``reads`` fixture of tests/conftest.py; tests/integration/
test_card_ocr.py runs the real one once)."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from PIL import Image
from sqlalchemy import select

from quickcrm.domain import attachments as domain_attachments
from quickcrm.models import Attachment, Contact, Lead, OfflineAction
from tests import factories
from tests.conftest import Auth, csrf_token

OGG = b"OggS\x00\x02" + b"\x00" * 100
MB = 1024 * 1024


def photo_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 40), (250, 250, 250)).save(out, "JPEG")
    return out.getvalue()


def test_a_card_photo_is_read_into_the_capture_fields(client, rep, reads):
    token = csrf_token(client, "/")
    response = client.post(
        "/cards/read",
        data={"photo": (io.BytesIO(photo_bytes()), "card.jpg")},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200
    assert response.json["fields"] == {
        "name": "Jane Doe",
        "company_name": "BRIGHTWAVE TECHNOLOGIES LTD",
        "email": "jane.doe@brightwave.co.uk",
        "phone": "+44 20 7946 0958",
        "note": "Head of Sales\nwww.brightwave.co.uk",
    }


def test_an_unreadable_card_says_so(client, rep, reads):
    reads.fail = True
    token = csrf_token(client, "/")
    response = client.post(
        "/cards/read",
        data={"photo": (io.BytesIO(photo_bytes()), "card.jpg")},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200
    assert response.json["fields"] == {}
    assert "Could not read the card" in response.json["message"]


def test_a_file_that_is_not_a_photo_is_refused_by_its_content(client, rep, reads):
    token = csrf_token(client, "/")
    response = client.post(
        "/cards/read",
        data={"photo": (io.BytesIO(b"#!/bin/sh\necho hi\n"), "card.jpg")},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 422
    assert "not a photo" in response.json["error"]
    assert reads.got == []


@pytest.mark.parametrize("size", [10 * MB + 1, 12 * MB])
def test_more_than_10_mb_is_refused_with_413(client, rep, reads, size):
    token = csrf_token(client, "/")
    big = photo_bytes() + b"\x00" * (size - len(photo_bytes()))
    response = client.post(
        "/cards/read",
        data={"photo": (io.BytesIO(big), "card.jpg")},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    assert response.status_code == 413
    assert "10 MB" in response.json["error"] or "11 MB" in response.json["error"]


def bomb() -> bytes:
    """A PNG of 7,000 × 7,000 pixels in a few hundred KB: 196 MB once decoded."""
    out = io.BytesIO()
    Image.new("L", (7000, 7000)).save(out, "PNG")
    return out.getvalue()


def test_a_photo_of_too_many_pixels_is_refused_before_it_is_decoded(client, rep, reads):
    token = csrf_token(client, "/")
    response = client.post(
        "/cards/read",
        data={"photo": (io.BytesIO(bomb()), "card.png")},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 422
    assert "too many pixels" in response.json["error"]
    assert reads.got == []


def test_while_photos_are_being_decoded_another_is_told_to_come_again(
    client, db, rep, reads, monkeypatch
):
    monkeypatch.setattr(domain_attachments, "DECODE_WAIT", 0.01)
    token = csrf_token(client, "/")
    assert domain_attachments._decoding.acquire(timeout=5)
    try:
        read = client.post(
            "/cards/read",
            data={"photo": (io.BytesIO(photo_bytes()), "card.jpg")},
            headers={"X-CSRFToken": token},
        )
        saved = client.post(
            "/",
            data={
                "name": "Jo",
                "csrf_token": token,
                "card_photo": (io.BytesIO(photo_bytes()), "card.jpg"),
            },  # fmt: skip
        )
    finally:
        domain_attachments._decoding.release()
    assert read.status_code == 429 and "send it again" in read.json["error"]
    assert saved.status_code == 429 and "send it again" in saved.get_data(as_text=True)
    assert db.scalars(select(Lead)).all() == []


def test_reading_a_card_needs_the_csrf_token(client, rep, reads):
    response = client.post("/cards/read", data={"photo": (io.BytesIO(photo_bytes()), "c.jpg")})
    assert response.status_code == 400
    assert reads.got == []


def sync(client, token, **files):
    key = str(uuid.uuid4())
    data = {"uuid": key, "name": "", "note": "", "captured_at": "2026-11-29T10:32:00Z"}
    data.update({name: (io.BytesIO(content), name) for name, content in files.items()})
    return key, client.post(
        "/captures", data=data, headers={"X-CSRFToken": token, "Accept": "application/json"}
    )


def test_a_queued_capture_with_a_card_photo_is_filled_and_marked_at_sync(client, db, rep, reads):
    token = csrf_token(client, "/")
    key, response = sync(client, token, card_photo=photo_bytes(), voice_note=OGG)
    assert response.status_code == 201, response.json
    lead = db.scalars(select(Lead).where(Lead.uuid == uuid.UUID(key))).one()
    assert (lead.name, lead.company_name, lead.email, lead.phone) == (
        "Jane Doe", "BRIGHTWAVE TECHNOLOGIES LTD", "jane.doe@brightwave.co.uk",
        "+44 20 7946 0958",
    )  # fmt: skip
    assert lead.from_card
    assert sorted(a.kind for a in lead.attachments) == ["card_photo", "voice_note"]
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "from a card — check" in page
    # a resend after a lost reply: the same lead, the card not read again
    again = client.post(
        "/captures",
        data={"uuid": key, "name": "", "card_photo": (io.BytesIO(photo_bytes()), "c.jpg")},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    assert again.status_code == 200 and again.json["id"] == lead.id
    assert len(reads.got) == 1


def test_a_card_that_cannot_be_read_still_makes_a_lead_named_after_its_time(client, db, rep, reads):
    reads.fail = True
    token = csrf_token(client, "/")
    key, response = sync(client, token, card_photo=photo_bytes())
    assert response.status_code == 201
    lead = db.scalars(select(Lead).where(Lead.uuid == uuid.UUID(key))).one()
    assert lead.name.startswith("Card of 29 Nov")
    assert lead.from_card and lead.attachments[0].kind == "card_photo"


def test_a_voice_note_that_is_not_audio_refuses_the_capture_with_its_field(client, db, rep):
    token = csrf_token(client, "/")
    _, response = sync(client, token, voice_note=b"<html>not audio</html>")
    assert response.status_code == 422
    assert "voice_note" in response.json["errors"]
    assert db.scalars(select(Lead)).first() is None


def test_the_json_sync_still_works_without_attachments(client, db, rep):
    token = csrf_token(client, "/")
    body = {"uuid": str(uuid.uuid4()), "name": "Plain Jane"}
    response = client.post(
        "/captures", data=json.dumps(body),
        headers={"X-CSRFToken": token, "Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 201


def test_the_capture_form_saves_a_voice_note_with_the_lead(client, db, rep):
    token = csrf_token(client, "/")
    response = client.post(
        "/",
        data={"csrf_token": token, "name": "Vera Voice", "voice_note": (io.BytesIO(OGG), "v")},
    )
    assert response.status_code == 303
    lead = db.scalars(select(Lead)).one()
    note = lead.attachments[0]
    played = client.get(f"/attachments/{note.id}")
    assert played.status_code == 200
    assert played.mimetype == "audio/ogg" and played.data == OGG


def test_only_who_may_see_the_lead_gets_its_attachment(app, client, db, rep, make_user, auth):
    token = csrf_token(client, "/")
    lead = factories.lead(db, rep, "Private")
    response = client.post(
        f"/leads/{lead.id}/voice-notes",
        data={"voice_note": (io.BytesIO(OGG), "v")},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 303
    note = db.scalars(select(Attachment)).one()
    make_user("other@example.com", "rep", "Otto Other")
    other = app.test_client()
    Auth(other).login("other@example.com")
    assert other.get(f"/attachments/{note.id}").status_code == 403
    assert client.get(f"/attachments/{note.id}").status_code == 200


def test_a_lead_page_voice_note_must_be_audio(client, db, rep):
    token = csrf_token(client, "/")
    lead = factories.lead(db, rep, "Ann")
    response = client.post(
        f"/leads/{lead.id}/voice-notes",
        data={"voice_note": (io.BytesIO(photo_bytes()), "v")},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "not a voice recording" in response.get_data(as_text=True)


def test_conversion_carries_the_attachments_to_the_contact(client, db, coordinator):
    token = csrf_token(client, "/")
    lead = Lead(name="Jo Bloggs", owner_id=coordinator.id, from_card=True)
    lead.attachments.append(
        Attachment(kind="voice_note", content_type="audio/ogg", size=len(OGG), data=OGG)
    )
    db.add(lead)
    db.commit()
    token = csrf_token(client, f"/leads/{lead.id}/convert")
    data = {
        "csrf_token": token, "company": "new", "company_name": "Acme", "contact": "new",
        "contact_name": "Jo Bloggs",
    }  # fmt: skip
    assert client.post(f"/leads/{lead.id}/convert", data=data).status_code == 303
    contact = db.scalars(select(Contact)).one()
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    note = db.scalars(select(Attachment)).one()
    assert note.contact_id == contact.id
    assert f"/attachments/{note.id}" in page


def test_mark_checked_removes_the_card_mark(client, db, rep):
    token = csrf_token(client, "/")
    lead = factories.lead(db, rep, "Card of 29 Nov 10:32", from_card=True)
    response = client.post(f"/leads/{lead.id}/card-checked", data={"csrf_token": token})
    assert response.status_code == 303
    assert "from a card — check" not in client.get(f"/leads/{lead.id}").get_data(as_text=True)


def test_a_lead_page_voice_note_sent_twice_under_its_uuid_is_kept_once(client, db, rep):
    """A phone that recorded it offline sends it from its queue under a UUID it made: a
    resend after a reply lost on the way back stores nothing more."""
    token = csrf_token(client, "/")
    lead = factories.lead(db, rep, "Ann")
    key = "6f1c2b9e-8d1a-4a57-9a3e-2f5d7c1b0a11"
    for _ in range(2):
        response = client.post(
            f"/leads/{lead.id}/voice-notes",
            data={"voice_note": (io.BytesIO(OGG), "v"), "client_key": key},
            headers={"X-CSRFToken": token, "HX-Request": "true"},
        )
        assert response.status_code == 200
        assert "Voice note saved." in response.get_data(as_text=True)
    assert [a.kind for a in db.scalars(select(Attachment))] == ["voice_note"]
    assert db.get(OfflineAction, uuid.UUID(key)).kind == "voice_note"
