"""How much memory does a worker take to prepare a card photo?

Run from the repository root::

    git show 8156856:quickcrm/domain/attachments.py > /tmp/old_attachments.py
    python bench/photo_memory.py [--before /tmp/old_attachments.py]

Makes photos a worker may be sent — the page's own 2,000 px JPEG, camera photos sent
without the page (12 and 24 megapixels, EXIF-rotated, one progressive), a 7,000 × 7,000 PNG
of a few hundred KB and a 7,000 × 7,000 EXIF-rotated JPEG, the largest PNG accepted — and
runs ``prepare_photo`` (quickcrm/domain/attachments.py) on each in a fresh Python process.
Each figure is that process's peak resident memory (``VmHWM``, reset through
``/proc/self/clear_refs`` once Pillow is loaded and the file read) above what it held just
before, and the time. ``--before`` loads an older attachments module from a file for a
"before" column.

The floor, measured in the same run: a process that only decodes the photo as stored (what
any preparation must hold at least). Then eight photos at once in one process (eight
threads released together, as two workers of four threads each could get): its peak, and
what each thread was answered. Figures, not a test.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw  # noqa: E402

MB = 1024 * 1024
ORIENTATION = 0x0112


def _picture(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """A card-like picture: a light ground, a dark card, lines of "text" blocks."""
    image = Image.new(mode, size, (235, 232, 225, 255)[: len(mode)])
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.rectangle(
        (w // 10, h // 6, w * 9 // 10, h * 5 // 6), fill=(250, 250, 248, 255)[: len(mode)]
    )
    step = max(h // 30, 4)
    for row, y in enumerate(range(h // 4, h * 3 // 4, step * 2)):
        length = w // 2 + (row * 997 % (w // 4 + 1))
        draw.rectangle((w // 6, y, w // 6 + length, y + step), fill=(30, 30, 40, 255)[: len(mode)])
    return image


def _jpeg(size, *, rotated=False, progressive=False) -> bytes:
    exif = Image.Exif()
    if rotated:
        exif[ORIENTATION] = 6
    out = io.BytesIO()
    _picture(size).save(out, "JPEG", quality=85, exif=exif.tobytes(), progressive=progressive)
    return out.getvalue()


def _png(size, mode="RGB") -> bytes:
    out = io.BytesIO()
    _picture(size, mode).save(out, "PNG")
    return out.getvalue()


def _webp(size) -> bytes:
    out = io.BytesIO()
    _picture(size).save(out, "WEBP", quality=85)
    return out.getvalue()


CASES = {
    "page's card photo, 2000×1125 JPEG": lambda: _jpeg((2000, 1125)),
    "camera 12 MP JPEG, EXIF-rotated": lambda: _jpeg((4032, 3024), rotated=True),
    "camera 24 MP JPEG, EXIF-rotated": lambda: _jpeg((5712, 4284), rotated=True),
    "camera 24 MP progressive JPEG": lambda: _jpeg((5712, 4284), progressive=True),
    "7000×7000 PNG": lambda: _png((7000, 7000)),
    "7000×7000 JPEG, EXIF-rotated": lambda: _jpeg((7000, 7000), rotated=True),
    "4000×3000 PNG": lambda: _png((4000, 3000)),
    "3200×2400 RGBA PNG": lambda: _png((3200, 2400), "RGBA"),
    "3600×3600 RGBA PNG": lambda: _png((3600, 3600), "RGBA"),
    "3000×2000 WebP": lambda: _webp((3000, 2000)),
    "4000×3000 WebP": lambda: _webp((4000, 3000)),
}
BURSTS = (
    "7000×7000 PNG",
    "7000×7000 JPEG, EXIF-rotated",
    "camera 24 MP progressive JPEG",
    "4000×3000 PNG",
)


# --- one measurement, in a process of its own ------------------------------------------------


def _status(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(name)


def _module(before: str | None):
    if not before:
        from quickcrm.domain import attachments

        return attachments
    spec = importlib.util.spec_from_file_location("old_attachments", before)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (its dataclass looks itself up there)
    spec.loader.exec_module(module)
    return module


def _answer(prepare, data: bytes) -> str:
    from quickcrm.domain.validation import Refused

    try:
        prepared = prepare(data)
    except Refused as refused:
        return f"{getattr(refused, 'status', 422)} {str(refused)[:48]}"
    stored = Image.open(io.BytesIO(prepared.data))
    return f"kept {stored.width}×{stored.height}"


def one(path: str, before: str | None, threads: int, floor: bool) -> dict:
    """Prepare the photo at ``path`` (``threads`` times at once), or only decode it when
    ``floor``: the peak memory above the rest, the time, the answers."""
    data = Path(path).read_bytes()
    if floor:

        def act() -> str:
            Image.open(io.BytesIO(data)).load()
            return "decoded"

    else:
        prepare = _module(before).prepare_photo
        _answer(prepare, _jpeg((64, 40), rotated=True))  # Pillow's plugins loaded

        def act() -> str:
            return _answer(prepare, data)

    answers = [""] * threads
    start = threading.Barrier(threads)

    def run(i: int) -> None:
        start.wait()
        answers[i] = act()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    rest = _status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM from here on
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - began
    return {"peak": (_status("VmHWM") - rest) / MB, "seconds": seconds, "answers": answers}


def measure(path: Path, *, before: str | None = None, threads: int = 1, floor=False) -> dict:
    command = [sys.executable, __file__, "--one", str(path), "--threads", str(threads)]
    if before:
        command += ["--before", before]
    if floor:
        command.append("--floor")
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)  # noqa: S603
    if done.returncode:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout)


# --- the run ---------------------------------------------------------------------------------


def _figure(result: dict | None) -> str:
    if result is None:
        return f"{'—':>19}"
    return f"{result['peak']:+8.0f} MB {result['seconds']:5.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", help="an older quickcrm/domain/attachments.py")
    parser.add_argument("--burst", type=int, default=8, help="photos at once")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.before, args.threads, args.floor)))
        return
    sys.path.insert(0, str(ROOT))
    from quickcrm.domain import attachments

    with tempfile.TemporaryDirectory() as folder:
        paths = {}
        for i, (name, make) in enumerate(CASES.items()):
            paths[name] = Path(folder) / f"{i}.img"
            paths[name].write_bytes(make())
        print(
            f"{'photo':34} {'file':>8}  {'before':>19}  {'after':>19}  "
            f"{'floor':>8}  {'after÷floor':>11}  answer after"
        )
        for name, path in paths.items():
            old = measure(path, before=args.before) if args.before else None
            new = measure(path)
            answer = new["answers"][0]
            floor = None
            if answer.startswith("kept"):
                stored = Path(folder) / "stored.img"
                stored.write_bytes(attachments.prepare_photo(path.read_bytes()).data)
                floor = measure(stored, floor=True)["peak"]
            ratio = f"{new['peak'] / floor:10.1f}×" if floor else f"{'—':>11}"
            floor_text = f"{floor:+5.0f} MB" if floor is not None else f"{'—':>8}"
            before = f" (before: {old['answers'][0]})" if old else ""
            print(
                f"{name:34} {path.stat().st_size / 1024:5.0f} KB  {_figure(old)}  "
                f"{_figure(new)}  {floor_text}  {ratio}  {answer}{before}"
            )
        print(f"\n{args.burst} at once in one process (threads released together):")
        for name in BURSTS:
            for label, before in (("before", args.before), ("after", None)):
                if label == "before" and not before:
                    continue
                result = measure(paths[name], before=before, threads=args.burst)
                counts: dict[str, int] = {}
                for answer in result["answers"]:
                    counts[answer] = counts.get(answer, 0) + 1
                told = "; ".join(f"{n}× {answer}" for answer, n in counts.items())
                print(f"  {name:32} {label:6} {_figure(result)}  {told}")


if __name__ == "__main__":
    main()
