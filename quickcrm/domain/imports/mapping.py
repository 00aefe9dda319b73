"""What each CSV column becomes: guessed from its header (and a few of its values), chosen
by the admin, checked.

A header is read as a person would read it (``read_header``): prefixes that name the
record (``Person - Name``, ``Organization - Name``) and suffixes that name the part
(``E-mail 1 - Value``) are set aside; ``… - Label`` / ``… - Type`` columns say what kind
another column is and are never a field; a column of identifiers (``Attendee #``,
``Record ID``) is never a name; a phone's or an email's kind (mobile, work, home…) and
number give its place in ``priority``. The usual words of English, French, German,
Spanish, Italian, Dutch and Portuguese are known, without case, accents or punctuation.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from quickcrm.domain import validation as v

IGNORE = "ignore"
# The choices of each kind, in the order the selects list them: field → label.
LEAD_FIELDS = {
    "name": "Name",
    "first_name": "First name",
    "last_name": "Last name",
    "company_name": "Company",
    "email": "Email",
    "phone": "Phone",
    "note": "Note",
    "temperature": "Temperature",
    "next_action_on": "Next action date",
    "source": "Source",
    "categories": "Categories",
    # Issue 29: a business lead's person to ask for, its address, the size of the sale.
    "contact_name": "Contact name",
    "address": "Address",
    "potential_value": "Potential value",
    IGNORE: "Ignore",
}
COMPANY_FIELDS = {
    "company_name": "Company",
    "name": "Name",
    "first_name": "First name",
    "last_name": "Last name",
    "title": "Job title",
    "email": "Email",
    "phone": "Phone",
    "website": "Website",
    "industry": "Industry",
    "address": "Address",
    "categories": "Categories",
    IGNORE: "Ignore",
}
FIELDS = {"leads": LEAD_FIELDS, "companies": COMPANY_FIELDS}
# Fields several columns may go to: their values are kept one after the other.
REPEATABLE = {"note", "address"}
# Fields several columns may go to where a row takes the first non-empty one (in
# ``priority`` order) and keeps the others in its note, with their header.
MULTI = {"email", "phone"}
# Fields whose values are mapped (a Rating of "A" is hot): ``guess_values``.
VALUE_FIELDS = ("temperature",)
NAMES = {"name", "first_name", "last_name"}
RECOGNISED_MAX = 200  # cells of a row looked at to tell a header row
HEADER_CHARS = 200


@dataclass(frozen=True)
class Guess:
    """What a column is guessed to be, and why (shown beside it in the preview)."""

    field: str
    reason: str


# Headers as people write them, folded by ``fold`` (no case, accents, spaces or
# punctuation): "E-mail", "Email address" and "e_mail" all read "email…". Phones and
# emails are read by ``_PHONE`` / ``_EMAIL`` below, with their kind.
VARIANTS = {
    "name": (
        "name", "fullname", "contact", "contactname", "contactperson", "person", "leadname",
        "attendee", "attendeename", "participant", "customername", "displayname",
        "nom", "nomcomplet", "nomprenom", "vollername", "kontakt", "ansprechpartner",
        "nombrecompleto", "contacto", "nomecompleto", "contatto", "naam", "volledigenaam",
        "contactpersoon", "contato", "participante", "teilnehmer", "partecipante",
    ),
    "first_name": (
        "firstname", "first", "givenname", "forename", "prenom", "vorname", "nombre",
        "nome", "voornaam", "primernombre", "primeironome",
    ),
    "last_name": (
        "lastname", "last", "surname", "familyname", "nomdefamille", "nachname",
        "familienname", "apellidos", "apellido", "cognome", "achternaam", "apelido",
        "apelidos", "sobrenome",
    ),
    "company_name": (
        "company", "companyname", "organisation", "organization", "organisationname",
        "organizationname", "org", "employer", "business", "businessname", "account",
        "accountname", "companyaccount", "associatedcompany", "firm", "societe",
        "entreprise", "raisonsociale", "firma", "firmenname", "unternehmen", "empresa",
        "compania", "organizacion", "azienda", "societa", "ditta", "bedrijf",
        "bedrijfsnaam", "organisatie", "companhia", "organizacao",
    ),
    "note": (
        "note", "notes", "comment", "comments", "remark", "remarks", "description",
        "message", "commentaire", "commentaires", "remarque", "remarques", "notiz",
        "notizen", "bemerkung", "bemerkungen", "kommentar", "anmerkung", "notas", "nota",
        "comentario", "comentarios", "observaciones", "commento", "commenti",
        "osservazioni", "opmerking", "opmerkingen", "notitie", "notities", "observacoes",
        "observacao", "comentarios",
    ),
    "temperature": (
        "temperature", "temp", "leadtemperature", "heat", "rating", "leadrating",
        "temperatur", "bewertung", "temperatura", "valoracion", "calificacion",
        "valutazione", "temperatuur", "beoordeling", "classificacao", "avaliacao",
    ),
    "next_action_on": (
        "nextactiondate", "nextaction", "nextactionon", "followup", "followupdate",
        "followupon", "nextstep", "nextstepdate", "duedate", "relance", "wiedervorlage",
        "seguimiento", "richiamo",
    ),
    "source": (
        "source", "leadsource", "event", "eventname", "campaign", "origin", "channel",
        "quelle", "origine", "fuente", "origen", "fonte", "bron", "origem",
    ),
    "title": (
        "title", "jobtitle", "position", "role", "function", "poste", "fonction",
        "designation", "organizationtitle", "berufsbezeichnung", "cargo", "puesto",
        "ruolo", "qualifica", "functie", "funcao",
    ),
    "website": (
        "website", "web", "site", "url", "homepage", "websiteurl", "webpage", "siteweb",
        "siteinternet", "webseite", "sitioweb", "paginaweb", "sitoweb",
    ),
    "industry": ("industry", "sector", "branche", "secteur", "settore", "setor"),
    "categories": (
        "categories", "category", "tags", "tag", "labels", "kategorien", "kategorie",
        "categorie", "categorias", "categoria", "categorieen",
    ),
    "potential_value": (
        "potentialvalue", "potential", "value", "leadvalue", "dealvalue", "dealsize",
        "dealamount", "amount", "estimatedvalue", "expectedvalue", "opportunityvalue",
        "valeur", "montant", "wert", "betrag", "valor", "importe", "valore", "importo",
        "waarde", "bedrag",
    ),
    "address": (
        "address", "street", "streetaddress", "city", "town", "postcode", "zip", "zipcode",
        "postalcode", "zippostalcode", "country", "countryregion", "state",
        "stateprovince", "region", "adresse", "rue", "ville", "codepostal", "pays",
        "strasse", "ort", "plz", "land", "direccion", "calle", "ciudad", "pais",
        "indirizzo", "citta", "cap", "adres", "straat", "plaats", "endereco", "cidade",
        "formatted",
    ),
}  # fmt: skip
_GUESS = {variant: field for field, variants in VARIANTS.items() for variant in variants}

# Phones: the words of a phone column, and the words of its kind, best first.
_PHONE_WORDS = (
    "phone", "phonenumber", "telephone", "telephonenumber", "tel", "telno", "number",
    "telefon", "telefonnummer", "rufnummer", "telefono", "numerodetelefono", "telefone",
    "telefoon", "telefoonnummer", "numerodetelephone", "numero",
)  # fmt: skip
_MOBILE = (
    "mobile", "mobilephone", "cell", "cellular", "cellphone", "handy", "portable", "mobil",
    "mobiltelefon", "movil", "cellulare", "mobiel", "telemovel", "celular", "gsm", "cel",
)  # fmt: skip
_PHONE_KINDS = (
    (_MOBILE, "mobile"),
    (("primary", "main", "principal", "haupt"), "primary"),
    (
        (
            "business", "work", "office", "direct", "company", "companymain", "travail",
            "bureau", "professionnel", "geschaftlich", "dienstlich", "arbeit", "buro",
            "trabajo", "oficina", "lavoro", "ufficio", "werk", "kantoor", "zakelijk",
            "trabalho", "escritorio", "comercial",
        ),
        "work",
    ),
    (("home", "personal", "private", "domicile", "prive", "privat", "casa", "thuis"), "home"),
    (("other", "car", "autre", "andere", "otro", "altro", "overig", "outro"), "other"),
)  # fmt: skip
_PHONE_RANK = {"mobile": 0, "primary": 1, "": 2, "work": 2, "home": 3, "other": 4}
# Not a number to call the person on (or someone else's).
_NOT_A_PHONE = ("fax", "pager", "telex", "isdn", "tty", "radio", "callback", "assistant")

_EMAIL_WORDS = (
    "email", "emails", "emailaddress", "mail", "mailaddress", "courriel", "adressemail",
    "adresseemail", "adresseelectronique", "emailadresse", "correo", "correoelectronico",
    "indirizzoemail", "emailadres", "enderecodeemail", "enderecoeletronico",
)  # fmt: skip
_EMAIL_KINDS = (
    (("primary", "main", "principal"), "primary"),
    (("work", "business", "office", "professionnel", "geschaftlich", "trabajo"), "work"),
    (("home", "personal", "private", "prive", "privat", "personnel", "personale"), "home"),
    (("other", "secondary", "alternate", "autre", "andere", "otro", "altro"), "other"),
)  # fmt: skip
_EMAIL_RANK = {"primary": 0, "": 1, "work": 1, "home": 2, "other": 3}
_NOT_AN_EMAIL = ("optout", "type", "displayname", "status", "bounce", "consent", "format")

# Whose detail a column holds when it is not the person's own (Eventbrite's buyer).
_OTHER_PERSON = ("buyer", "purchaser", "billing", "orderer", "acheteur", "kaufer", "comprador")
_ATTENDEE = ("attendee", "participant", "guest", "teilnehmer", "participante")
_ADDRESS_PREFIX = ("mailing", "billing", "shipping", "business", "postal", "office", "work")
# Prefixes naming the record a column belongs to (Pipedrive, HubSpot, Salesforce).
_PERSON_PREFIX = ("person", "contact", "lead", "people")
_COMPANY_PREFIX = ("organization", "organisation", "org", "company", "account")
# A header that names a column of identifiers: never a name.
_ID_WORDS = ("id", "uid", "uuid", "guid", "leid", "euid")
_ID_FOLDED = (
    "barcode", "ordernumber", "ordernr", "ticketnumber", "attendeenumber",
    "badgenumber", "membernumber", "customernumber", "recordid",
)  # fmt: skip
# A Label / Type column says what kind another column is.
_LABEL_SUFFIX = ("label", "type", "typ", "etiquette", "tipo")
_VALUE_SUFFIX = ("value", "formatted", "valeur", "wert", "valor", "valore", "waarde")
# Words that, beside "Prénom"/"Vorname" and without a last name column, mean the last name;
# beside a last name and without a first name, "Nombre"/"Nome" is the first name.
_LAST_IF_FIRST = ("nom", "name")
# A lead's person to ask for when another column names the lead (issue 29).
_CONTACT_HEADERS = ("contactname", "contactperson", "ansprechpartner", "contactpersoon")
# Mailchimp's engagement stars (1–5), not how hot a lead is.
_NOT_TEMPERATURE = ("memberrating",)


def fold(header: str) -> str:
    """``header`` without case, accents, spaces or punctuation: how it is compared."""
    text = unicodedata.normalize("NFKD", header or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[\W_]+", "", text)


@dataclass(frozen=True)
class Reading:
    """What one header says on its own: its field (or ``IGNORE``), where it ranks among the
    columns of that field (lower first), and why."""

    field: str
    rank: tuple = (0, 0, 0)
    why: str = ""
    known: bool = False  # a header QuickCRM recognises (a field, an id, a label column)


def _strip_kind(text: str, kinds) -> tuple[str, str]:
    """``text`` without the words of a kind at its start or end (longest words first):
    (the rest, the first kind found)."""
    found = ""
    changed = True
    while changed:
        changed = False
        for words, kind in kinds:
            for word in sorted(words, key=len, reverse=True):
                if len(text) > len(word) and text.startswith(word):
                    text, found, changed = text[len(word) :], found or kind, True
                elif len(text) > len(word) and text.endswith(word):
                    text, found, changed = text[: -len(word)], found or kind, True
    return text, found


def _phone(folded: str) -> str | None:
    """The kind of a phone header (``folded``, digits out: "" for a plain phone), or
    ``None`` if it is no phone."""
    if any(word in folded for word in _NOT_A_PHONE):
        return None
    if folded in _MOBILE:
        return "mobile"
    rest, kind = _strip_kind(folded, _PHONE_KINDS)
    if rest in _PHONE_WORDS and (rest not in ("number", "numero") or kind):
        return kind
    return "mobile" if rest in _MOBILE else None


def _email(folded: str) -> str | None:
    """The kind of an email header (as ``_phone``), or ``None`` if it is no email."""
    if any(word in folded for word in _NOT_AN_EMAIL):
        return None
    if folded in _EMAIL_WORDS:
        return ""
    rest, kind = _strip_kind(folded, _EMAIL_KINDS)
    return kind if rest in _EMAIL_WORDS else None


def read_header(header: str) -> Reading:
    """What ``header`` says on its own (``guess_columns`` then weighs the columns)."""
    quoted = f"“{header}”"
    tokens = re.findall(r"#|[^\W_]+", header.casefold())
    whole = fold(header)
    if not whole:
        return Reading(IGNORE, why="not recognised")
    if "#" in tokens or set(tokens) & set(_ID_WORDS) or whole in _ID_FOLDED:
        return Reading(IGNORE, why=f"{quoted} holds identifiers, not names", known=True)
    parts = [p.strip() for p in re.split(r"\s+[-–]\s+|:\s+", header.strip()) if p.strip()]
    entity, whose = "", ""
    if len(parts) > 1 and fold(parts[-1]) in _LABEL_SUFFIX:
        return Reading(
            IGNORE, why=f"{quoted} says what kind another column is, not a value", known=True
        )
    if len(parts) > 1 and fold(parts[-1]) in _VALUE_SUFFIX:
        parts = parts[:-1]
    if len(parts) > 1:
        head = re.sub(r"\d+", "", fold(parts[0]))
        if head in _PERSON_PREFIX:
            entity, parts = "person", parts[1:]
        elif head in _COMPANY_PREFIX:
            entity, parts = "company", parts[1:]
    digits = re.findall(r"\d+", " ".join(parts))
    number = int(digits[0]) if digits else 1
    base = re.sub(r"\d+", "", fold("".join(parts)))
    for word in _OTHER_PERSON:
        if base.startswith(word) and len(base) > len(word):
            base, whose = base[len(word) :], word
            break
    for word in _ATTENDEE:  # "Attendee Email" is the person's own email
        rest = base[len(word) :]
        known = rest in _GUESS or _email(rest) is not None or _phone(rest) is not None
        if base.startswith(word) and rest and known:
            base = rest
            break
    later = 1 if whose else 0
    if base in _NOT_TEMPERATURE:
        return Reading(IGNORE, why=f"{quoted} rates engagement, not a lead", known=True)
    if (kind := _email(base)) is not None:
        return Reading(
            "email", (later, _EMAIL_RANK[kind], number), f"from the header {quoted}", True
        )
    if (kind := _phone(base)) is not None:
        return Reading(
            "phone", (later, _PHONE_RANK[kind], number), f"from the header {quoted}", True
        )
    field = _GUESS.get(base, IGNORE)
    for word in _ADDRESS_PREFIX:  # "Mailing Street", "Business City"
        if field == IGNORE and base.startswith(word):
            field = "address" if _GUESS.get(base[len(word) :]) == "address" else IGNORE
    if entity == "company":
        # "Organization - Name" is the company's name; its people are not this person.
        field = {"name": "company_name", "company_name": "company_name"}.get(field, field)
        if field in NAMES:
            field = IGNORE
    if field == IGNORE:
        return Reading(IGNORE, why="not recognised")
    why = f"from the header {quoted}"
    if whose:
        why += f" (the {whose}’s, used only when the person’s own is missing)"
    return Reading(field, (later, 0, number), why, True)


def recognised(headers: list[str]) -> int:
    """How many of ``headers`` QuickCRM recognises: how header-like a row is (the first
    ``RECOGNISED_MAX`` cells, each cut to ``HEADER_CHARS``: a hostile row costs no more)."""
    cells = (header[:HEADER_CHARS] for header in headers[:RECOGNISED_MAX])
    return sum(1 for header in cells if header.strip() and read_header(header).known)


_CODE = re.compile(r"^[#\w./:-]*\d[#\w./:-]*$")


def _identifiers(values: list[str]) -> bool:
    """Whether a column's values (some first rows) are numbers or codes, not names."""
    values = [value.strip() for value in values if value.strip()]
    return bool(values) and all(
        _CODE.match(value) and not re.search(r"[a-z]{3}", value) for value in values
    )


