"""Word lists the card reader uses to tell a title, a company and an address apart."""

from __future__ import annotations

import unicodedata


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Legal forms that end (or start) a company's name, lower-case, without dots.
LEGAL_SUFFIXES = (
    "gmbh", "ag", "kg", "ohg", "ug", "mbh", "ltd", "limited", "plc", "llp", "llc", "inc",
    "incorporated", "corp", "corporation", "co", "company", "sa", "sas", "sarl", "sàrl",
    "eurl", "sasu", "bv", "nv", "spa", "srl", "sl", "slu", "oy", "ab", "as", "asa", "aps",
    "pty", "pvt", "kft", "sro", "zrt", "se", "eg", "ev", "lda", "ltda", "kk",
)  # fmt: skip

# Words of job titles, in English, German, French, Spanish, Italian and Dutch.
TITLE_WORDS = words(
    """
    ceo cto cfo coo cmo cio cso cro vp svp evp md gm
    head chief officer director manager lead leader senior junior principal associate
    president vice founder cofounder co-founder owner partner chairman chair board
    sales marketing business development account accounts executive key customer success
    engineer engineering developer software consultant consulting specialist analyst
    architect designer advisor adviser representative rep agent coordinator assistant
    administrator officer buyer purchasing procurement operations product project
    regional national international global area territory channel technical support
    service services finance financial hr human resources legal counsel secretary
    communications logistics supply chain quality team research scientist doctor
    professor dr intern trainee administrator accountant controller treasurer
    geschäftsführer geschaftsfuhrer geschäftsführerin geschaftsfuhrerin leiter leiterin
    vertrieb vertriebsleiter vertriebsleiterin verkauf verkaufsleiter einkauf inhaber
    inhaberin prokurist prokuristin berater beraterin vorstand abteilungsleiter
    projektleiter projektleiterin referent referentin mitarbeiter mitarbeiterin
    außendienst aussendienst innendienst kundenbetreuer kundenbetreuerin
    directeur directrice responsable commercial commerciale gérant gerant gérante
    ingénieur ingenieur chef chargé charge chargée d'affaires affaires conseiller
    conseillère président presidente fondateur fondatrice associé associe
    director directora gerente jefe jefa ventas comercial ejecutivo ejecutiva
    cuentas ingeniero ingeniera asesor asesora fundador fundadora responsabile
    direttore direttrice commerciale vendite amministratore delegato titolare
    ingegnere consulente bedrijfsleider directeur verkoop adviseur eigenaar
    """
)
# Words that join title words ("Head of Sales", "Directeur des ventes").
TITLE_JOINERS = words("of and & for the de des du la le el y e der die und für fur di del van voor")

# Words company names are often made of, to split names printed run together.
COMPANY_WORDS = words(
    """
    technologies technology tech solutions systems system group consulting services
    software industries industry holdings holding partners international digital media
    logistics engineering labs lab global networks network energy design data
    analytics capital ventures trading traders trade manufacturing medical health foods foods
    electronics robotics security cloud mobile studio studios works factory bau
    maschinenbau werke handel beratung gruppe technik systeme dienstleistungen
    """
)

# Everything the run-together splitter may cut a word into.
VOCABULARY = frozenset(
    {w for w in TITLE_WORDS | TITLE_JOINERS | COMPANY_WORDS if w.isalpha() and len(w) > 1}
    | {"of", "and", "a"}
)

# Words of addresses: a line with one of them (and usually a number) is an address.
ADDRESS_WORDS = words(
    """
    street st road rd avenue ave lane ln drive dr boulevard blvd way court ct place pl
    square sq suite floor building park house hall row terrace close crescent
    straße strasse str weg platz allee gasse ring damm ufer chaussee
    rue avenue boulevard bd chemin impasse allée quai
    calle avenida plaza paseo carrer via viale piazza corso straat laan plein gracht
    """
)

# Countries printed in addresses, and their ISO codes (for reading local phone numbers).
COUNTRIES = {
    "germany": "DE", "deutschland": "DE", "austria": "AT", "österreich": "AT",
    "osterreich": "AT", "switzerland": "CH", "schweiz": "CH", "suisse": "CH",
    "svizzera": "CH", "france": "FR", "united kingdom": "GB", "uk": "GB",
    "england": "GB", "scotland": "GB", "wales": "GB", "great britain": "GB",
    "ireland": "IE", "usa": "US", "u.s.a.": "US", "united states": "US",
    "canada": "CA", "spain": "ES", "españa": "ES", "espana": "ES", "italy": "IT",
    "italia": "IT", "netherlands": "NL", "nederland": "NL", "belgium": "BE",
    "belgique": "BE", "belgië": "BE", "luxembourg": "LU", "denmark": "DK",
    "danmark": "DK", "sweden": "SE", "sverige": "SE", "norway": "NO", "norge": "NO",
    "finland": "FI", "suomi": "FI", "poland": "PL", "polska": "PL", "portugal": "PT",
    "australia": "AU", "new zealand": "NZ",
}  # fmt: skip
# Country-code top-level domains of the email or website, when no country is printed.
TLD_REGIONS = {
    "de": "DE", "at": "AT", "ch": "CH", "fr": "FR", "uk": "GB", "ie": "IE", "es": "ES",
    "it": "IT", "nl": "NL", "be": "BE", "lu": "LU", "dk": "DK", "se": "SE", "no": "NO",
    "fi": "FI", "pl": "PL", "pt": "PT", "au": "AU", "nz": "NZ", "ca": "CA", "us": "US",
}  # fmt: skip
# Big cities printed without a country.
CITIES = {
    "london": "GB", "manchester": "GB", "birmingham": "GB", "edinburgh": "GB",
    "berlin": "DE", "münchen": "DE", "munchen": "DE", "munich": "DE", "hamburg": "DE",
    "frankfurt": "DE", "köln": "DE", "koln": "DE", "stuttgart": "DE", "düsseldorf": "DE",
    "wien": "AT", "vienna": "AT", "zürich": "CH", "zurich": "CH", "genève": "CH",
    "geneva": "CH", "paris": "FR", "lyon": "FR", "marseille": "FR", "madrid": "ES",
    "barcelona": "ES", "milano": "IT", "milan": "IT", "roma": "IT", "amsterdam": "NL",
    "rotterdam": "NL", "dublin": "IE", "new york": "US", "san francisco": "US",
    "chicago": "US", "boston": "US", "toronto": "CA",
}  # fmt: skip

# Title words whose accents the OCR drops, by their plain spelling.
ACCENTED_TITLES = {
    "".join(c for c in unicodedata.normalize("NFKD", word) if c.isascii()): word
    for word in TITLE_WORDS
    if not word.isascii()
}
