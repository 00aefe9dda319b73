"""QuickCRM on HTTPS in one command: gunicorn on 127.0.0.1 behind Caddy (``scripts/serve``,
docs/deployment.md "HTTPS").

Two modes:

- ``QUICKCRM_DOMAIN=crm.example.com``: Caddy gets certificates from Let's Encrypt (ACME),
  redirects HTTP to HTTPS and sends HSTS. Before that, a probe checks the domain reaches this
  machine, so a wrong DNS record is one sentence rather than minutes of failed ACME attempts.
- no domain: Caddy's own certificate authority signs certificates for the machine's LAN
  addresses, ``localhost`` and ``QUICKCRM_HOSTNAMES``; each phone trusts that authority once
  (README, "HTTPS for phones"; Admin → Phones).

Anything that stops a start — no Caddy, a port taken, a domain pointing elsewhere, a child
process that stops — is said in one sentence and the command exits non-zero with nothing left
running.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from gunicorn.glogging import Logger

from quickcrm.domain import phones

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
# The oldest Caddy whose Caddyfile syntax this module writes (Debian 12 ships 2.6.2).
OLDEST_CADDY = (2, 6)
# Where Caddy keeps its local certificate authority under XDG_DATA_HOME.
ROOT_CERTIFICATE = Path("caddy", "pki", "authorities", "local", "root.crt")
PROBE_PATH = "/.well-known/quickcrm-probe/"
HSTS = "max-age=31536000"

# Request bodies Caddy lets through, per route: a little above what the app itself accepts
# from a signed-in user (quickcrm/web/inputs.py body_limit, docs/deployment.md "Hardening"),
# 1 MB everywhere else. The admin's CSV import follows QUICKCRM_IMPORT_MAX_BYTES.
DEFAULT_BODY_LIMIT = 1 * MB
UPLOAD_BODY_LIMITS = (
    ("path / /captures", 22 * MB),
    ("path /cards/read", 12 * MB),
    ("path_regexp ^/leads/[0-9]+/voice-notes$", 12 * MB),
)
IMPORT_MATCHER = "path /admin/import"
IMPORT_MAX_BYTES = 50 * MB


class Refusal(Exception):
    """Why QuickCRM cannot start, in one sentence with what to do."""


@dataclass(frozen=True)
class Site:
    """What Caddy serves: a domain with ACME, or ``hosts`` with Caddy's internal CA."""

    upstream: str
    domain: str | None = None
    hosts: tuple[str, ...] = ()
    http_port: int = 80
    https_port: int = 443
    import_max_bytes: int = IMPORT_MAX_BYTES
    acme_email: str | None = None

    def url(self, host: str) -> str:
        host = f"[{host}]" if ":" in host else host
        return f"https://{host}" + ("" if self.https_port == 443 else f":{self.https_port}")

    @property
    def names(self) -> tuple[str, ...]:
        return (self.domain,) if self.domain else self.hosts


def body_limits(import_max_bytes: int = IMPORT_MAX_BYTES) -> list[tuple[str, int]]:
    """(Caddy matcher, largest body) per upload route, the import's from its setting."""
    return [*UPLOAD_BODY_LIMITS, (IMPORT_MATCHER, import_max_bytes + MB)]


def _size(limit: int) -> str:
    return f"{limit // MB}MiB" if limit % MB == 0 else str(limit)


def caddyfile(site: Site) -> str:
    """The Caddyfile for ``site`` (Caddy 2.6+; ``caddy validate`` accepts it)."""
    options = ["admin off", "skip_install_trust"]
    if site.acme_email:
        options.append(f"email {site.acme_email}")
    if site.http_port != 80:
        options.append(f"http_port {site.http_port}")
    if site.https_port != 443:
        options.append(f"https_port {site.https_port}")
    lines = ["{", *(f"\t{option}" for option in options), "}", ""]

    addresses = ", ".join(_address("https", name, site.https_port) for name in site.names)
    lines.append(f"{addresses} {{")
    if not site.domain:
        lines.append("\ttls internal")
    lines.append(f'\theader Strict-Transport-Security "{HSTS}"')
    limits = body_limits(site.import_max_bytes)
    for number, (matcher, limit) in enumerate(limits, start=1):
        lines += [
            f"\t@upload{number} {matcher}",
            f"\trequest_body @upload{number} {{",
            f"\t\tmax_size {_size(limit)}",
            "\t}",
        ]
    lines += ["\t@other {", *(f"\t\tnot {matcher}" for matcher, _ in limits), "\t}"]
    lines += ["\trequest_body @other {", f"\t\tmax_size {_size(DEFAULT_BODY_LIMIT)}", "\t}"]
    lines += [
        f"\treverse_proxy {site.upstream} {{",
        "\t\thealth_uri /healthz",
        "\t\thealth_interval 10s",
        "\t\thealth_timeout 10s",
        # One app server: a request waits for it to answer again (a restart, a check missed
        # on a busy machine) rather than getting a 503 at once.
        "\t\tlb_try_duration 15s",
        "\t}",
        "}",
    ]
    if not site.domain:
        # Caddy 2.6 redirects HTTP to https://host/ without a port that is not 443, so the
        # internal mode says where to go itself.
        port = "" if site.https_port == 443 else f":{site.https_port}"
        addresses = ", ".join(_address("http", name, site.http_port) for name in site.names)
        lines += ["", f"{addresses} {{", f"\tredir https://{{host}}{port}{{uri}} 308", "}"]
    return "\n".join(lines) + "\n"


