"""From the lines of text read off a business card to a lead's fields.

A plain function over strings: the OCR (quickcrm/services/ocr.py) gives the lines top to bottom;
``read_card`` tells the email, website and phone by their shape, the address by its words
and numbers, the title by a list of job words in several languages, the company by its
legal form or the email's domain, and the person's name by what is left (and by the
email's local part). It mends what the OCR model gets wrong on cards: words run together
("BRIGHTWAVETECHNOLOGIESLTD", "Headof Sales"), an email and a website on one line, and
accents dropped ("Muller" for "Müller", restored when the email spells "mueller").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import phonenumbers

from quickcrm.domain.cards import words as w

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
WEB = re.compile(
    r"(?<![\w@.])(?:https?://)?(?:www\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,6}"
    r"(?:/[^\s,;]*)?(?![\w@])"
)
WEB_TLDS = frozenset(
    {"com", "net", "org", "io", "co", "eu", "biz", "info", "app", "dev", "tech", "ai", "shop"}
    | set(w.TLD_REGIONS)
)
LABEL = re.compile(
    r"^\s*(?:e-?mail|mail|email|web|website|internet|url|www:|tel|tél|telephone|téléphone|"
    r"telefon|phone|ph|mobile|mobil|mob|cell|handy|portable|office|direct|fax|"
    r"[tmpfdwe])\s*[.:]?\s*(?=[+(\d\w])",
    re.IGNORECASE,
)
FAX = re.compile(r"^\s*(?:fax|f)\b\s*[.:]?", re.IGNORECASE)
UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b")
US_ZIP = re.compile(r"\b[A-Z]{2}\s*\d{5}(?:-\d{4})?\b")
POSTCODE = re.compile(r"\b(?:[A-Z]{1,2}-)?\d{4,5}\b")
SEPARATORS = re.compile(r"\s+[|•·]\s+|\s*\|\s*|\s+[/–—-]\s+")
# Legal forms too short to be told from a word's end when glued to it.
AMBIGUOUS = frozenset({"co", "as", "se", "sa", "ab", "ag", "eg", "ev", "kk", "sl"})
NAME_PARTICLES = w.words("van von der den de da di du le la del mc mac bin ter ten zu")


@dataclass
class Card:
    """What a card says, as far as it could be read."""

    name: str | None = None
    company: str | None = None
    title: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    region: str | None = None
    lines: list[str] = field(default_factory=list)

    def note(self) -> str:
        """The title and website, for the lead's note (a lead has no fields for them)."""
        return "\n".join(part for part in (self.title, self.website) if part)

    def any(self) -> bool:
        return any((self.name, self.company, self.email, self.phone, self.title, self.website))


