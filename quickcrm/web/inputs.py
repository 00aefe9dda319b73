"""How a request is read before any view sees it: ids in URLs that fit their column, a
JSON parser that refuses what no database stores, a size limit on bodies, no NUL bytes
(docs/security.md, "Bad input")."""

from __future__ import annotations

import json
import re

import flask
from flask import Flask, abort, current_app, request
from flask.json.provider import DefaultJSONProvider
from flask_login import current_user
from werkzeug.formparser import FormDataParser
from werkzeug.routing import IntegerConverter

from quickcrm.domain import validation as v

NUL_MESSAGE = "Text with a NUL character cannot be stored. Remove it and send again."
_SURROGATE = re.compile("[\ud800-\udfff]")


def up_to(limit: int) -> str:
    """A regular expression matching exactly the numbers 1 to ``limit`` (no leading zero)."""
    digits = str(limit)
    shorter = rf"[1-9]\d{{0,{len(digits) - 2}}}" if len(digits) > 1 else ""
    same_length = []
    for i, digit in enumerate(digits):
        low = 1 if i == 0 else 0
        if int(digit) > low:
            rest = len(digits) - i - 1
            same_length.append(
                rf"{digits[:i]}[{low}-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else "")
            )
    same_length.append(digits)
    return "|".join(filter(None, [shorter, *same_length]))


class IdConverter(IntegerConverter):
    """``<int:…>`` in a route: only 1 to ``ID_MAX`` match, so a larger number is a 404
    (decided by the pattern, before any method check) and never a database overflow."""

    regex = f"(?:{up_to(v.ID_MAX)})"


class StrictJSONProvider(DefaultJSONProvider):
    """JSON as Flask reads it, refusing bodies nested past the parser's depth and strings
    with lone surrogates (valid JSON, but no database stores them): ``request.get_json``
    then answers 400, or ``None`` when ``silent``."""

    def loads(self, s, **kwargs):
        try:
            data = json.loads(s, **kwargs)
        except RecursionError:
            raise ValueError("The JSON is nested too deeply.") from None
        if _SURROGATE.search(json.dumps(data, ensure_ascii=False, default=str) or ""):
            raise ValueError("The JSON holds a broken character (a lone surrogate).")
        return data


def body_limit(limit: int):
    """A view that accepts multipart bodies (files) up to ``limit`` bytes rather than
    ``MAX_CONTENT_LENGTH`` (a card photo, a voice note) from a signed-in user:
    ``refuse_unstorable_input`` raises the request's limit before anything reads the body.
    Anyone else, and other bodies, keep the usual limit, and so do the text fields of a
    multipart body (werkzeug's ``max_form_memory_size``)."""

    def mark(view):
        view.body_limit = limit
        return view

    return mark


def refuse_unstorable_input():
    """Before every view, and before CSRF (which reads the form): a body past the limit is
    a 413 without reading it — one sent in chunks, with no length, is cut at the limit
    while it is read — and NUL bytes in the URL or a form are a 400 with a message
    (PostgreSQL stores no NUL)."""
    view = current_app.view_functions.get(request.endpoint or "")
    if (
        getattr(view, "body_limit", None)
        and request.mimetype == "multipart/form-data"
        # the session cookie says who it is; an anonymous body is refused past 1 MB unread
        and current_user.is_authenticated
    ):
        request.max_content_length = view.body_limit
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        if limit != current_app.config["MAX_CONTENT_LENGTH"]:
            megabytes = limit // 2**20
            abort(413, description=f"That is more than QuickCRM accepts at once ({megabytes} MB).")
        abort(413)
    values = [request.path, *request.args.values()]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += request.form.values()
    if any("\x00" in value for value in values):
        abort(400, description=NUL_MESSAGE)


class ClosingFormDataParser(FormDataParser):
    """Werkzeug's form parser, closing the files it spooled for a body it did not finish
    (cut at the limit, or malformed) rather than leaving them to the garbage collector."""

    def parse(self, stream, mimetype, content_length, options=None):
        opened = []
        make = self.stream_factory

        def spool(*args, **kwargs):
            opened.append(make(*args, **kwargs))
            return opened[-1]

        self.stream_factory = spool
        kept = []
        try:
            result = super().parse(stream, mimetype, content_length, options)
            kept = [file.stream for _, file in result[2].items(multi=True)]
            return result
        finally:
            self.stream_factory = make
            for file in opened:
                if not any(file is stream for stream in kept):
                    file.close()


class Request(flask.Request):
    form_data_parser_class = ClosingFormDataParser


def init_app(app: Flask) -> None:
    """Before the blueprints register their routes (the converter applies to new ones), and
    before CSRF: before_request functions run in the order they were added."""
    app.url_map.converters["int"] = IdConverter
    app.request_class = Request
    app.json = StrictJSONProvider(app)
    app.before_request(refuse_unstorable_input)