def _address(scheme: str, host: str, port: int) -> str:
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{port}"


def probe_caddyfile(http_port: int, token: str) -> str:
    """A Caddy that answers ``token`` at the probe path on ``http_port``, and nothing else."""
    return (
        "{\n\tadmin off\n\tskip_install_trust\n\tauto_https off\n}\n\n"
        f"http://:{http_port} {{\n\trespond {PROBE_PATH}{token} {token} 200\n}}\n"
    )


# ---- preflight ------------------------------------------------------------------------


def find_caddy(env: dict[str, str]) -> str:
    """The Caddy binary: QUICKCRM_CADDY, else ``caddy`` on PATH."""
    wanted = env.get("QUICKCRM_CADDY")
    found = shutil.which(wanted) if wanted else shutil.which("caddy", path=env.get("PATH"))
    if not found:
        where = f"{wanted} is not a Caddy binary" if wanted else "Caddy is not installed"
        raise Refusal(
            f"{where}: run scripts/serve as root to install Debian's caddy package"
            " (apt-get install caddy), or set QUICKCRM_CADDY to the path of a Caddy 2 binary."
        )
    return found


def caddy_version(binary: str) -> tuple[int, int, int]:
    try:
        answer = subprocess.run(
            [binary, "version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except OSError as error:
        raise Refusal(f"{binary} does not run ({error.strerror}): install Caddy 2.") from None
    match = re.search(r"v?(\d+)\.(\d+)\.(\d+)", answer)
    if not match:
        raise Refusal(f"{binary} is not Caddy 2 (it says {answer.strip()!r}): install Caddy 2.")
    version = tuple(int(part) for part in match.groups())
    if version[:2] < OLDEST_CADDY:
        raise Refusal(
            f"{binary} is Caddy {'.'.join(map(str, version))}: QuickCRM needs Caddy 2.6 or newer."
        )
    return version  # type: ignore[return-value]


def check_port_free(port: int, setting: str, host: str = "", caddy: str | None = None) -> None:
    """Refuse when another program listens on ``port``, or when ``port`` is below 1024, this
    user may not open it and ``caddy`` has not been given the capability to."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except PermissionError:
            if caddy and _has_capabilities(caddy):
                return
            raise Refusal(
                f"Port {port} needs root: run scripts/serve as root, let Caddy open it"
                f" (setcap cap_net_bind_service=+ep {caddy}), or set {setting} to a port"
                " above 1023."
            ) from None
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            raise Refusal(
                f"Port {port} is taken by another program: stop it (ss -ltnp 'sport = :{port}'"
                f" names it), or set {setting} to a free port."
            ) from None


def _has_capabilities(binary: str) -> bool:
    """Whether ``binary`` carries file capabilities (setcap cap_net_bind_service)."""
    try:
        return bool(os.getxattr(os.path.realpath(binary), "security.capability"))
    except OSError:
        return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses on its networks (``hostname -I``), loopback excluded."""
    try:
        out = subprocess.run(
            ["hostname", "-I"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except OSError:
        return []
    return [ip for ip in out.split() if ":" not in ip and not ip.startswith("127.")]


def resolve(domain: str) -> list[str]:
    try:
        found = socket.getaddrinfo(domain, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        raise Refusal(
            f"{domain} does not resolve to any address: add a DNS A record for it pointing at"
            " this machine's public address, then run scripts/serve again."
        ) from None
    return sorted({info[4][0] for info in found})


def fetch(url: str, timeout: float = 5) -> tuple[int, str]:
    """GET ``url`` without following redirects: its status and text (0 when unreachable)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect, urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as answer:
            return answer.status, answer.read(4096).decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, ""
    except (OSError, ValueError):
        return 0, ""


def domain_points_here(domain: str, http_port: int, token: str, addresses: list[str]) -> None:
    """Refuse unless http://domain/ reaches the Caddy that answers ``token`` on this machine."""
    port = "" if http_port == 80 else f":{http_port}"
    status, text = fetch(f"http://{domain}{port}{PROBE_PATH}{token}", timeout=10)
    if status != 200 or text.strip() != token:
        raise Refusal(
            f"{domain} does not point at this machine (it resolves to {', '.join(addresses)}):"
            " point its DNS A record at this machine's public address, and open ports 80 and"
            " 443 to it."
        )


# ---- the processes --------------------------------------------------------------------


def die_with_parent() -> None:
    """In a child, before exec: the kernel stops it if the supervisor dies, so a killed
    ``scripts/serve`` never leaves a Caddy or a gunicorn behind."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Supervisor:
    """The children started so far; ``stop`` ends them all."""

    children: dict[str, subprocess.Popen] = field(default_factory=dict)
    # Where Caddy writes its log: the reason it gives when it stops.
    caddy_log: Path | None = None

    def start(self, name: str, args: list[str], **kwargs) -> subprocess.Popen:
        self.children[name] = subprocess.Popen(args, preexec_fn=die_with_parent, **kwargs)
        return self.children[name]

    def start_caddy(self, caddy: str, config: Path, env: dict, log: Path) -> subprocess.Popen:
        """Caddy with the Caddyfile ``config``, writing to ``log``."""
        with log.open("a") as log_file:
            return self.start(
                "Caddy",
                [caddy, "run", "--config", str(config), "--adapter", "caddyfile"],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def stopped(self) -> tuple[str, int] | None:
        for name, child in self.children.items():
            if child.poll() is not None:
                return name, child.returncode
        return None

    def stop(self, grace: float = 30) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in self.children.values():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


class Stop(Exception):
    """SIGINT or SIGTERM: stop everything."""


def _stop(signum, _frame):
    # Once: the cleanup that follows must not be interrupted by a second Ctrl+C.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Stop(signal.Signals(signum).name)


def wait_for(check, what: str, supervisor: Supervisor, timeout: float):
    """Poll ``check`` until it returns something; refuse if a child stops or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        gone = supervisor.stopped()
        if gone:
            raise Refusal(_stopped_sentence(*gone, supervisor))
        if time.monotonic() > deadline:
            raise Refusal(what)
        time.sleep(0.2)


def _stopped_sentence(name: str, code: int, supervisor: Supervisor) -> str:
    after = "QuickCRM is stopped, nothing is left running."
    if code < 0:
        return f"{name} was killed ({signal.Signals(-code).name}); {after}"
    log = supervisor.caddy_log
    reason = (last_error(log) if name == "Caddy" and log else "") or "see its messages above"
    return f"{name} stopped (exit code {code}): {reason}; {after}"


def last_error(log: Path) -> str:
    """The last error Caddy wrote to ``log`` (its JSON lines, or a plain ``Error:`` line)."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if entry.get("level") in ("error", "fatal"):
                    return " — ".join(filter(None, (entry.get("msg"), entry.get("error"))))
            continue
        return line.removeprefix("Error: ")
    return ""


def healthy(url: str) -> bool:
    return fetch(url, timeout=2)[0] == 200


def https_answers(port: int, name: str, context: ssl.SSLContext) -> bool:
    """Whether Caddy on 127.0.0.1:``port`` answers /healthz for ``name`` with 200 over TLS
    that ``context`` trusts."""
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=3) as raw,
            context.wrap_socket(raw, server_hostname=name) as tls,
        ):
            request = f"GET /healthz HTTP/1.1\r\nHost: {name}:{port}\r\nConnection: close\r\n\r\n"
            tls.sendall(request.encode())
            return tls.recv(64).startswith(b"HTTP/1.1 200")
    except (OSError, ssl.SSLError):
        return False


# ---- the command ----------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """What ``scripts/serve`` was asked for (its environment)."""

    domain: str | None
    hostnames: tuple[str, ...]
    http_port: int
    https_port: int
    app_port: int | None
    workers: str
    threads: str
    instance: Path
    import_max_bytes: int
    acme_email: str | None
    check_domain: bool

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Options:
        def port(name: str, default: int | None) -> int | None:
            value = env.get(name) or default
            try:
                number = int(value) if value is not None else None
            except ValueError:
                number = 0
            if number is not None and not 0 < number < 65536:
                raise Refusal(f"{name}={env.get(name)} is not a port: give a number 1–65535.")
            return number

        return cls(
            domain=(env.get("QUICKCRM_DOMAIN") or "").strip().lower() or None,
            hostnames=tuple(re.split(r"[\s,]+", env.get("QUICKCRM_HOSTNAMES", "").strip()))
            if env.get("QUICKCRM_HOSTNAMES", "").strip()
            else (),
            http_port=port("QUICKCRM_HTTP_PORT", 80),
            https_port=port("QUICKCRM_HTTPS_PORT", 443),
            app_port=port("PORT", None),
            workers=env.get("WORKERS") or "2",
            threads=env.get("THREADS") or "4",
            instance=Path(env.get("QUICKCRM_INSTANCE_PATH") or ROOT / "instance").resolve(),
            import_max_bytes=int(env.get("QUICKCRM_IMPORT_MAX_BYTES") or IMPORT_MAX_BYTES),
            acme_email=env.get("QUICKCRM_ACME_EMAIL") or None,
            check_domain=env.get("QUICKCRM_DOMAIN_CHECK", "true").lower()
            not in ("0", "false", "no"),
        )


def plan(options: Options, upstream: str) -> tuple[Site, str]:
    """What Caddy serves, and the address phones open."""
    common = {
        "upstream": upstream,
        "http_port": options.http_port,
        "https_port": options.https_port,
        "import_max_bytes": options.import_max_bytes,
    }
    if options.domain:
        site = Site(domain=options.domain, acme_email=options.acme_email, **common)
        return site, site.url(options.domain)
    lan = lan_addresses()
    site = Site(hosts=tuple(dict.fromkeys([*lan, "localhost", *options.hostnames])), **common)
    return site, site.url((lan or [*options.hostnames, "localhost"])[0])


class QuietHealthChecks(Logger):
    """gunicorn's access log without the health checks (Caddy asks every 10 s), so the
    console keeps what people did."""

    def access(self, resp, req, environ, request_time):
        if environ.get("PATH_INFO") != "/healthz":
            super().access(resp, req, environ, request_time)


def gunicorn_command(options: Options, port: int) -> list[str]:
    """gunicorn on 127.0.0.1 only: nothing but Caddy may reach it (it trusts the proxy's
    headers). No control socket: its default path is shared by every gunicorn of the user."""
    return [
        *(sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"),
        *("--workers", options.workers, "--threads", options.threads),
        *("--access-logfile", "-", "--logger-class", "quickcrm.serving.QuietHealthChecks"),
        *("--no-control-socket", "wsgi:app"),
    ]


def serve(options: Options, env: dict[str, str], out=sys.stdout) -> int:
    """Check, start gunicorn then Caddy, print where to go, and supervise until a signal
    (exit 0) or a child stops (a ``Refusal``)."""
    caddy = find_caddy(env)
    caddy_version(caddy)
    if options.http_port == options.https_port:
        raise Refusal(
            f"QUICKCRM_HTTP_PORT and QUICKCRM_HTTPS_PORT are both {options.http_port}:"
            " give them different ports."
        )
    check_port_free(options.http_port, "QUICKCRM_HTTP_PORT", caddy=caddy)
    check_port_free(options.https_port, "QUICKCRM_HTTPS_PORT", caddy=caddy)
    if options.app_port:
        check_port_free(options.app_port, "PORT", "127.0.0.1")
    app_port = options.app_port or free_port()

    folder = options.instance / "caddy"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    caddy_env = {**env, "XDG_DATA_HOME": str(folder), "XDG_CONFIG_HOME": str(folder / "config")}
    log = folder / "caddy.log"
    supervisor = Supervisor(caddy_log=log)
    try:
        if options.domain and options.check_domain:
            probe_domain(options, caddy, caddy_env, folder, resolve(options.domain))
        site, public = plan(options, f"127.0.0.1:{app_port}")
        root_certificate = folder / ROOT_CERTIFICATE

        app_env = {
            **env,
            "QUICKCRM_TRUSTED_PROXIES": "1",
            "QUICKCRM_SESSION_COOKIE_SECURE": "true",
            "QUICKCRM_REMEMBER_COOKIE_SECURE": "true",
            "QUICKCRM_PUBLIC_URL": public,
            "QUICKCRM_INSTANCE_PATH": str(options.instance),
        }
        if not options.domain:
            app_env["QUICKCRM_CA_ROOT"] = str(root_certificate)
        supervisor.start(
            "QuickCRM's app server", gunicorn_command(options, app_port), cwd=ROOT, env=app_env
        )
        wait_for(
            lambda: healthy(f"http://127.0.0.1:{app_port}/healthz"),
            "QuickCRM's app server does not answer /healthz after 2 minutes: if it says the"
            " database is unreachable, check QUICKCRM_DATABASE_URL.",
            supervisor,
            timeout=120,
        )

        config = folder / "Caddyfile"
        config.write_text(caddyfile(site))
        supervisor.start_caddy(caddy, config, caddy_env, log)
        wait_for_https(options, root_certificate, log, supervisor)
        _announce(out, site, public, None if options.domain else root_certificate, log)
        while True:
            gone = supervisor.stopped()
            if gone:
                raise Refusal(_stopped_sentence(*gone, supervisor))
            time.sleep(0.5)
    except Stop:
        print("Stopping QuickCRM and Caddy…", file=out, flush=True)
        return 0
    finally:
        supervisor.stop()


def wait_for_https(options: Options, root: Path, log: Path, supervisor: Supervisor) -> None:
    """Until Caddy answers /healthz over HTTPS with a certificate this machine trusts: Let's
    Encrypt's for a domain (a first one may take minutes), else one of Caddy's authority."""
    if options.domain:
        name, timeout = options.domain, 300
        late = (
            f"Caddy has no certificate for {options.domain} after 5 minutes: Let's Encrypt"
            f" must reach this machine on ports 80 and 443 (see {log})."
        )
        context = ssl.create_default_context()
    else:
        name, timeout = "localhost", 60
        late = f"Caddy does not answer on HTTPS port {options.https_port} (see {log})."
        context = wait_for(
            lambda: root.exists() and ssl.create_default_context(cafile=str(root)),
            late,
            supervisor,
            timeout,
        )
    wait_for(lambda: https_answers(options.https_port, name, context), late, supervisor, timeout)


def probe_domain(
    options: Options, caddy: str, env: dict, folder: Path, addresses: list[str]
) -> None:
    """Serve a random token on port 80 with a Caddy of its own and fetch it by the domain."""
    token = secrets.token_urlsafe(16)
    config = folder / "probe.Caddyfile"
    config.write_text(probe_caddyfile(options.http_port, token))
    probe = Supervisor(caddy_log=folder / "caddy.log")
    try:
        probe.start_caddy(caddy, config, env, folder / "caddy.log")
        wait_for(
            lambda: fetch(f"http://127.0.0.1:{options.http_port}{PROBE_PATH}{token}")[1] == token,
            f"Caddy does not answer on HTTP port {options.http_port} (see {folder / 'caddy.log'}).",
            probe,
            timeout=30,
        )
        domain_points_here(options.domain or "", options.http_port, token, addresses)
    finally:
        probe.stop(grace=10)


def _announce(out, site: Site, public: str, root: Path | None, log: Path) -> None:
    import segno

    print("", file=out)
    print("QuickCRM is on HTTPS, behind Caddy:", file=out)
    for name in site.names:
        here = site.url(name) == public
        note = "   <- open this on the phones (the QR code below)" if here else ""
        print(f"  {site.url(name)}{note}", file=out)
    segno.make(public).terminal(out=out, compact=True)
    if root is not None:
        print(
            "Each phone trusts Caddy's local certificate authority once (README, 'HTTPS for"
            " phones'; Admin → Phones):",
            file=out,
        )
        print(f"  {root}", file=out)
        authority = phones.authority(str(root))
        if authority is not None:
            print(f"  SHA-256 fingerprint {authority.fingerprint}", file=out)
    print(f"Caddy's log: {log}. Ctrl+C stops QuickCRM and Caddy.", file=out)
    print("", file=out, flush=True)


def main() -> int:
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    env = dict(os.environ)
    try:
        return serve(Options.from_env(env), env)
    except Refusal as refusal:
        print(f"scripts/serve: {refusal}", file=sys.stderr, flush=True)
        return 1
    except Stop:
        return 0


if __name__ == "__main__":
    sys.exit(main())