def fold(text: str) -> str:
    """Lower-case, accents removed: how two spellings of one word are compared."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("ß", "ss")


def _tokens(text: str) -> list[str]:
    return [fold(t).strip(".,:;()'’") for t in text.split()]


def read_card(lines: Sequence[str | tuple[str, float]], *, region: str | None = None) -> Card:
    """The fields of a card from its text lines, top to bottom; a line may come with the
    height of its letters (the OCR's box), which helps to find the name. ``region`` is the
    ISO country for local phone numbers when the card's address does not tell."""
    heights: dict[int, float] = {}
    texts: list[str] = []
    for line in lines:
        text, height = (line, 0.0) if isinstance(line, str) else line
        text = re.sub(r"\s+", " ", unicodedata.normalize("NFC", text or "")).strip()
        if text:
            heights[len(texts)] = float(height or 0)
            texts.append(text)
    card = Card(lines=list(texts))

    segments: list[tuple[int, str]] = []
    for index, text in enumerate(texts):
        text = re.sub(r"\s*@\s*", "@", text)
        card_email, card_web, rest = _email_and_web(text)
        card.email = card.email or card_email
        card.website = card.website or card_web
        for part in SEPARATORS.split(rest):
            if part.strip(" ,;:"):
                segments.append((index, part.strip(" ,;:")))

    stem = _domain_stem(card.email, card.website)
    card.region = _region(texts, card.email, card.website) or (region or None)
    leftover: list[tuple[int, str]] = []
    for index, segment in segments:
        phone = _phone(segment, card.region)
        if phone is not None:
            if phone[1] and card.phone is None:
                card.phone = phone[0]
            continue
        if _is_address(segment):
            continue
        leftover.append((index, _unglue(segment, stem)))

    _classify(card, leftover, heights, stem)
    if card.name:
        card.name = _restore_accents(_person_case(card.name), card.email)
    if card.title:
        card.title = " ".join(_accented_title_word(token) for token in card.title.split())
    if card.email and card.name:
        card.email = _mend_email(card.email, card.name)
    return card


def _accented_title_word(token: str) -> str:
    """ "Geschaftsfuhrer" (the OCR dropped the umlauts) → "Geschäftsführer"."""
    accented = w.ACCENTED_TITLES.get(token.lower())
    if accented is None:
        return token
    return accented[:1].upper() + accented[1:] if token[:1].isupper() else accented


def _mend_email(email: str, name: str) -> str:
    """An initial the OCR misread: "1.schneider@…" or "i.schneider@…" for Lukas Schneider."""
    local, domain = email.split("@", 1)
    initials = {fold(t)[:1] for t in name.split()}
    if not local or local[0] in initials or local[1:2] not in (".", "_", "-"):
        return email
    for wrong, letter in (("1", "l"), ("i", "l"), ("|", "l"), ("0", "o")):
        if local[0] == wrong and letter in initials:
            return f"{letter}{local[1:]}@{domain}"
    return email


# --- email, website --------------------------------------------------------------------


def _email_and_web(text: str) -> tuple[str | None, str | None, str]:
    """The email and website on a line (glued or not), and the rest of the line."""
    email = website = None
    match = EMAIL.search(text)
    if match:
        local, domain = match.group().split("@", 1)
        local = re.sub(r"^(?i:e-?mail|mail)[:.]?", "", local) or local
        glued = re.search(r"(?i)(?<=[a-z])(www\.|https?://)", domain)
        if glued:
            website = _clean_web(domain[glued.start() :])
            domain = domain[: glued.start()].rstrip(".")
        # a word glued after the domain starts with a capital: "….co.ukLondon"
        capital = re.search(r"(?<=[a-z])[A-Z]", domain)
        after = ""
        if capital:
            domain, after = domain[: capital.start()], domain[capital.start() :]
        email = f"{local}@{domain}".lower().strip(".")
        text = text[: match.start()] + " " + after + " " + text[match.end() :]
    for found in WEB.finditer(text):
        candidate = found.group()
        tld = candidate.split("/")[0].rsplit(".", 1)[-1].lower()
        if candidate.lower().startswith(("www.", "http")) or (
            tld in WEB_TLDS and candidate.count(".") >= 1 and not candidate[0].isupper()
        ):
            website = website or _clean_web(candidate)
            text = text.replace(candidate, " ")
    return email, website, LABEL.sub("", text).strip() if (email or website) else text


def _clean_web(text: str) -> str:
    return re.sub(r"^https?://", "", text.strip().rstrip("/.,").lower())


def _domain_stem(email: str | None, website: str | None) -> str | None:
    """The distinctive part of the company's domain: "brightwave" of brightwave.co.uk."""
    host = website.split("/")[0] if website else (email.split("@")[1] if email else None)
    if not host:
        return None
    labels = [part for part in host.split(".") if part and part != "www"]
    while len(labels) > 1 and (labels[-1] in WEB_TLDS or len(labels[-1]) <= 3):
        labels.pop()
    stem = fold(labels[0]).replace("-", "") if labels else ""
    webmail = {"gmail", "googlemail", "yahoo", "hotmail", "outlook", "gmx", "web", "icloud"}
    return stem if len(stem) >= 3 and stem not in webmail else None


# --- phone, address, region ------------------------------------------------------------


def _phone(segment: str, region: str | None) -> tuple[str, bool] | None:
    """(the phone number in international format, whether it is not a fax) when
    ``segment`` is mostly a phone number; ``None`` otherwise."""
    digits = sum(ch.isdigit() for ch in segment)
    if digits < 6 or digits < len(re.sub(r"\W", "", segment)) * 0.5:
        return None
    number = LABEL.sub("", segment)
    number = re.sub(r"(?<=\d)[oO](?=\d)", "0", number)
    for match in phonenumbers.PhoneNumberMatcher(
        number, region or "ZZ", leniency=phonenumbers.Leniency.POSSIBLE
    ):
        formatted = phonenumbers.format_number(
            match.number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
        return formatted, not FAX.match(segment)
    return None


def _is_address(segment: str) -> bool:
    folded = _tokens(segment)
    has_digit = any(ch.isdigit() for ch in segment)
    if has_digit and any(t in w.ADDRESS_WORDS for t in folded):
        return True
    if has_digit and re.search(r"(?:straße|strasse|str\.|weg|platz|allee|gasse)\b", fold(segment)):
        return True
    if UK_POSTCODE.search(segment) or US_ZIP.search(segment):
        return True
    if POSTCODE.search(segment) and len(folded) <= 5 and not _title_score(segment):
        return True
    joined = " ".join(folded)
    return joined in w.COUNTRIES or joined in w.CITIES


def _region(texts: list[str], email: str | None, website: str | None) -> str | None:
    """The card's country: from its address (a country, a city, a postcode's shape), else
    from the domain's country code."""
    for text in texts:
        folded = " " + " ".join(_tokens(text)) + " "
        for name, code in (*w.COUNTRIES.items(), *w.CITIES.items()):
            if f" {name} " in folded:
                return code
        if UK_POSTCODE.search(text):
            return "GB"
        if US_ZIP.search(text):
            return "US"
    for host in (website, email.split("@")[1] if email else None):
        if host:
            tld = host.split("/")[0].rsplit(".", 1)[-1]
            if tld in w.TLD_REGIONS:
                return w.TLD_REGIONS[tld]
    return None


# --- words run together ------------------------------------------------------------------


def _unglue(segment: str, stem: str | None) -> str:
    """Put back the spaces the OCR dropped: "Headof Sales" → "Head of Sales",
    "BRIGHTWAVETECHNOLOGIESLTD" → "BRIGHTWAVE TECHNOLOGIES LTD"."""
    out = []
    for token in segment.split():
        # a lower-case letter followed by a capital starts a new word (not "McDonald")
        token = re.sub(r"(?<=[a-zäöüéèàç]{2})(?=[A-ZÄÖÜÉ][a-zäöüéèàç])", " ", token)
        for piece in token.split():
            out.append(_split_run(piece, stem))
    return " ".join(out)


def _split_run(token: str, stem: str | None) -> str:
    word = fold(token)
    if len(word) < 5 or not word.isalpha() or word in w.VOCABULARY or word in w.LEGAL_SUFFIXES:
        return token
    pieces = _segment(word)
    if pieces is None:
        pieces = _segment_with_prefix(word, stem)
    if pieces is None or len(pieces) < 2:
        return token
    # cut the original token (accents and case kept) at the same places
    out, at = [], 0
    for piece in pieces:
        out.append(token[at : at + len(piece)])
        at += len(piece)
    if token[0].isupper() and not token.isupper():
        out = [
            p if i == 0 or fold(p) not in w.TITLE_JOINERS else p.lower() for i, p in enumerate(out)
        ]
    return " ".join(out)


def _known(piece: str) -> bool:
    return piece in w.VOCABULARY or piece in w.LEGAL_SUFFIXES


def _segment(word: str) -> list[str] | None:
    """``word`` cut into known words (fewest pieces), or ``None``."""
    best: list[list[str] | None] = [[]] + [None] * len(word)
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 20), end):
            head = best[start]
            piece = word[start:end]
            if (
                head is not None
                and _known(piece)
                and (len(piece) > 1 or piece == "a")
                and (best[end] is None or len(head) + 1 < len(best[end]))
            ):
                best[end] = [*head, piece]
    found = best[len(word)]
    # a split into short joiners only ("de" + "la" …) is a name, not run-together words
    if found and any(len(p) >= 4 or p in w.LEGAL_SUFFIXES for p in found):
        return found
    return None