def guess_columns(
    headers: list[str], kind: str = "leads", rows: list[list[str]] | None = None
) -> list[Guess]:
    """The field of each column, guessed from its header (and ``rows``, some of the file's
    first data rows), with the reason. A field goes to its best column (the person's own
    before a buyer's, the first of equals), except the repeatable ones (every column)
    and the MULTI ones (every column, read in ``priority`` order)."""
    allowed = FIELDS[kind]
    readings = [read_header(header) for header in headers]
    fields = [r.field if r.field in allowed else IGNORE for r in readings]
    reasons = [
        r.why if r.field in allowed else f"“{header}”: {kind} have no such field"
        for header, r in zip(headers, readings, strict=True)
    ]
    if kind == "companies":
        for i, field in enumerate(fields):
            if field == "source":
                fields[i], reasons[i] = IGNORE, "not recognised"
    # A column of numbers or codes is never a name.
    for i, field in enumerate(fields):
        column = [row[i] for row in rows or [] if i < len(row)]
        if field in (*NAMES, "company_name") and _identifiers(column):
            fields[i] = IGNORE
            reasons[i] = f"“{headers[i]}” holds identifiers, not names"
    # A lead file with a name and a "Contact name" (exported by QuickCRM, or a list of
    # businesses): the contact's column is the person to ask for, not a second name.
    if kind == "leads":
        for i, field in enumerate(fields):
            others = [f for j, f in enumerate(fields) if j != i and f in NAMES]
            if field == "name" and fold(headers[i]) in _CONTACT_HEADERS and others:
                fields[i] = "contact_name"
                reasons[i] = f"“{headers[i]}” beside a name: the person to ask for"
    # "Nom" beside "Prénom", "Nombre" beside "Apellidos".
    if "first_name" in fields and "last_name" not in fields:
        for i, field in enumerate(fields):
            if field == "name" and fold(headers[i]) in _LAST_IF_FIRST:
                fields[i] = "last_name"
                first = headers[fields.index("first_name")]
                reasons[i] = f"“{headers[i]}” beside “{first}”: the last name"
                break
    if "last_name" in fields and "first_name" not in fields:
        for i, field in enumerate(fields):
            if field == "name" and fold(headers[i]) in VARIANTS["first_name"]:
                fields[i] = "first_name"
                last = headers[fields.index("last_name")]
                reasons[i] = f"“{headers[i]}” beside “{last}”: the first name"
                break
    # A buyer's email or phone is no fallback for the attendee's own: it would make the
    # attendee a duplicate of the buyer.
    own = {fields[i] for i in range(len(headers)) if not readings[i].rank[0]}
    for i, field in enumerate(fields):
        if field in MULTI and readings[i].rank[0] and field in own:
            fields[i] = IGNORE
            reasons[i] = f"“{headers[i]}” is another person’s, not this one’s"
    order = sorted(range(len(headers)), key=lambda i: (readings[i].rank, i))
    seen: dict[str, list[int]] = {}
    for i in order:
        field = fields[i]
        if field == IGNORE or field in REPEATABLE:
            continue
        earlier = seen.setdefault(field, [])
        if earlier and field in MULTI:
            noun = allowed[field].casefold()
            reasons[i] = (
                f"“{headers[i]}” after “{headers[earlier[-1]]}”: the first {noun} found is "
                "used, the others go to the note"
            )
        elif earlier:
            fields[i] = IGNORE
            reasons[i] = f"{allowed[field]} comes from “{headers[earlier[0]]}”"
            continue
        earlier.append(i)
    return [Guess(field, reason) for field, reason in zip(fields, reasons, strict=True)]


