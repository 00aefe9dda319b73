// The keys duplicate matching compares a lead on — the twin of quickcrm/domain/keys.py, for
// the phone's own captures when the server cannot be asked (hints.js). Change both together.
// Where JavaScript differs from Python it is said: casefold() is toLowerCase() plus the two
// folds a name meets ("ß" → "ss", "ς" → "σ"); sorting compares UTF-16 code units, which is
// Python's order outside the rare letters past U+FFFF.

const PERSON_KEY_MAX = 200;
const EMAIL_KEY_MAX = 254;
const PHONE_TAIL = 9;
const PHONE_MIN_DIGITS = 7;
// quickcrm/domain/sorting.py LETTERS: letters people file under another letter.
const LETTERS = { æ: "ae", œ: "oe", ø: "o", ł: "l", đ: "d", ð: "d", þ: "th", ħ: "h", ı: "i" };

// A name's words without accents, case or punctuation, in alphabetical order:
// "Novák, Maria", "maria novak" and "MARIA NOVAK" all give "maria novak".
export function personKey(name) {
  const text = (name || "").normalize("NFKD").replace(/\p{Mn}/gu, "").toLowerCase()
    .replace(/ß/g, "ss").replace(/ς/g, "σ")
    .replace(/[æœøłđðþħı]/g, (letter) => LETTERS[letter]);
  const words = text.match(/[\p{L}\p{N}_]+/gu) || [];
  return words.sort().join(" ").slice(0, PERSON_KEY_MAX);
}

// Trimmed and lower-cased; null without an "@".
export function emailKey(email) {
  const text = (email || "").trim().toLowerCase();
  return text.includes("@") ? text.slice(0, EMAIL_KEY_MAX) : null;
}

// The last nine digits (an extension after "x" or "ext" left out); null under seven digits.
export function phoneTail(phone) {
  const number = (phone || "").replace(/\s*(?:x|ext\.?|extension|#)\s*\p{Nd}*\s*$/iu, "");
  const digits = number.normalize("NFKC").replace(/\P{Nd}/gu, "");
  return digits.length < PHONE_MIN_DIGITS ? null : digits.slice(-PHONE_TAIL);
}
