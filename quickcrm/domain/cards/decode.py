"""Finding a card's QR codes in its photo, with OpenCV's QR detector (opencv-python-headless,
which the OCR process uses too): the texts only — what they hold is read by
``cards.qr.parse``. OpenCV is imported on the first photo, not when the app starts: a
worker that never gets a card photo never holds it (docs/cards.md, "QR codes")."""

from __future__ import annotations

import logging
import threading

# The long side a photo is brought down to before looking for a QR code: the page sends
# about 2,000 px; a card's QR code stays a few pixels a module at that size.
DETECT_SIDE = 2000

log = logging.getLogger("quickcrm.cards")
_loaded = threading.Lock()


def qr_texts(photo: bytes) -> list[str]:
    """The texts of the QR codes OpenCV finds in ``photo`` (JPEG, PNG or WebP bytes), in
    the order found; ``[]`` when there is none, it cannot be decoded, or the photo cannot
    be read. Never raises for a bad photo."""
    cv2, np = _opencv()
    try:
        image = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_GRAYSCALE)
    except Exception:  # noqa: BLE001 - a photo OpenCV cannot read has no code to find
        return []
    if image is None or image.size == 0:
        return []
    scale = DETECT_SIDE / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    # The classic detector first; the ArUco-based one finds codes it misses in a skewed or
    # blurred photo (and the other way round). A code found but not decoded (uneven light,
    # blur) is tried again in black and white — Otsu's threshold, then a local one: on
    # generated card photos (bench/cards.py --qr) 40 of 45 were decoded without them, 120
    # of 120 with them (docs/cards.md). A photo without a code costs one pass only.
    located = False
    for variant in _variants(cv2, image):
        for detector in (cv2.QRCodeDetector, cv2.QRCodeDetectorAruco):
            try:
                found, texts, _points, _codes = detector().detectAndDecodeMulti(variant)
            except Exception:  # noqa: BLE001 - OpenCV's errors, a text it could not convert
                log.debug("QR detection failed", exc_info=True)
                continue
            located = located or bool(found)
            texts = [t for t in (texts or ()) if t] if found else []
            if texts:
                return texts
        if not located:
            break
    return []


def _variants(cv2, image):
    """The grey photo, then (made only when asked for) two black-and-white versions."""
    yield image
    yield cv2.threshold(image, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]
    yield cv2.adaptiveThreshold(
        image, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 51, 10
    )


def _opencv():
    import cv2
    import numpy as np

    with _loaded:
        # One core per photo: the app's workers share the machine with each other.
        if cv2.getNumThreads() != 1:
            cv2.setNumThreads(1)
    return cv2, np
