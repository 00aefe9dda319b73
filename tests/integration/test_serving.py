"""HTTPS in one command (quickcrm/serving.py, scripts/serve): the Caddyfile it writes is one
the real Caddy accepts, its body limits let each upload route's body through, it refuses to
start in one sentence (and starts nothing) when Caddy is missing, a port is taken or the
domain does not point here, and once started gunicorn listens on 127.0.0.1 only, HTTP goes
to HTTPS, and SIGTERM stops everything."""

from __future__ import annotations

import http.server
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

from quickcrm.serving import (
    DEFAULT_BODY_LIMIT,
    MB,
    ROOT,
    Options,
    Refusal,
    Site,
    body_limits,
    caddyfile,
    domain_points_here,
    lan_addresses,
    probe_caddyfile,
    probe_domain,
)
from quickcrm.views.imports import UPLOAD_MAX
from tests.conftest import empty_database
from tests.https_server import free_port, port_is_free, running_serve, serve_command, wait_until

CADDY = shutil.which("caddy") or "/usr/bin/caddy"


def caddy_accepts(text: str, tmp_path) -> subprocess.CompletedProcess:
    config = tmp_path / "Caddyfile"
    config.write_text(text)
    env = {"PATH": "/usr/bin:/bin", "XDG_DATA_HOME": str(tmp_path), "HOME": str(tmp_path)}
    return subprocess.run(
        [CADDY, "validate", "--adapter", "caddyfile", "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_the_caddyfile_for_a_lan_uses_caddys_own_authority_and_is_valid(tmp_path):
    site = Site(
        upstream="127.0.0.1:8001",
        hosts=("192.168.1.20", "localhost", "quickcrm.test"),
        http_port=8080,
        https_port=8443,
    )
    text = caddyfile(site)
    assert "https://192.168.1.20:8443, https://localhost:8443, https://quickcrm.test:8443 {" in text
    assert "\ttls internal\n" in text
    assert "admin off" in text and "skip_install_trust" in text
    assert 'header Strict-Transport-Security "max-age=31536000"' in text
    assert "reverse_proxy 127.0.0.1:8001 {\n\t\thealth_uri /healthz" in text
    # Caddy 2.6's own redirect would drop the port: this one keeps it.
    assert "redir https://{host}:8443{uri} 308" in text
    assert caddy_accepts(text, tmp_path).returncode == 0, caddy_accepts(text, tmp_path).stderr
    assert site.url("192.168.1.20") == "https://192.168.1.20:8443"


def test_the_caddyfile_for_a_domain_gets_certificates_from_acme_and_is_valid(tmp_path):
    site = Site(upstream="127.0.0.1:8001", domain="crm.example.com", acme_email="it@example.com")
    text = caddyfile(site)
    assert "https://crm.example.com:443 {" in text
    assert "tls internal" not in text
    assert "email it@example.com" in text
    assert "Strict-Transport-Security" in text
    # Caddy redirects HTTP to HTTPS by itself (and answers ACME's challenges there).
    assert "redir" not in text
    assert caddy_accepts(text, tmp_path).returncode == 0
    assert site.url("crm.example.com") == "https://crm.example.com"
    assert caddy_accepts(probe_caddyfile(free_port(), "token"), tmp_path).returncode == 0


def caddy_limit(path: str, import_max: int = UPLOAD_MAX) -> int:
    """The body limit the Caddyfile's matchers give ``path``."""
    for matcher, limit in body_limits(import_max):
        kind, *values = matcher.split()
        if kind == "path" and path in values:
            return limit
        if kind == "path_regexp" and re.fullmatch(values[0].strip("^$"), path):
            return limit
    return DEFAULT_BODY_LIMIT


def test_caddy_lets_through_every_body_the_app_accepts_and_no_more_than_1_mb_elsewhere(app):
    paths, uploads = set(), {}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<[^>]+>", "12", rule.rule)
        paths.add(path)
        limit = getattr(app.view_functions[rule.endpoint], "body_limit", None)
        if limit:
            uploads[path] = max(limit, uploads.get(path, 0))
    uploads["/admin/import"] = UPLOAD_MAX
    for path in paths - set(uploads):
        assert caddy_limit(path) == DEFAULT_BODY_LIMIT, path
    assert {"/", "/captures", "/cards/read", "/leads/12/voice-notes"} <= set(uploads)
    for path, accepted in uploads.items():
        assert accepted < caddy_limit(path) <= accepted + 2 * MB, path
    assert caddy_limit("/admin/import", 200 * MB) == 201 * MB


class Answers(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"another-machines-token")

    def log_message(self, *args):
        pass


def test_a_domain_that_reaches_another_server_is_refused_in_one_sentence():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(Refusal, match="does not point at this machine") as refusal:
            domain_points_here("localhost", server.server_port, "our-token", ["127.0.0.1"])
    finally:
        server.shutdown()
        server.server_close()
    assert "it resolves to 127.0.0.1" in str(refusal.value)
    assert "point its DNS A record at this machine's public address" in str(refusal.value)


def test_a_domain_that_reaches_this_machine_passes_the_probe_and_the_probe_is_gone(tmp_path):
    options = Options.from_env(
        {
            "QUICKCRM_DOMAIN": "localhost",
            "QUICKCRM_HTTP_PORT": str(free_port()),
            "QUICKCRM_INSTANCE_PATH": str(tmp_path),
        }
    )
    env = {"PATH": os.environ["PATH"], "XDG_DATA_HOME": str(tmp_path), "HOME": str(tmp_path)}
    probe_domain(options, CADDY, env, tmp_path, ["127.0.0.1"])
    assert wait_until(lambda: port_is_free(options.http_port))


def refused(tmp_path, database_url, **env) -> subprocess.CompletedProcess:
    """``python -m quickcrm.serving`` (what scripts/serve ends with) that should not start."""
    _, environment = serve_command(tmp_path, database_url, **env)
    return subprocess.run(
        [sys.executable, "-m", "quickcrm.serving"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_sentence(answer: subprocess.CompletedProcess) -> str:
    assert answer.returncode == 1
    lines = answer.stderr.strip().splitlines()
    assert len(lines) == 1, answer.stderr
    assert lines[0].startswith("scripts/serve: ") and lines[0].endswith(".")
    return lines[0]


def nothing_started(tmp_path) -> None:
    assert not (tmp_path / "instance" / "caddy" / "Caddyfile").exists()
    assert not (tmp_path / "instance" / "caddy" / "caddy.log").exists()


def test_without_caddy_it_says_how_to_get_it_and_starts_nothing(tmp_path, database_url):
    sentence = one_sentence(refused(tmp_path, database_url, QUICKCRM_CADDY="/nonexistent/caddy"))
    assert "/nonexistent/caddy is not a Caddy binary" in sentence
    assert "QUICKCRM_CADDY" in sentence
    sentence = one_sentence(refused(tmp_path, database_url, PATH=str(tmp_path)))
    assert "Caddy is not installed: run scripts/serve as root" in sentence
    nothing_started(tmp_path)


def test_a_port_taken_by_another_program_is_named_and_nothing_starts(tmp_path, database_url):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        answer = refused(tmp_path, database_url, QUICKCRM_HTTPS_PORT=str(port))
    sentence = one_sentence(answer)
    assert f"Port {port} is taken by another program" in sentence
    assert "QUICKCRM_HTTPS_PORT" in sentence
    nothing_started(tmp_path)


def test_ports_that_cannot_work_are_refused_in_one_sentence(tmp_path, database_url):
    sentence = one_sentence(refused(tmp_path, database_url, QUICKCRM_HTTPS_PORT="https"))
    assert (
        sentence == "scripts/serve: QUICKCRM_HTTPS_PORT=https is not a port: give a number 1–65535."
    )
    port = str(free_port())
    answer = refused(tmp_path, database_url, QUICKCRM_HTTPS_PORT=port, QUICKCRM_HTTP_PORT=port)
    assert "give them different ports" in one_sentence(answer)
    nothing_started(tmp_path)


def test_a_domain_that_does_not_resolve_is_refused_and_nothing_starts(tmp_path, database_url):
    sentence = one_sentence(refused(tmp_path, database_url, QUICKCRM_DOMAIN="crm.invalid"))
    assert "crm.invalid does not resolve to any address: add a DNS A record" in sentence
    nothing_started(tmp_path)


@pytest.fixture
def emptied(database_url):
    yield database_url
    from quickcrm.db import make_engine

    engine = make_engine(database_url)
    empty_database(engine)
    engine.dispose()


def test_scripts_serve_puts_quickcrm_behind_caddy_on_https_and_stops_it_all(tmp_path, emptied):
    with running_serve(tmp_path, emptied) as served:
        host, app_port = served.app_address
        assert host == "127.0.0.1"
        # Not reachable from the network: only Caddy is.
        for address in lan_addresses():
            with pytest.raises(OSError), socket.create_connection((address, app_port), 2):
                pass

        # HTTP on any of its names goes to HTTPS on the same name and port.
        request = urllib.request.Request(f"http://127.0.0.1:{served.http_port}/leads/?q=a")
        request.add_header("Host", f"quickcrm.test:{served.http_port}")
        with pytest.raises(urllib.error.HTTPError) as redirect:
            urllib.request.build_opener(NoRedirects).open(request, timeout=10)
        redirect.value.close()
        assert redirect.value.code == 308
        assert redirect.value.headers["Location"] == (
            f"https://quickcrm.test:{served.https_port}/leads/?q=a"
        )

        # HTTPS with Caddy's own authority: HSTS, and the app knows it is on HTTPS.
        context = ssl.create_default_context(cafile=str(served.root_certificate))
        url = f"https://localhost:{served.https_port}"
        with urllib.request.urlopen(f"{url}/healthz", context=context, timeout=10) as answer:
            assert answer.read() == b"ok\n"
            assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
        with urllib.request.urlopen(f"{url}/setup", context=context, timeout=10) as answer:
            assert answer.url == f"{url}/setup"
            cookie = answer.headers["Set-Cookie"]
            assert "Secure" in cookie and "HttpOnly" in cookie
        assert "SHA-256 fingerprint" in served.text()
        # The console keeps what people did, not a health check every 10 s.
        assert wait_until(lambda: '"GET /setup HTTP/1.1" 200' in served.text())
        assert "GET /healthz" not in served.text()

        children = served.children()
        assert len(children) == 2
        served.process.terminate()
        assert served.process.wait(60) == 0
        for pid in children:
            assert wait_until(lambda pid=pid: not process_exists(pid))
        assert port_is_free(served.https_port) and port_is_free(app_port, "127.0.0.1")


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def process_exists(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except OSError:
        return False
