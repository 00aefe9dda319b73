"""The real OCR process reads one generated card photo through POST /cards/read (the
model runs once here; bench/cards.py measures many)."""

from __future__ import annotations

import io

from tests.card_photos import sample
from tests.conftest import csrf_token


def test_a_photographed_card_is_read_by_the_ocr_process(client, rep):
    truth, photo = sample(3)
    token = csrf_token(client, "/")
    response = client.post(
        "/cards/read",
        data={"photo": (io.BytesIO(photo), "card.jpg")},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200, response.json
    fields = response.json["fields"]
    assert fields.get("email") == truth.email
    assert fields.get("name") == truth.name
