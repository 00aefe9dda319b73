"""The service worker keeps every file the capture page needs offline: each static URL the
page links and each ES module those import — statically or when a feature is used — at
the very URL the browser asks for, so a phone with no network opens and uses the page
from its copy. SHELL_STATIC in quickcrm/views/shell.py is written by hand: this keeps it in
step with the templates and the modules."""

from __future__ import annotations

import json
import re
import shutil
from urllib.parse import urljoin, urlsplit

from quickcrm import ROOT, create_app
from quickcrm.web.static import static_url
from tests.conftest import config_for

LINKED = re.compile(r'<(?:script|link)\b[^>]*?\b(?:src|href)="(/static/[^"]+)"')
# `import … from "./x.js"`, `import "./x.js"`, `import("./x.js")`
IMPORTED = re.compile(r'\b(?:from|import)\s*\(?\s*["\'](\.{1,2}/[^"\']+)["\']')


def kept_by_the_service_worker(client) -> set[str]:
    script = client.get("/sw.js").get_data(as_text=True)
    settings = re.match(r"const QUICKCRM = (\{.*\});\n", script).group(1)
    return set(json.loads(settings)["shell"])


def files_of_the_capture_page(client) -> dict[str, bytes]:
    """Every same-origin static URL the page links, and the modules imported from them."""
    found: dict[str, bytes] = {}
    waiting = LINKED.findall(client.get("/").get_data(as_text=True))
    while waiting:
        url = waiting.pop()
        if url in found:
            continue
        response = client.get(url)
        assert response.status_code == 200, url
        found[url] = response.get_data()
        if urlsplit(url).path.endswith(".js"):
            code = found[url].decode()
            waiting += [urljoin(url, imported) for imported in IMPORTED.findall(code)]
    return found


def test_the_service_worker_keeps_every_file_the_capture_page_loads_or_imports(client, rep):
    files = files_of_the_capture_page(client)
    kept = kept_by_the_service_worker(client)
    for url in files:
        assert url in kept, f"{url} is used by the capture page but not kept by the service worker"
    names = {urlsplit(url).path.rsplit("/", 1)[1] for url in files}
    # The modules loaded at once and those loaded when used (a photo, a voice note, a queue).
    assert {"app.js", "capture.js", "store.js", "sync.js", "cards.js", "voice.js"} <= names
    assert "app.css" in names and "manifest.webmanifest" in names


def test_modules_share_one_versioned_folder_that_any_change_renews(database_url, tmp_path):
    """Modules import each other by relative URL: their version is the folder in their
    path, the same for all, cacheable for a year, and new when any module changes."""
    static = tmp_path / "static"
    shutil.copytree(ROOT / "static", static)
    app = create_app(config_for(database_url), instance_path=str(tmp_path / "instance"))
    app.static_folder = str(static)

    def module_urls() -> set[str]:
        with app.test_request_context():
            return {static_url("js/capture.js"), static_url("js/store.js")}

    before = module_urls()
    assert len({url.rsplit("/", 2)[1] for url in before}) == 1
    (static / "js" / "store.js").write_text((static / "js" / "store.js").read_text() + "\n")
    after = module_urls()
    assert not before & after
    app.extensions["quickcrm.engine"].dispose()


def test_a_versioned_module_url_serves_the_module_for_a_year(client):
    with client.application.test_request_context():
        url = static_url("js/store.js")
    response = client.get(url)
    assert response.status_code == 200
    assert response.get_data() == (ROOT / "static" / "js" / "store.js").read_bytes()
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert response.mimetype == "text/javascript"
