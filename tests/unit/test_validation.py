from datetime import date

import pytest

from quickcrm.domain import validation as v

TODAY = date(2026, 11, 23)


def test_text_trims_and_folds_spaces():
    assert v.text("  Maria   Novak ", max_length=50) == "Maria Novak"
    assert v.text("   ", max_length=5) is None


def test_text_bounds_and_required():
    with pytest.raises(v.Refused, match="under 5 characters"):
        v.text("toolong", max_length=5)
    with pytest.raises(v.Refused, match="Enter a name"):
        v.text("", max_length=5, required="Enter a name")


@pytest.mark.parametrize("raw", ["name@example.com", " Name@Example.COM "])
def test_email_accepts_addresses(raw):
    assert v.email(raw).lower() == "name@example.com"


@pytest.mark.parametrize("raw", ["nope", "a@", "@b.com", "a b@c.com"])
def test_email_rejects_non_addresses(raw):
    with pytest.raises(v.Refused):
        v.email(raw)


@pytest.mark.parametrize("raw", ["+44 20 7946 0958", "020 7946 0958", "+1 (415) 555-2671"])
def test_phone_accepts_possible_numbers(raw):
    assert v.phone(raw, "GB") == raw


@pytest.mark.parametrize("raw", ["12", "call me", "+44 1", "9" * 41])
def test_phone_rejects_impossible_numbers(raw):
    with pytest.raises(v.Refused):
        v.phone(raw, "GB")


def test_phone_key_is_e164():
    assert v.phone_key("020 7946 0958", "GB") == "+442079460958"
    assert v.phone_key("+44 (0)20 7946 0958", None) == "+442079460958"


def test_next_action_date_range():
    assert v.next_action_date("2026-11-24", TODAY) == date(2026, 11, 24)
    # A phone a time zone behind may still say "today" when the server says tomorrow.
    assert v.next_action_date("2026-11-22", TODAY) == date(2026, 11, 22)
    with pytest.raises(v.Refused, match="Pick a date"):
        v.next_action_date("2026-11-21", TODAY)
    with pytest.raises(v.Refused, match="Pick a date"):
        v.next_action_date("2029-01-01", TODAY)
    with pytest.raises(v.Refused, match="Enter a date like"):
        v.next_action_date("24/11/2026", TODAY)


def test_choice():
    assert v.choice("Hot", ("cold", "warm", "hot"), "m") == "hot"
    assert v.choice("", ("cold",), "m") is None
    with pytest.raises(v.Refused, match="m"):
        v.choice("tepid", ("cold",), "m")


# --- the input toolkit: values that must never reach the database -----------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", 1), (" 42 ", 42), (str(v.ID_MAX), v.ID_MAX), (str(v.ID_MAX + 1), None),
     ("9223372036854775808", None), ("9" * 5000, None), ("0", None), ("-3", None),
     ("²", None), ("٣", None), ("1.5", None), ("", None), (None, None)],
)  # fmt: skip
def test_record_id_is_a_positive_integer_that_fits_the_column(raw, expected):
    assert v.record_id(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12500", "12500.00"), ("12,500.5", "12500.50"), ("1 000", "1000.00"), ("", "0"),
     ("999999999999.99", "999999999999.99"), (".5", "0.50")],
)  # fmt: skip
def test_money_reads_amounts_to_the_cent(raw, expected):
    assert str(v.money(raw)) == expected


@pytest.mark.parametrize(
    "raw", ["999999999999.999", "1e12", "1E+999999", "NaN", "Infinity", "-1", "12,5€", "."]
)
def test_money_refuses_what_the_column_cannot_hold(raw):
    with pytest.raises(v.Refused):
        v.money(raw)


@pytest.mark.parametrize("raw", ["0001-01-01", "9999-12-31", "2026-02-30", "20261201", "²"])
def test_day_refuses_impossible_and_far_dates(raw):
    with pytest.raises(v.Refused):
        v.day(raw)


def test_day_and_month_read_iso_forms():
    assert v.day(" 2026-12-24 ") == date(2026, 12, 24)
    assert v.month("2026-12") == date(2026, 12, 1)
    assert v.day("") is None and v.month("") is None
    with pytest.raises(v.Refused):
        v.month("9999-12")


@pytest.mark.parametrize(
    "raw", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "tomorrow", "x" * 100]
)
def test_moment_is_none_for_what_cannot_be_a_capture_time(raw):
    assert v.moment(raw) is None


def test_moment_is_utc():
    assert v.moment("2026-11-29T10:00:00+01:00").isoformat() == "2026-11-29T09:00:00+00:00"


@pytest.mark.parametrize("raw", ["Ann\x00", "\ud800", "a\udfffb"])
def test_text_refuses_characters_no_database_stores(raw):
    with pytest.raises(v.Refused, match="cannot store"):
        v.text(raw, max_length=50)
    with pytest.raises(v.Refused, match="cannot store"):
        v.long_text(raw, max_length=50)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("example.com", "https://example.com"), ("http://example.com/x?y=1", "http://example.com/x?y=1"),
     ("HTTPS://Example.com", "HTTPS://Example.com"), ("", None)],
)  # fmt: skip
def test_url_keeps_web_addresses(raw, expected):
    assert v.url(raw) == expected


@pytest.mark.parametrize(
    "raw", ["javascript://%0aalert(1)", "javascript:alert(1)", "data:text/html,x", "ftp://x.org",
            "https://", "vbscript:msgbox"],
)  # fmt: skip
def test_url_refuses_anything_but_http_and_https(raw):
    with pytest.raises(v.Refused):
        v.url(raw)


def test_integer_bounds():
    assert v.integer("7", low=1, high=365, message="m") == 7
    for raw in ("0", "366", "²", "9" * 5000, "1.0"):
        with pytest.raises(v.Refused):
            v.integer(raw, low=1, high=365, message="m")


def test_chosen_looks_up_only_ids_that_can_name_a_row(db, make_user):
    from quickcrm.models import User

    user = make_user()
    assert v.chosen(db, User, f" {user.id} ") is user
    for raw in ("", None, "0", "²", "9" * 20, str(v.ID_MAX), "1.0"):
        assert v.chosen(db, User, raw) is None, raw


def test_refused_carries_a_message_per_field():
    refused = v.Refused({"name": "Enter a name.", "email": "Enter an email."})
    assert isinstance(refused, v.Refused)
    assert refused.errors == {"name": "Enter a name.", "email": "Enter an email."}
    assert (refused.field, str(refused)) == ("name", "Enter a name.; Enter an email.")


@pytest.mark.parametrize(
    ("raw", "read"),
    [
        ("2026-11-30.1234", (date(2026, 11, 30), 1234)),
        (".17", (None, 17)),
        ("2026-11-30", None),
        ("2026-11-30.", None),
        ("2026-02-30.5", None),
        ("0001-01-01.5", None),
        ("2026-11-30.0", None),
        ("2026-11-30.99999999999", None),
        ("x.5", None),
        (None, None),
    ],
)
def test_a_keyset_position_is_a_date_or_nothing_then_an_id(raw, read):
    assert v.day_and_id(raw) == read
