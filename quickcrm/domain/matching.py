"""Duplicate matching: the keys companies and contacts are compared on, and the existing
records a lead suggests (docs/domain.md)."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from quickcrm.domain.validation import phone_key
from quickcrm.models import Company, Contact, Lead

# Legal forms dropped from the end of a company name before comparing.
LEGAL_SUFFIXES = {
    "inc", "incorporated", "ltd", "limited", "llc", "llp", "gmbh", "ag", "sa", "sarl", "sas",
    "bv", "nv", "plc", "corp", "corporation", "co", "company", "srl", "spa", "oy", "ab", "as",
    "pty", "kg", "ug", "lp",
}  # fmt: skip

# Addresses at these domains say nothing about the company someone works for.
FREE_MAIL_DOMAINS = {
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "hotmail.com",
    "hotmail.co.uk", "hotmail.fr", "outlook.com", "live.com", "msn.com", "aol.com",
    "icloud.com", "me.com", "mac.com", "gmx.de", "gmx.net", "gmx.com", "web.de",
    "proton.me", "protonmail.com", "mail.com", "yandex.com", "yandex.ru", "orange.fr",
    "free.fr", "laposte.net", "wanadoo.fr", "t-online.de", "btinternet.com", "zoho.com",
}  # fmt: skip

SUGGESTION_LIMIT = 5
# The width of the name_key column: normalising can make a key longer than its name
# (one "ﷺ" becomes 18 letters), so keys are cut to fit.
NAME_KEY_MAX = 200


def name_key(name: str | None) -> str:
    """``name`` lower-cased, accents and punctuation removed, legal suffixes dropped:
    "ACME, Inc." and "Acme Inc" both give "acme"."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = text.replace("&", " and ")
    # "S.A.R.L." and "B.V." lose their dots first, so they read as one word.
    text = re.sub(r"(?<=\b\w)\.(?=\w\b)", "", text).replace(".", " ")
    words = re.findall(r"\w+", text)
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)[:NAME_KEY_MAX]


def email_domain(email: str | None) -> str | None:
    """The domain of a work address; ``None`` for free-mail addresses or no address."""
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].strip().lower().rstrip(".")
    if not domain or domain in FREE_MAIL_DOMAINS:
        return None
    return domain


def company_keys(company: Company, region: str | None) -> None:
    """Refresh the matching keys of ``company`` from its name and phone."""
    company.name_key = name_key(company.name)
    company.phone_key = phone_key(company.phone, region)


def contact_keys(contact: Contact, region: str | None) -> None:
    contact.phone_key = phone_key(contact.phone, region)


def suggest_companies(session: Session, lead: Lead, region: str | None) -> list[Company]:
    """Existing companies the lead may belong to: same name key, email domain or phone."""
    tests = []
    key = name_key(business_name(lead))
    if key:
        tests.append(Company.name_key == key)
    domain = email_domain(lead.email)
    if domain:
        tests.append(Company.email_domain == domain)
    phone = phone_key(lead.phone, region)
    if phone:
        tests.append(Company.phone_key == phone)
    if not tests:
        return []
    return list(
        session.scalars(
            select(Company)
            .where(or_(*tests), Company.merged_into_id.is_(None))
            .order_by(Company.name_sort, Company.id)
            .limit(SUGGESTION_LIMIT)
        )
    )


def suggest_contacts(
    session: Session, lead: Lead, company_ids: list[int], region: str | None
) -> list[Contact]:
    """Existing contacts at ``company_ids`` who may be the lead: same email, phone or name."""
    if not company_ids:
        return []
    tests = [func.lower(Contact.name) == person_name(lead).strip().lower()]
    if lead.email:
        tests.append(func.lower(Contact.email) == lead.email.lower())
    phone = phone_key(lead.phone, region)
    if phone:
        tests.append(Contact.phone_key == phone)
    return list(
        session.scalars(
            select(Contact)
            .where(Contact.company_id.in_(company_ids), or_(*tests))
            .order_by(Contact.name_sort, Contact.id)
            .limit(SUGGESTION_LIMIT)
        )
    )


def company_match_reasons(company: Company, lead: Lead, region: str | None) -> list[str]:
    """Why ``company`` was suggested for ``lead``: same name, email domain or phone."""
    reasons = []
    key = name_key(business_name(lead))
    if key and company.name_key == key:
        reasons.append("same name")
    domain = email_domain(lead.email)
    if domain and company.email_domain == domain:
        reasons.append("same email domain")
    phone = phone_key(lead.phone, region)
    if phone and company.phone_key == phone:
        reasons.append("same phone")
    return reasons


def contact_match_reasons(contact: Contact, lead: Lead, region: str | None) -> list[str]:
    """Why ``contact`` was suggested for ``lead``: same email, phone or name."""
    reasons = []
    if lead.email and (contact.email or "").lower() == lead.email.lower():
        reasons.append("same email")
    phone = phone_key(lead.phone, region)
    if phone and contact.phone_key == phone:
        reasons.append("same phone")
    if contact.name.strip().lower() == person_name(lead).strip().lower():
        reasons.append("same name")
    return reasons


# --- A business lead (issue 29): its name is the business, its contact name the person ----


def business_name(lead: Lead) -> str | None:
    """The company a lead names: its company name, else its own name when it is a
    business (it has a contact name: the person to ask for there)."""
    return lead.company_name or (lead.name if lead.contact_name else None)


def person_name(lead: Lead) -> str:
    """The person a lead is: its contact name when it is a business, else its name."""
    return lead.contact_name or lead.name or ""