def _segment_with_prefix(word: str, stem: str | None) -> list[str] | None:
    """An unknown first word (the company's own name) then known words ending in a legal
    form or a company word: "brightwavetechnologiesltd"."""
    if stem and word.startswith(stem) and len(word) > len(stem):
        after = word[len(stem) :]
        rest = _segment(after) or ([after] if _known(after) else None)
        if rest is None:
            # an unknown word between the company's name and its legal form
            legal = next(
                (x for x in w.LEGAL_SUFFIXES if after.endswith(x) and x not in AMBIGUOUS), None
            )
            if legal and len(after) > len(legal) + 2:
                rest = [after[: -len(legal)], legal]
        if rest:
            return [stem, *rest]
    for start in range(3, len(word) - 1):
        rest = word[start:]
        pieces = _segment(rest) or ([rest] if _known(rest) else None)
        last = pieces[-1] if pieces else ""
        if (last in w.LEGAL_SUFFIXES or last in w.COMPANY_WORDS) and last not in AMBIGUOUS:
            return [word[:start], *pieces]
    return None


# --- name, company, title -------------------------------------------------------------------


def _title_score(text: str) -> float:
    tokens = [t for t in _tokens(text) if t]
    if not tokens:
        return 0.0
    titled = sum(t in w.TITLE_WORDS for t in tokens)
    if not titled:
        return 0.0
    joined = sum(t in w.TITLE_JOINERS for t in tokens)
    return (titled + joined) / len(tokens)


