from datetime import date

import pytest

from quickcrm.domain import validation as v

TODAY = date(2026, 11, 23)


def test_text_trims_and_folds_spaces():
    assert v.text("  Maria   Novak ", max_length=50) == "Maria Novak"
    assert v.text("   ", max_length=5) is None


def test_text_bounds_and_required():
    with pytest.raises(v.Invalid, match="under 5 characters"):
        v.text("toolong", max_length=5)
    with pytest.raises(v.Invalid, match="Enter a name"):
        v.text("", max_length=5, required="Enter a name")


@pytest.mark.parametrize("raw", ["name@example.com", " Name@Example.COM "])
def test_email_accepts_addresses(raw):
    assert v.email(raw).lower() == "name@example.com"


@pytest.mark.parametrize("raw", ["nope", "a@", "@b.com", "a b@c.com"])
def test_email_rejects_non_addresses(raw):
    with pytest.raises(v.Invalid):
        v.email(raw)


@pytest.mark.parametrize("raw", ["+44 20 7946 0958", "020 7946 0958", "+1 (415) 555-2671"])
def test_phone_accepts_possible_numbers(raw):
    assert v.phone(raw, "GB") == raw


@pytest.mark.parametrize("raw", ["12", "call me", "+44 1", "9" * 41])
def test_phone_rejects_impossible_numbers(raw):
    with pytest.raises(v.Invalid):
        v.phone(raw, "GB")


def test_phone_key_is_e164():
    assert v.phone_key("020 7946 0958", "GB") == "+442079460958"
    assert v.phone_key("+44 (0)20 7946 0958", None) == "+442079460958"


def test_next_action_date_range():
    assert v.next_action_date("2026-11-24", TODAY) == date(2026, 11, 24)
    # A phone a time zone behind may still say "today" when the server says tomorrow.
    assert v.next_action_date("2026-11-22", TODAY) == date(2026, 11, 22)
    with pytest.raises(v.Invalid, match="Pick a date"):
        v.next_action_date("2026-11-21", TODAY)
    with pytest.raises(v.Invalid, match="Pick a date"):
        v.next_action_date("2029-01-01", TODAY)
    with pytest.raises(v.Invalid, match="Enter a date like"):
        v.next_action_date("24/11/2026", TODAY)


def test_choice():
    assert v.choice("Hot", ("cold", "warm", "hot"), "m") == "hot"
    assert v.choice("", ("cold",), "m") is None
    with pytest.raises(v.Invalid, match="m"):
        v.choice("tepid", ("cold",), "m")
