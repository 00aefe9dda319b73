"""How much of a request body the app reads before it knows the request is allowed: an
anonymous request, or one to a route that takes no files, is refused past 1 MB before its
body is read; only a signed-in user's upload reads a photo-sized (or, for an admin's
import, a CSV-sized) body. A body sent in chunks, without a length, is cut at the same
limits while it is read (docs/security.md, "Bad input")."""

from __future__ import annotations

import io
import uuid

import pytest
from sqlalchemy import func, select

from quickcrm.models import Import, Lead
from quickcrm.services import ocr
from tests.conftest import csrf_token

MB = 1024 * 1024
# What the parser may have buffered past the limit when it stops a chunked body.
READ_AHEAD = 256 * 1024


class CountedBody(io.BytesIO):
    """A request body that counts how many of its bytes the app read."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.read_bytes += len(chunk)
        return chunk

    def read1(self, size: int | None = -1) -> bytes:
        chunk = super().read1(size)
        self.read_bytes += len(chunk)
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        self.read_bytes += len(line)
        return line

    def readinto(self, buffer) -> int:
        count = super().readinto(buffer)
        self.read_bytes += count
        return count


def multipart(fields: dict[str, str], files: dict[str, bytes]) -> tuple[str, bytes]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    for name, data in files.items():
        head = (
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{name}"; filename="{name}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


def post(client, url, *, size=0, files=None, fields=None, chunked=False, headers=None):
    """POST a multipart body of about ``size`` bytes (a file of zeros, unless ``files``
    are given); the answer and how many bytes of the body the app read. ``chunked``
    sends it as a server does a body in chunks: no length, and the server marks the
    stream as ending by itself (gunicorn's ``wsgi.input_terminated``)."""
    files = files if files is not None else {"photo": b"\xff\xd8\xff" + b"\x00" * size}
    content_type, data = multipart(fields or {}, files)
    body = CountedBody(data)
    environ = {}
    if chunked:
        environ = {
            "CONTENT_LENGTH": "",
            "HTTP_TRANSFER_ENCODING": "chunked",
            "wsgi.input_terminated": True,
        }
    response = client.post(
        url,
        input_stream=body,
        content_type=content_type,
        headers={"Accept": "application/json", **(headers or {})},
        environ_overrides=environ,
    )
    return response, body.read_bytes


@pytest.fixture
def reads(monkeypatch):
    """The OCR process replaced by one line of text."""
    monkeypatch.setattr(ocr, "read_lines", lambda photo, **_: [("Jane Doe", 60)])


def photo(size: int) -> bytes:
    """A small JPEG padded to ``size`` bytes (Pillow ignores what follows its end)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 40), (250, 250, 250)).save(out, "JPEG")
    return out.getvalue() + b"\x00" * (size - out.tell())


def leads_stored(db) -> int:
    return db.scalar(select(func.count()).select_from(Lead))


# A body just under each upload route's own limit (21 MB for a capture with a photo and a
# voice note, 11 MB for a card to read): before this, an anonymous one was read whole and
# only then refused by CSRF.
UPLOADS = [("/", 21 * MB - 4096), ("/cards/read", 11 * MB - 4096)]


@pytest.mark.parametrize(("url", "size"), UPLOADS)
def test_an_anonymous_upload_is_refused_before_its_body_is_read(client, db, make_user, url, size):
    make_user("rep@example.com", "rep")
    response, read = post(client, url, size=size)
    assert response.status_code == 413
    assert read == 0
    assert leads_stored(db) == 0


@pytest.mark.parametrize(("url", "size"), [("/", 21 * MB - 4096), ("/cards/read", 12 * MB)])
def test_an_anonymous_upload_in_chunks_is_cut_at_1_mb(app, client, db, make_user, url, size):
    make_user("rep@example.com", "rep")
    response, read = post(client, url, size=size, chunked=True)
    assert response.status_code == 413
    assert read <= app.config["MAX_CONTENT_LENGTH"] + READ_AHEAD
    assert leads_stored(db) == 0


def test_a_stale_session_is_anonymous_for_the_limit(app, client, db, rep):
    token = csrf_token(client, "/")
    rep.session_version += 1  # "sign out everywhere" ended this phone's session
    db.commit()
    response, read = post(client, "/", size=5 * MB, headers={"X-CSRFToken": token})
    assert response.status_code == 413
    assert read == 0


def test_a_route_that_takes_no_files_keeps_1_mb_for_a_signed_in_rep(client, rep):
    token = csrf_token(client, "/")
    response, read = post(client, "/account/password", size=2 * MB, headers={"X-CSRFToken": token})
    assert response.status_code == 413
    assert read == 0
    response, read = post(
        client, "/account/password", size=2 * MB, headers={"X-CSRFToken": token}, chunked=True
    )
    assert response.status_code == 413
    assert read <= client.application.config["MAX_CONTENT_LENGTH"] + READ_AHEAD


@pytest.mark.parametrize("chunked", [False, True], ids=["with a length", "in chunks"])
def test_a_signed_in_reps_5_mb_card_photo_is_read(client, rep, reads, chunked):
    token = csrf_token(client, "/")
    response, read = post(
        client,
        "/cards/read",
        files={"photo": photo(5 * MB)},
        headers={"X-CSRFToken": token},
        chunked=chunked,
    )
    assert response.status_code == 200, response.json
    assert response.json["fields"]["name"] == "Jane Doe"
    assert read > 5 * MB


def test_a_signed_in_reps_capture_with_a_5_mb_photo_is_saved(client, db, rep, reads):
    token = csrf_token(client, "/")
    fields = {"csrf_token": token, "uuid": str(uuid.uuid4()), "name": ""}
    response, _ = post(client, "/", files={"card_photo": photo(5 * MB)}, fields=fields)
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    lead = db.scalars(select(Lead)).one()
    assert lead.name == "Jane Doe"
    assert [a.kind for a in lead.attachments] == ["card_photo"]


def test_a_signed_in_reps_upload_in_chunks_stops_at_the_routes_limit(client, rep):
    token = csrf_token(client, "/")
    response, read = post(
        client, "/cards/read", size=30 * MB, headers={"X-CSRFToken": token}, chunked=True
    )
    assert response.status_code == 413
    assert read <= 11 * MB + READ_AHEAD


def test_an_admins_large_csv_import_still_uploads(app, client, db, admin):
    lines = ["Name,Note"] + [f"Person {i},{'n' * 200}" for i in range(15_000)]
    data = "\n".join(lines).encode()
    assert len(data) > 3 * app.config["MAX_CONTENT_LENGTH"]
    token = csrf_token(client, "/admin/import")
    response, read = post(
        client,
        "/admin/import",
        files={"file": data},
        fields={"csrf_token": token, "kind": "leads"},
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    assert read >= len(data)
    assert db.scalars(select(Import)).one().total_rows == 15_000


def test_a_body_cut_short_leaves_no_file_open(client, rep, reads):
    token = csrf_token(client, "/")
    content_type, data = multipart({}, {"photo": photo(2 * MB)})
    response = client.post(
        "/cards/read",
        input_stream=io.BytesIO(data[: 1 * MB]),  # the connection dropped mid-photo
        content_type=content_type,
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    assert response.status_code == 422
    assert response.json["error"] == "Send the card photo."
