"""Reading card photos: one OCR process per machine, shared by the app's workers.

The OCR model (rapidocr-onnxruntime: PP-OCRv4 models shipped in the wheel, run by
onnxruntime) needs 0.5–0.9 GB while it reads. It is never imported by the app's workers:
one separate process (``python -m quickcrm.services.ocr SOCKET``) listens on a Unix socket in
the instance folder (or in a private folder of /tmp when that path is too long for a
socket); every worker of the machine sends its photos there. Opening the capture page
starts it in the background (``warm_up``: its 10–20 s of loading the model are spent
while the rep frames the card, not in the first read), and so does a photo that finds it
stopped. A lock file lets only one worker start it; it stops by itself after
``OCR_IDLE_SECONDS`` without a photo, giving its memory back (docs/cards.md).

The process reads one photo at a time from a bounded queue: a photo that finds the queue
full, or is not read within ``OCR_TIMEOUT`` seconds, gets ``CardUnreadable`` ("could not
read the card") and the rep types the card instead; nothing else waits on it.

Wire format, both ways: an 8-byte big-endian length, then the bytes — the photo, then the
answer as JSON ``{"lines": [[text, height], …]}`` (top to bottom) or ``{"error": "…"}``.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import logging
import os
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

UNREADABLE = "Could not read the card. Type what it says, or try another photo."
BUSY = "The card reader is busy. Try the photo again in a moment, or type the card."
START_TIMEOUT = 120.0
QUEUE_SIZE = 4
# The long side a photo is brought down to before the OCR looks for text.
DETECT_SIDE = 1280
# What the OCR process reads before it listens, to have its model ready for a card.
WARM_UP_CARD = (
    "Jane Example",
    "Head of Sales",
    "Example Trading Ltd",
    "+44 20 7946 0000",
    "jane.example@example.com",
    "www.example.com",
)
HEADER = struct.Struct(">Q")
# The largest answer or photo the socket carries (photos are 10 MB at most).
MESSAGE_MAX = 16 * 1024 * 1024


log = logging.getLogger("quickcrm.ocr")
# Seconds a warm-up that could not start the OCR process keeps this app process from trying
# again (each try is a process that loads for seconds and fails).
WARM_UP_RETRY = 300.0


class CardUnreadable(Exception):
    """The card could not be read; the message is for the rep."""


# --- the app's side ------------------------------------------------------------------------


def socket_path(instance_path: str) -> str:
    """The OCR process's socket: in the instance folder, or — when that path is too long
    for a Unix socket — in a private folder of the temporary folder (``private_folder``)."""
    path = str(Path(instance_path) / "ocr.sock")
    if len(path.encode()) < 100:
        return path
    return str(private_folder(instance_path) / "ocr.sock")


def private_folder(instance_path: str) -> Path:
    """A folder of the temporary folder only this user may open, under a name no one can
    guess (``mkdtemp``), where another local user can neither put a socket of their own
    for the app to send photos to nor connect to ours. Made once per instance folder and
    named in its ``ocr.dir``, so every worker of the app finds the same OCR process; made
    again when the one named is gone (a reboot empties /tmp) or is not private."""
    note = Path(instance_path) / "ocr.dir"
    folder = _named_folder(note)
    if folder is not None:
        return folder
    with _locked(instance_path):
        folder = _named_folder(note)  # another worker may have just made it
        if folder is None:
            folder = Path(tempfile.mkdtemp(prefix="quickcrm-ocr-"))
            fd, unfinished = tempfile.mkstemp(dir=instance_path, prefix=".ocr.dir.")
            with os.fdopen(fd, "w") as out:
                out.write(str(folder))
            os.replace(unfinished, note)
        return folder


def _named_folder(note: Path) -> Path | None:
    """The folder ``note`` names, if it is still a folder of this user's that no one else
    may open."""
    try:
        folder = Path(note.read_text().strip())
        found = os.lstat(folder) if folder.is_absolute() else None
    except OSError:
        return None
    if found is None or not stat.S_ISDIR(found.st_mode):
        return None
    if found.st_uid != os.getuid() or found.st_mode & 0o077:
        return None
    return folder


@contextlib.contextmanager
def _locked(instance_path: str, *, wait: bool = True) -> Iterator[bool]:
    """The instance folder's OCR lock: one worker at a time starts the process or makes
    its folder (not re-entrant: a second hold in the same process waits forever). Yields
    whether it is held: with ``wait=False``, False at once when someone else holds it."""
    with open(Path(instance_path) / "ocr.lock", "a") as held:
        try:
            fcntl.flock(held, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)


class _WarmUp:
    """Starting the OCR process in the background before a photo needs it; at most one
    warm-up at a time in an app process, and none while another process starts it."""

    def __init__(self) -> None:
        self.running = threading.Lock()
        self.failed_at = -WARM_UP_RETRY
        self.installed: bool | None = None

    def start(self, instance_path: str, *, timeout: float, idle: float) -> threading.Thread | None:
        """Start the OCR process in a thread of its own unless a warm-up is on its way, and
        return at once: the thread, or None when none was started."""
        if self.installed is None:
            # Without the OCR packages (requirements-ocr.txt) there is nothing to warm.
            self.installed = importlib.util.find_spec("rapidocr_onnxruntime") is not None
        if not self.installed or time.monotonic() - self.failed_at < WARM_UP_RETRY:
            return None
        if not self.running.acquire(blocking=False):
            return None
        try:
            thread = threading.Thread(
                target=self._run,
                args=(instance_path, timeout, idle),
                name="quickcrm-ocr-warm-up",
                daemon=True,
            )
            thread.start()
        except BaseException:
            self.running.release()
            raise
        return thread

    def _run(self, instance_path: str, timeout: float, idle: float) -> None:
        try:
            path = socket_path(instance_path)
            # The probe is no photo: it does not put off the OCR process's idle stop.
            if not _listening(path):
                _start(path, instance_path, timeout=timeout, idle=idle, wait=False)
        except Exception:  # noqa: BLE001 - a photo will try again, and say so if it fails
            self.failed_at = time.monotonic()
            log.warning("The OCR process could not be started ahead of a card", exc_info=True)
        finally:
            self.running.release()


_warm_up = _WarmUp()


def warm_up(
    *, instance_path: str, timeout: float = 15.0, idle: float = 600.0
) -> threading.Thread | None:
    """Start the OCR process in the background if it is not running, so that the next
    photo finds it ready; returns at once (cheap and idempotent: a capture page calls it
    on every opening). The thread doing it, or None when there was nothing to start here
    (running already, being started by this or another app process, not installed)."""
    return _warm_up.start(instance_path, timeout=timeout, idle=idle)


def read_lines(
    photo: bytes, *, instance_path: str, timeout: float = 15.0, idle: float = 600.0
) -> list[tuple[str, float]]:
    """The text lines of ``photo``, top to bottom, each with its letters' height in pixels.
    Starts the OCR process if none is running. Raises ``CardUnreadable``."""
    path = socket_path(instance_path)
    try:
        answer = _ask(path, photo, timeout)
    except (FileNotFoundError, ConnectionRefusedError):
        _start(path, instance_path, timeout=timeout, idle=idle)
        try:
            answer = _ask(path, photo, timeout)
        except OSError:
            raise CardUnreadable(UNREADABLE) from None
    except OSError:
        raise CardUnreadable(UNREADABLE) from None
    if "error" in answer:
        raise CardUnreadable(BUSY if answer["error"] == "busy" else UNREADABLE)
    return [(str(text), float(height)) for text, height in answer.get("lines", [])]


def _ask(path: str, photo: bytes, timeout: float) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        # the queue ahead may hold a few photos: wait for them as well as for this one
        conn.settimeout(timeout * 2 + 5)
        conn.connect(path)
        _send(conn, photo)
        return json.loads(_receive(conn))


def _start(
    path: str, instance_path: str, *, timeout: float, idle: float, wait: bool = True
) -> None:
    """Start the OCR process unless another worker just did (the lock file decides), and
    wait until it listens. With ``wait=False`` (a warm-up), leave at once when another
    worker or thread holds the lock: it is starting the process."""
    with _locked(instance_path, wait=wait) as held:
        if not held or _listening(path):
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # left by a process that died
        # Started through a short-lived launcher that is waited for: the OCR process is
        # no child of this worker (no zombie, nothing left to reap when it stops).
        log = Path(instance_path) / "ocr.log"
        launcher = [sys.executable, "-m", "quickcrm.services.ocr", "--detach", str(log)]
        subprocess.run(  # noqa: S603 - our own module, no shell
            [*launcher, path, str(timeout), str(idle)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            timeout=START_TIMEOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if _listening(path):
                return
            time.sleep(0.05)
        raise CardUnreadable(UNREADABLE)


def processes(instance_path: str) -> list[int]:
    """The OCR processes serving this instance folder (listening on its socket, or loading
    to), by process id, from /proc: what a bench measures and a test ends."""
    path = socket_path(instance_path).encode()
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"quickcrm.services.ocr" in words and path in words and b"--detach" not in words:
            found.append(int(cmdline.parent.name))
    return sorted(found)


def _listening(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
        # an empty message: the server answers nothing and closes
        probe.sendall(HEADER.pack(0))
        return True


def _send(conn: socket.socket, data: bytes) -> None:
    conn.sendall(HEADER.pack(len(data)) + data)


def _receive(conn: socket.socket) -> bytes:
    head = _exactly(conn, HEADER.size)
    (size,) = HEADER.unpack(head)
    if size > MESSAGE_MAX:
        raise OSError("message too large")
    return _exactly(conn, size)


def _exactly(conn: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = conn.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("closed early")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# --- the OCR process -------------------------------------------------------------------------


def serve(path: str, timeout: float, idle: float) -> None:
    """Listen on ``path`` and read the photos sent there, one at a time, until ``idle``
    seconds pass without one."""
    import queue
    import socketserver

    import cv2
    import numpy as np
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR()
    # The first run of a model is slow (onnxruntime prepares it, and its memory for the
    # sizes it meets): not on a rep's photo, but on a card of a photo's size and lines
    # (a small picture of one word left the first card 1.3× the CPU of the next).
    card = np.full((DETECT_SIDE * 3 // 4, DETECT_SIDE, 3), 255, np.uint8)
    for row, text in enumerate(WARM_UP_CARD):
        size = 2.4 if row == 0 else 1.6
        place = (60, 110 + row * 110)
        cv2.putText(card, text, place, cv2.FONT_HERSHEY_SIMPLEX, size, (0, 0, 0), 3)
    engine(card, use_cls=False)
    jobs: queue.Queue = queue.Queue(maxsize=QUEUE_SIZE)
    last_used = [time.monotonic()]

    def read(photo: bytes) -> list[list]:
        image = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError("not an image")
        # Text detection costs with the pixels: a card's letters stay legible at this size.
        scale = DETECT_SIDE / max(image.shape[:2])
        if scale < 1:
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        # No 180° classifier: a card photographed upside down is rare, and it costs a pass.
        found, _ = engine(image, use_cls=False)
        lines = []
        for box, text, _score in found or []:
            ys = [point[1] for point in box]
            xs = [point[0] for point in box]
            lines.append((sum(ys) / 4, min(xs), text, max(ys) - min(ys)))
        lines.sort()
        return [[text, round(height, 1)] for _, _, text, height in lines]

    def work() -> None:
        while True:
            photo, done, answer = jobs.get()
            try:
                answer["lines"] = read(photo)
            except Exception as exc:  # noqa: BLE001 - any failure is "could not read"
                answer["error"] = f"unreadable: {exc.__class__.__name__}"
            done.set()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            try:
                photo = _receive(self.request)
            except (OSError, ValueError):
                return
            if not photo:
                return
            last_used[0] = time.monotonic()
            done, answer = threading.Event(), {}
            try:
                jobs.put_nowait((photo, done, answer))
            except queue.Full:
                answer = {"error": "busy"}
            else:
                if not done.wait(timeout):
                    answer = {"error": "timeout"}
            last_used[0] = time.monotonic()
            with contextlib.suppress(OSError):
                _send(self.request, json.dumps(answer).encode())

    class Server(socketserver.ThreadingUnixStreamServer):
        daemon_threads = True

    old_umask = os.umask(0o077)  # only this user's processes may send photos
    try:
        server = Server(path, Handler)
    finally:
        os.umask(old_umask)
    ours = os.stat(path).st_ino
    threading.Thread(target=work, daemon=True).start()

    def watch_idle() -> None:
        while time.monotonic() - last_used[0] < idle or not jobs.empty():
            time.sleep(min(5.0, idle / 4))
        server.shutdown()

    threading.Thread(target=watch_idle, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
        # not the socket of a process started while this one was stopping
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == ours:
                os.unlink(path)


def detach(log: str, arguments: list[str]) -> None:
    """Start the OCR process in a session of its own, writing to ``log``, and leave."""
    with open(log, "ab") as out:
        subprocess.Popen(  # noqa: S603 - our own module, no shell
            [sys.executable, "-m", "quickcrm.services.ocr", *arguments],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
            close_fds=True,
        )
    os._exit(0)  # no clean-up that would wait for or warn about the process just started


if __name__ == "__main__":
    if sys.argv[1] == "--detach":
        detach(sys.argv[2], sys.argv[3:])
    else:
        serve(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]))
