"""How a request is read before any view sees it: ids in URLs that fit their column, a
JSON parser that refuses what no database stores, a size limit on bodies, no NUL bytes
(docs/security.md, "Bad input")."""

from __future__ import annotations

import json
import re

from flask import Flask, abort, current_app, request
from flask.json.provider import DefaultJSONProvider
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
    ``MAX_CONTENT_LENGTH`` (a card photo, a voice note): ``refuse_unstorable_input`` raises
    the request's limit before anything reads the body. Other bodies keep the usual limit,
    and so do the text fields of a multipart body (werkzeug's ``max_form_memory_size``)."""

    def mark(view):
        view.body_limit = limit
        return view

    return mark


def refuse_unstorable_input():
    """Before every view: a body past the limit is a 413 without reading it, and NUL bytes
    in the URL or a form are a 400 with a message (PostgreSQL stores no NUL)."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "body_limit", None) and request.mimetype == "multipart/form-data":
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


def init_app(app: Flask) -> None:
    """Before the blueprints register their routes (the converter applies to new ones)."""
    app.url_map.converters["int"] = IdConverter
    app.json = StrictJSONProvider(app)
    app.before_request(refuse_unstorable_input)
