"""The leads list over HTTP: who sees which leads, filters and search in the URL, the
next-action order, review mode."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import time_machine

from quickcrm.models import Activity
from tests import factories


def test_rep_sees_only_own_leads(client, db, rep, make_user):
    other = make_user("other@example.com", "rep", "Olga Other")
    mine = factories.lead(db, rep, name="Mine Person")
    theirs = factories.lead(db, other, name="Theirs Person")
    page = client.get("/leads/").get_data(as_text=True)
    assert "Mine Person" in page and "Theirs Person" not in page
    assert client.get(f"/leads/{theirs.id}").status_code == 403
    assert client.get(f"/leads/{mine.id}").status_code == 200


def test_filters_and_search_live_in_the_url(client, db, coordinator):
    factories.lead(db, coordinator, name="Hot Harry", temperature="hot", source="Expo")
    factories.lead(
        db, coordinator, name="Cold Carla", temperature="cold", note="met at the expo stand"
    )
    page = client.get("/leads/?temperature=hot").get_data(as_text=True)
    assert "Hot Harry" in page and "Cold Carla" not in page
    page = client.get("/leads/?q=expo+stand").get_data(as_text=True)
    assert "Cold Carla" in page and "Hot Harry" not in page
    fragment = client.get("/leads/?q=harry", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Hot Harry" in fragment and "<html" not in fragment


def test_any_typed_search_answers_a_list(client, db, coordinator):
    factories.lead(db, coordinator, name='The "Best" Co', note="100% sure, NEAR(the) stand*")
    typed = ['"', '""', '"Best"', "NEAR(", "stand*", "*", "AND", "OR NOT -x", "^", "a:b",
             "\\", "%", "_", "'", "(", ")", "é", "💥💥💥", "x" * 500]  # fmt: skip
    for q in typed:
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get("/leads/", query_string={"q": q}, headers=headers)
            assert response.status_code == 200, (q, headers)
        assert client.get("/leads/review", query_string={"q": q}).status_code == 200, q
    page = client.get("/leads/", query_string={"q": '"best" co'}).get_data(as_text=True)
    assert "The &#34;Best&#34; Co" in page
    # A NUL cannot be typed, and no database stores it: refused with a message.
    for q in ("\x00", "x\x00y"):
        response = client.get("/leads/", query_string={"q": q})
        assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)


def a_wednesday_ahead() -> date:
    """A Wednesday a week or two ahead (the clock only moves forward: a signed session
    cookie from the past is refused)."""
    day = date.today() + timedelta(days=7)
    return day + timedelta(days=(2 - day.weekday()) % 7)


def test_next_action_filter_and_sort_follow_the_earliest_open_action(client, db, coordinator):
    today = a_wednesday_ahead()
    for name, due in (
        ("Next week Ned", 6),
        ("Later Lou", 3),
        ("Overdue Olga", -2),
        ("Today Tom", 0),
        ("None Nils", None),
    ):
        lead = factories.lead(db, coordinator, name=name)
        if due is not None:
            db.add(Activity(kind="task", text="Call", due_on=today + timedelta(days=due), lead=lead,
                            author=coordinator))  # fmt: skip
    db.commit()

    def names(url):
        with time_machine.travel(datetime.combine(today, time(12), UTC), tick=False):
            page = client.get(url).get_data(as_text=True)
        return re.findall(r'<a href="/leads/\d+">([^<]+)</a>', page)

    assert names("/leads/?sort=next") == [
        "Overdue Olga", "Today Tom", "Later Lou", "Next week Ned", "None Nils"
    ]  # fmt: skip
    assert names("/leads/?due=overdue") == ["Overdue Olga"]
    assert names("/leads/?due=today") == ["Today Tom"]
    # This week: from today (a Wednesday) to Sunday, the last day of a week from Monday.
    assert names("/leads/?due=week&sort=next") == ["Today Tom", "Later Lou"]
    assert names("/leads/?due=none") == ["None Nils"]
    page = client.get("/leads/review?sort=next&at=5").get_data(as_text=True)
    assert "5 of 5" in page and "None Nils" in page


def test_review_mode_steps_through_the_filtered_list(client, db, coordinator):
    for name in ("Ann", "Ben", "Cat"):
        factories.lead(db, coordinator, name=name, source="Expo")
    factories.lead(db, coordinator, name="Dan", source="Web")
    page = client.get("/leads/review?source=Expo&sort=name&at=2").get_data(as_text=True)
    assert "2 of 3" in page and "Ben" in page


def media(page: str) -> tuple[list[str], list[str], list[str]]:
    """The attachment addresses a page links, shows as an image, and plays."""
    return (
        re.findall(r'<a href="(/attachments/\d+)"', page),
        re.findall(r'<img class="card-thumb" src="(/attachments/\d+)"', page),
        re.findall(r'<audio controls[^>]*>\s*<source src="(/attachments/\d+)"', page),
    )


def test_review_mode_shows_the_card_photo_and_plays_the_voice_note(client, db, coordinator):
    carded = factories.lead(db, coordinator, name="Ann Card", source="Expo")
    photo = factories.attachment(db, carded, "card_photo")
    voice = factories.attachment(db, carded, "voice_note")
    factories.lead(db, coordinator, name="Ben Bare", source="Expo")

    page = client.get("/leads/review?source=Expo&sort=name&at=1").get_data(as_text=True)
    assert "Ann Card" in page
    links, images, players = media(page)
    assert links == images == [f"/attachments/{photo.id}"]
    assert players == [f"/attachments/{voice.id}"]
    # What it has is shown above: the empty timeline says nothing.
    assert "Nothing on the timeline yet" not in page
    played = client.get(players[0])
    assert played.status_code == 200 and played.mimetype == "audio/ogg"

    bare = client.get("/leads/review?source=Expo&sort=name&at=2").get_data(as_text=True)
    assert "Ben Bare" in bare and media(bare) == ([], [], [])
    assert "Card photo and voice notes" not in bare and "Nothing on the timeline yet" in bare


def test_a_rep_reviews_their_own_voice_notes_and_no_one_elses(client, db, rep, make_user):
    mine = factories.lead(db, rep, name="Mine Person")
    voice = factories.attachment(db, mine, "voice_note")
    other = make_user("other@example.com", "rep", "Olga Other")
    theirs = factories.attachment(db, factories.lead(db, other, name="Theirs Person"))
    page = client.get("/leads/review").get_data(as_text=True)
    assert "1 of 1" in page and media(page)[2] == [f"/attachments/{voice.id}"]
    assert client.get(f"/attachments/{voice.id}").status_code == 200
    assert client.get(f"/attachments/{theirs.id}").status_code == 403
