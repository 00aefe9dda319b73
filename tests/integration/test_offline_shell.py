"""The service worker keeps every file a page it keeps needs offline — the capture page,
the agenda and the record pages: each static URL the page links and each ES module those
import, statically or when a feature is used, at the very URL the browser asks for, so a
phone with no network opens and uses the page from its copy. SHELL_STATIC in
quickcrm/views/shell.py names what the pages link, the worker's script adds the modules
they import: this keeps both in step with the templates and the modules."""

from __future__ import annotations

import json
import re
import shutil
from urllib.parse import urljoin, urlsplit

from flask import url_for

from quickcrm import ROOT, create_app
from quickcrm.views.shell import KEPT_RECORDS
from quickcrm.web.static import static_url
from tests import factories
from tests.conftest import config_for

LINKED = re.compile(r'<(?:script|link|img)\b[^>]*?\b(?:src|href)="(/static/[^"]+)"')
# `import … from "./x.js"`, `import "./x.js"`, `import("./x.js")`
IMPORTED = re.compile(r'\b(?:from|import)\s*\(?\s*["\'](\.{1,2}/[^"\']+)["\']')


def service_worker_settings(client) -> dict:
    script = client.get("/sw.js").get_data(as_text=True)
    return json.loads(re.match(r"const QUICKCRM = (\{.*\});\n", script).group(1))


def kept_pages(client, settings: dict, ids: dict) -> list[str]:
    """Every kind of page the worker keeps: the capture page, the agenda, one record page
    of each kind it keeps."""
    with client.application.test_request_context():
        records = {url_for(endpoint, **{key: ids[key]}): ids[key] for endpoint, key in KEPT_RECORDS}
    prefixes = {url.removesuffix(str(id_)) for url, id_ in records.items()}
    assert prefixes == set(settings["records"]), "a kind of record page is not tested"
    return [settings["page"], settings["agenda"], *records]


def files_of(client, page: str) -> dict[str, bytes]:
    """Every same-origin static URL ``page`` links, and the modules imported from them."""
    response = client.get(page, headers={"X-QuickCRM-Shell": "1"})
    assert response.status_code == 200, page
    found: dict[str, bytes] = {}
    waiting = LINKED.findall(response.get_data(as_text=True))
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


def test_the_service_worker_keeps_every_file_each_kept_page_loads_or_imports(client, db, rep):
    ids = factories.one_of_each(db, rep, rep, rep)
    settings = service_worker_settings(client)
    kept = set(settings["shell"])
    names = {}
    for page in kept_pages(client, settings, ids):
        files = files_of(client, page)
        missing = sorted(url for url in files if url not in kept)
        assert not missing, f"{page} uses {missing}, which the service worker does not keep"
        names[page] = {urlsplit(url).path.rsplit("/", 1)[1] for url in files}
    # The capture page's modules loaded at once and those loaded when used (a photo, a
    # voice note, a queue); the agenda's panels (Done, Snooze).
    capture = names[settings["page"]]
    assert {"app.js", "capture.js", "store.js", "sync.js", "cards.js", "voice.js"} <= capture
    assert "app.css" in capture and "manifest.webmanifest" in capture
    assert {"htmx-2.0.11.min.js", "pages.js", "queue.js", "panels.js"} <= names[settings["agenda"]]


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