def guess(
    headers: list[str], kind: str = "leads", rows: list[list[str]] | None = None
) -> list[str]:
    """The field of each column (``guess_columns`` without the reasons)."""
    return [g.field for g in guess_columns(headers, kind, rows)]


def priority(headers: list[str], columns: list[int]) -> list[int]:
    """``columns`` (indexes of ``headers`` chosen for one MULTI field) in the order a row
    reads them: mobile before work before home before other phones, E-mail 1 before
    E-mail 2, the person's own before a buyer's; else as in the file."""
    return sorted(columns, key=lambda i: (read_header(headers[i]).rank, i))


# What a temperature cell says, folded: the usual words of the seven languages.
_TEMPERATURE_WORDS = {
    "hot": (
        "hot", "a", "3", "high", "chaud", "haut", "eleve", "elevee", "fort", "heiss", "hoch",
        "caliente", "alto", "alta", "caldo", "heet", "hoog", "quente", "hotlead", "3stars",
        "3star", "veryhigh",
    ),
    "warm": (
        "warm", "b", "2", "medium", "med", "moyen", "moyenne", "tiede", "mittel", "lauwarm",
        "templado", "tibio", "medio", "media", "tiepido", "lauw", "gemiddeld", "middel",
        "morno", "2stars", "2star",
    ),
    "cold": (
        "cold", "c", "1", "low", "froid", "froide", "bas", "basse", "faible", "kalt",
        "niedrig", "frio", "fria", "bajo", "baja", "freddo", "basso", "bassa", "koud", "laag",
        "baixo", "baixa", "1star", "1stars",
    ),
}  # fmt: skip
_TEMPERATURE = {word: value for value, words in _TEMPERATURE_WORDS.items() for word in words}
_STARS = {1: "cold", 2: "warm", 3: "hot"}
_STAR_CHARS = "★☆⭐*"


