"""The real OCR process reads one generated card photo through POST /cards/read (the
model runs here; bench/cards.py measures many), and one through a socket outside the
instance folder."""

from __future__ import annotations

import io
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from quickcrm.services import ocr
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


def test_with_a_long_instance_path_every_worker_reaches_one_ocr_process_privately(tmp_path):
    """A socket path past what Unix allows: the OCR process listens in a private folder of
    the temporary folder, and another app process finds it there and starts no other."""
    instance = tmp_path / ("a-long-folder-name-" * 6) / "instance"
    instance.mkdir(parents=True, mode=0o700)
    truth, photo = sample(3)
    path = Path(ocr.socket_path(str(instance)))
    try:
        lines = ocr.read_lines(photo, instance_path=str(instance), timeout=60, idle=10)
        assert truth.email in "".join(text for text, _ in lines)
        assert path.parent.parent == Path(tempfile.gettempdir())
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert stat.S_ISSOCK(path.stat().st_mode)
        worker = subprocess.run(  # noqa: S603 - this interpreter, our module
            [sys.executable, "-c", ANOTHER_WORKER, str(instance)],
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert worker.stdout.split() == [str(path), "True"]
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


ANOTHER_WORKER = """
import sys
from quickcrm.services import ocr
path = ocr.socket_path(sys.argv[1])
print(path, ocr._listening(path))
"""
