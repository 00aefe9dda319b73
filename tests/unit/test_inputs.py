"""How requests are read before a view: ids in URLs, redirects, JSON."""

import json
import random
import re

import pytest

from quickcrm.domain import validation as v
from quickcrm.web.guards import safe_next
from quickcrm.web.inputs import StrictJSONProvider, up_to


def test_the_id_pattern_matches_exactly_one_to_the_column_maximum():
    pattern = re.compile(f"(?:{up_to(v.ID_MAX)})\\Z")
    rng = random.Random(7)
    for number in [1, 9, 10, 99, v.ID_MAX, v.ID_MAX - 1, 1_999_999_999]:
        assert pattern.match(str(number)), number
    for number in (rng.randint(1, v.ID_MAX) for _ in range(2000)):
        assert pattern.match(str(number)), number
    for text in ["0", "01", str(v.ID_MAX + 1), "2200000000", "9" * 11, "", "²", "-1"]:
        assert not pattern.match(text), text


@pytest.mark.parametrize(
    "target", ["/\t/evil.example/", "//evil.example", "/\\evil.example", "https://evil.example",
               "javascript:alert(1)", "/\n/evil.example", " //evil.example", "evil.example"],
)  # fmt: skip
def test_safe_next_never_leaves_the_app(target):
    assert safe_next(target, "/home") == "/home"


def test_safe_next_keeps_paths_of_the_app():
    assert safe_next("/leads/review?at=3&status=open", "/") == "/leads/review?at=3&status=open"


def test_json_nested_past_the_parser_or_with_lone_surrogates_is_refused(app):
    provider = StrictJSONProvider(app)
    assert provider.loads('{"name": "Ann"}') == {"name": "Ann"}
    with pytest.raises(ValueError):
        provider.loads("[" * 5000 + "]" * 5000)
    with pytest.raises(ValueError):
        provider.loads(json.dumps({"name": "\ud800"}))