def guess_value(field: str, value: str) -> str | None:
    """What one value of a ``field`` column means (``None``: nothing QuickCRM knows)."""
    if field != "temperature":
        return None
    text = value.strip()
    stars = sum(text.count(ch) for ch in "★⭐*")
    if stars and not text.strip(_STAR_CHARS + " "):
        return _STARS.get(stars)
    folded = fold(text)
    folded = re.sub(r"(etoiles?|sterne?|estrellas?|stelle|sterren|estrelas?)$", "stars", folded)
    return _TEMPERATURE.get(folded)


def guess_values(field: str, values: list[str]) -> dict[str, str | None]:
    """What each distinct value of a ``field`` column (as in the file, stripped) is stored
    as; ``None`` where it means nothing QuickCRM knows."""
    return {value.strip(): guess_value(field, value) for value in values}


def check(chosen: list[str | None], headers: list[str], kind: str = "leads") -> list[str]:
    """The chosen field of each column, or ``validation.Refused``: an unknown choice, a
    field chosen for two columns (except the repeatable and MULTI ones), no name (leads:
    Name, or First and/or Last name; companies: Company). Its messages are keyed by the
    form's inputs (``column_3``, and ``column`` for the mapping as a whole), its ``detail``
    by column index (``None``)."""
    allowed = FIELDS[kind]
    errors: dict[int | None, str] = {}
    fields = []
    for index, field in enumerate(chosen):
        if field not in allowed:
            errors[index] = "Choose what this column is, or Ignore."
            field = IGNORE
        fields.append(field)
    for index, field in enumerate(fields):
        if field in (IGNORE, *REPEATABLE, *MULTI):
            continue
        others = [headers[i] for i, f in enumerate(fields) if f == field and i != index]
        if others:
            errors[index] = (
                f"{allowed[field]} is also chosen for “{others[0]}”: choose it for one column."
            )
    named = set(fields) & NAMES
    if kind == "leads" and not named:
        errors[None] = "Choose the column with the name: Name, or First name and Last name."
    if kind == "companies" and "company_name" not in fields:
        errors[None] = "Choose the column with the company's name: Company."
    if errors:
        by_input = {("column" if key is None else f"column_{key}"): m for key, m in errors.items()}
        raise v.Refused(by_input, detail=errors)
    return fields