def _is_legal(token: str) -> bool:
    return fold(token).replace(".", "").strip(",") in w.LEGAL_SUFFIXES


def _company_score(text: str, stem: str | None) -> float:
    tokens = text.split()
    score = 0.0
    if len(tokens) > 1 and (_is_legal(tokens[-1]) or (len(tokens) > 2 and _is_legal(tokens[-2]))):
        score += 3
    squashed = re.sub(r"[^a-z0-9]", "", fold(text))
    if stem and (stem in squashed or (len(squashed) >= 4 and squashed in stem)):
        score += 2.5
    if any(t in w.COMPANY_WORDS for t in _tokens(text)):
        score += 1
    if "&" in text:
        score += 0.5
    return score


def _name_score(text: str, email: str | None) -> float:
    tokens = text.split()
    if not 2 <= len(tokens) <= 4 or any(ch.isdigit() for ch in text) or "&" in text:
        return 0.0
    words = [t for t in tokens if fold(t).strip(".") not in NAME_PARTICLES]
    if not words or not all(re.fullmatch(r"[^\W\d_][\w.'’-]*", t) for t in tokens):
        return 0.0
    if not all(t[0].isupper() for t in words):
        return 0.0
    if any(fold(t).strip(".") in w.TITLE_WORDS for t in tokens if fold(t) not in ("dr", "dr.")):
        return 0.0
    score = 1.0
    if email:
        local = fold(email.split("@")[0])
        parts = [fold(t).strip(".") for t in words]
        parts_ascii = [re.sub(r"[^a-z]", "", p) for p in parts]
        # "mueller" spells "Müller", which the OCR may have read as "Muller"
        plain = local.replace("ae", "a").replace("oe", "o").replace("ue", "u")
        if any(len(p) >= 3 and (p in local or p in plain) for p in parts_ascii):
            score += 3
        elif (
            len(parts_ascii) >= 2
            and local.startswith(parts_ascii[0][:1])
            and (parts_ascii[-1][:4] in local)
        ):
            score += 2
    return score


