"""How well and how fast are card photos read?

Run from the repository root::

    python bench/cards.py [--n 60]

Generates N photo-like business cards (tests/card_photos.py: three layouts, companies
with GmbH/Ltd/Inc, phones in international and local formats, turned 3–8°, perspective
skew, blur, uneven light and shadow, JPEG 70, on a dark table) with the truth beside them,
reads each through the app's own path — the OCR process of quickcrm/services/ocr.py, then
``quickcrm.domain.cards.read_card`` — and prints the share of each field read exactly
and the median time per card. Names and titles are compared as printed (accents
included), companies ignoring case (cards print them in capitals), phones as E.164.
The OCR process is started (and warmed up) before the clock starts. The wall time depends
on what else the machine runs; the OCR process's CPU seconds per card do not (onnxruntime
uses both cores, so on an idle 2-core machine a card takes about half of them). Not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import phonenumbers  # noqa: E402

from quickcrm.domain.cards import read_card  # noqa: E402
from quickcrm.services import ocr  # noqa: E402
from tests.card_photos import sample  # noqa: E402

FIELDS = ("name", "company", "title", "email", "phone", "website")


def e164(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(value, None), phonenumbers.PhoneNumberFormat.E164
        )
    except phonenumbers.NumberParseException:
        return None


def right(field: str, truth, card) -> bool:
    got = getattr(card, field)
    want = getattr(truth, field)
    if field == "phone":
        return e164(got) == want
    if field == "company":
        return (got or "").casefold() == want.casefold()
    return got == want


def ocr_cpu_seconds() -> float:
    """CPU time used so far by the OCR process(es) started here (user + system)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"quickcrm.services.ocr" in stat.read_bytes():
                fields = (stat.parent / "stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--show", action="store_true", help="print each miss")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as instance:
        _, warm = sample(10_000)
        ocr.read_lines(warm, instance_path=instance, timeout=60, idle=60)
        hits = dict.fromkeys(FIELDS, 0)
        times = []
        cpu_before = ocr_cpu_seconds()
        for seed in range(args.n):
            truth, photo = sample(seed)
            start = time.perf_counter()
            try:
                lines = ocr.read_lines(photo, instance_path=instance, timeout=60, idle=60)
            except ocr.CardUnreadable:
                lines = []
            card = read_card(lines)
            times.append(time.perf_counter() - start)
            for field in FIELDS:
                if right(field, truth, card):
                    hits[field] += 1
                elif args.show:
                    print(f"#{seed} {field}: {getattr(card, field)!r} ≠ {getattr(truth, field)!r}")
                    print("    ", [line for line, _ in lines])
        cpu = (ocr_cpu_seconds() - cpu_before) / args.n
    total = sum(hits.values())
    print(
        f"{args.n} cards, median {statistics.median(times):.2f} s per card "
        f"(max {max(times):.2f} s); OCR process CPU {cpu:.2f} s per card "
        f"(load average now {os.getloadavg()[0]:.1f})"
    )
    for field in FIELDS:
        print(f"  {field:8} {hits[field] / args.n:6.1%}")
    print(f"  all      {total / (args.n * len(FIELDS)):6.1%}")


if __name__ == "__main__":
    main()
