"""``scripts/serve`` started for a test: QuickCRM behind a real Caddy on free ports, with an
instance folder of its own (its own secret key and Caddy certificate authority), and every
process it started ended afterwards, even when the test fails."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from quickcrm.serving import ROOT, ROOT_CERTIFICATE, die_with_parent

READY = "QuickCRM is on HTTPS"
# A first start installs nothing, but migrates, compresses the static files, starts gunicorn
# and makes a certificate authority: generous on a busy machine.
START_TIMEOUT = 240


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_is_free(port: int, host: str = "") -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


@dataclass
class Served:
    process: subprocess.Popen
    output: Path
    instance: Path
    https_port: int
    http_port: int

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    @property
    def root_certificate(self) -> Path:
        return self.instance / "caddy" / ROOT_CERTIFICATE

    @property
    def app_address(self) -> tuple[str, int]:
        """Where gunicorn listens, as it says it on start."""
        host, port = re.search(r"Listening at: http://([\d.]+):(\d+)", self.text()).groups()
        return host, int(port)

    @property
    def setup_code(self) -> str:
        return re.search(r"^\s+([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})\s*$", self.text(), re.M)[1]

    def dump(self) -> None:
        """Print (shown with a failure) what the script and gunicorn said, and Caddy's
        warnings and errors."""
        print(self.text()[-8000:])
        log = self.instance / "caddy" / "caddy.log"
        if log.exists():
            print("".join(line for line in log.open() if '"info"' not in line)[-8000:])

    def children(self) -> list[int]:
        """The processes ``scripts/serve`` runs (gunicorn's master, Caddy)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []


def serve_command(tmp_path: Path, database_url: str, **env: str) -> tuple[list[str], dict]:
    """``scripts/serve`` and its environment for a test: its own instance folder and free
    ports; ``env`` adds or replaces settings."""
    environment = {
        **os.environ,
        "QUICKCRM_INSTANCE_PATH": str(tmp_path / "instance"),
        "QUICKCRM_DATABASE_URL": database_url,
        "QUICKCRM_HTTPS_PORT": str(free_port()),
        "QUICKCRM_HTTP_PORT": str(free_port()),
        "QUICKCRM_HOSTNAMES": "quickcrm.test",
        # One worker: the machine is shared; the OCR process is not what these tests try.
        "WORKERS": "1",
        "QUICKCRM_OCR_WARM_UP": "false",
        **env,
    }
    return [str(ROOT / "scripts" / "serve")], environment


@contextmanager
def running_serve(tmp_path: Path, database_url: str, **env: str):
    """``scripts/serve`` until it says where QuickCRM is; then the test; then everything it
    started is stopped (its process group: the script, gunicorn and Caddy)."""
    command, environment = serve_command(tmp_path, database_url, **env)
    output = tmp_path / "serve-output.txt"
    with output.open("w") as out:
        process = subprocess.Popen(
            command,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            # A test run that is killed takes scripts/serve (and so gunicorn and Caddy) along.
            preexec_fn=die_with_parent,
        )
    served = Served(
        process,
        output,
        Path(environment["QUICKCRM_INSTANCE_PATH"]),
        int(environment["QUICKCRM_HTTPS_PORT"]),
        int(environment["QUICKCRM_HTTP_PORT"]),
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while READY not in served.text():
            if process.poll() is not None:
                raise AssertionError(f"scripts/serve stopped at start:\n{served.text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"scripts/serve did not start:\n{served.text()}")
            time.sleep(0.2)
        yield served
    except BaseException:
        served.dump()
        raise
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to the whole group, then SIGKILL to what is left after 30 s."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(30)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def wait_until(condition, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