def _split_title(index: int, text: str) -> list[tuple[int, str]]:
    """ "Jane Doe, Head of Sales" → the name and the title apart."""
    parts = [p.strip() for p in re.split(r",\s+|\s+[-–]\s+", text) if p.strip()]
    if len(parts) > 1 and any(_title_score(p) >= 0.5 for p in parts):
        return [(index, p) for p in parts]
    return [(index, text)]


def _classify(
    card: Card, leftover: list[tuple[int, str]], heights: dict[int, float], stem: str | None
) -> None:
    candidates = [part for index, text in leftover for part in _split_title(index, text)]
    used: set[int] = set()

    titles = [
        (i, k) for k, (i, text) in enumerate(candidates)
        if _title_score(text) >= 0.6 and _company_score(text, stem) < 2.5
    ]  # fmt: skip
    if titles:
        first = titles[0][1]
        parts = [candidates[first][1]]
        used.add(first)
        # a title on two lines: the next line is one too
        for _, k in titles[1:2]:
            if k == first + 1 and candidates[k][0] == candidates[first][0] + 1:
                parts.append(candidates[k][1])
                used.add(k)
        card.title = " ".join(parts)

    companies = sorted(
        (
            (_company_score(text, stem), -k, k)
            for k, (_, text) in enumerate(candidates)
            if k not in used
        ),
        reverse=True,
    )
    if companies and companies[0][0] >= 2.5:
        k = companies[0][2]
        card.company = _company_display(candidates[k][1])
        used.add(k)

    tallest = max(heights.values(), default=0.0)
    names = []
    for k, (index, text) in enumerate(candidates):
        if k in used:
            continue
        score = _name_score(text, card.email)
        if score:
            if tallest and heights.get(index, 0) >= 0.9 * tallest:
                score += 0.5
            names.append((score, -k, k))
    if names:
        k = max(names)[2]
        card.name = candidates[k][1]
        used.add(k)

    if card.company is None:
        # A name without a legal form: a line with a company word, else the first line
        # left that is not the person's (often the logo's words at the top).
        rest = [
            (score, -k, k) for score, _, k in companies if k not in used and score >= 1
        ] or [
            (0, -k, k)
            for k, (_, text) in enumerate(candidates)
            if k not in used and _title_score(text) == 0 and len(text) >= 2
            and sum(ch.isalpha() for ch in text) >= 2
        ]  # fmt: skip
        if rest:
            card.company = _company_display(candidates[max(rest)[2]][1])


def _company_display(text: str) -> str:
    return text.strip(" ,;")


def _person_case(name: str) -> str:
    """A name printed in capitals, as a person writes it: "JANE DOE" → "Jane Doe"."""
    if not name.isupper():
        return name
    return " ".join(
        "-".join(part[:1] + part[1:].lower() for part in token.split("-")) for token in name.split()
    )


def _restore_accents(name: str, email: str | None) -> str:
    """Umlauts the OCR dropped, when the email spells them out: "Muller" with
    "j.mueller@…" is "Müller"."""
    if not email:
        return name
    local_parts = re.split(r"[._-]", fold(email.split("@")[0]))
    out = []
    for token in name.split():
        plain = fold(token)
        fixed = token
        for part in local_parts:
            if len(part) < 4 or part == plain:
                continue
            restored = part.replace("ae", "ä").replace("oe", "ö").replace("ue", "ü")
            if restored != part and fold(restored).replace("ä", "a") == plain:
                fixed = token[0] + restored[1:] if token[0].isupper() else restored
                break
        out.append(fixed)
    return " ".join(out)
