// Scan QR on the capture form: where the browser has BarcodeDetector with QR codes, the
// rear camera opens live in a dialog (with Cancel); the first QR code holding a contact —
// a vCard (2.1, 3.0, 4.0, also one inside other text), a MeCard — or a website fills the
// form, marked "from the QR code" (exact: nothing to check), and the capture is sent as
// any other, with card_read=qr (docs/cards.md, "QR codes"). Without BarcodeDetector the
// button opens Card photo instead (capture.js), and the server finds the code in the photo.
//
// parse() is the TWIN of quickcrm/domain/cards/qr.py's parse() (and of the vCard reading
// it borrows from quickcrm/domain/imports/vcard.py): the same text gives the same values
// here and there — change both together; tests/e2e/test_qr.py runs tests/unit/test_qr.py's
// payloads through both.
import { fill, say } from "./cards.js";

// --- What a QR code holds (twin of quickcrm/domain/cards/qr.py) -----------------------------

export const PAYLOAD_MAX = 8000;
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?:^|[^\ud800-\udbff])[\udc00-\udfff]/;
const VCARD = /BEGIN:VCARD[ \t]*\r?\n([\s\S]*?)(?:\r?\nEND:VCARD|$(?![\s\S]))/i;
const MECARD = /^\s*MECARD:/i;
const URL_ONLY = /^(?:https?:\/\/|www\.)[^\s<>"]+$/i;
const KEYS = ["kind", "name", "company", "title", "email", "phone", "website", "address", "note"];

// The contact or website a QR code's text holds, as {kind: "contact"|"url", name, company,
// title, email, phone, website, address, note}; null for anything else (garbage, binary,
// control characters, lone surrogates, longer than PAYLOAD_MAX, empty).
export function parse(payload) {
  if (typeof payload !== "string" || !payload.trim() || payload.length > PAYLOAD_MAX) return null;
  if (CONTROL.test(payload) || LONE_SURROGATE.test(payload)) return null;
  const found = VCARD.exec(payload);
  if (found) return fromVcard(found[1]);
  if (MECARD.test(payload)) return fromMecard(payload.slice(payload.indexOf(":") + 1));
  const text = payload.trim();
  if (URL_ONLY.test(text)) return card("url", { website: text });
  return null;
}

function card(kind, values) {
  const out = {};
  KEYS.forEach((key) => { out[key] = key === "kind" ? kind : values[key] || ""; });
  return out;
}

// One-line fields on one line, the note trimmed; null when nothing a lead keeps is there.
function contact(values) {
  const cleaned = {};
  Object.entries(values).forEach(([key, text]) => {
    cleaned[key] = key === "note" ? text.trim() : text.split(/\s+/).filter(Boolean).join(" ");
  });
  return Object.values(cleaned).some(Boolean) ? card("contact", cleaned) : null;
}

// --- vCard: as quickcrm/domain/imports/vcard.py reads a card (with vobject) ---------------

const READ = new Set(["BEGIN", "END", "FN", "N", "ORG", "TITLE", "ROLE", "EMAIL", "TEL", "URL",
  "ADR", "NOTE", "X-ABLABEL"]);
const PROPERTY = /^(?:[A-Za-z0-9-]+\.)?([A-Za-z0-9-]+)\s*[;:]/;
const QP = /QUOTED-PRINTABLE/i;
const BROKEN_QP = /=(?![0-9A-Fa-f]{2}|\n)/;
const APPLE_LABEL = /^_\$!<(.*)>!\$_$/;
const ESCAPES = { n: "\n", N: "\n", ",": ",", ";": ";", ":": ":", "\\": "\\" };

function fromVcard(body) {
  const text = `BEGIN:VCARD\n${body.replace(/\r\n|\r/g, "\n")}\nEND:VCARD\n`;
  const properties = readProperties(text);
  return properties ? row(properties) : null;
}

// The first card's lines (up to the END:VCARD that closes it; null when none does), its
// pictures' lines (PHOTO, LOGO, SOUND, KEY, and the base64 lines after them) dropped, as
// the import reads a file (vcard.py's _cards).
const BINARY = new Set(["PHOTO", "LOGO", "SOUND", "KEY"]);
const BEGIN_LINE = /^BEGIN\s*:\s*VCARD\s*$/i;
const END_LINE = /^END\s*:\s*VCARD\s*$/i;
function firstCard(text) {
  const [first, ...rest] = text.split("\n");
  const kept = [first];
  let skipping = false;
  let depth = 1;
  for (const piece of rest) {
    if (/^[ \t]/.test(piece) || !piece.trim()) {
      if (!skipping) kept.push(piece);
      continue;
    }
    const found = PROPERTY.exec(piece);
    if (skipping && !found) continue;
    skipping = Boolean(found) && BINARY.has(found[1].toUpperCase());
    if (skipping) continue;
    const stripped = piece.trim();
    if (BEGIN_LINE.test(stripped)) depth += 1;
    else if (END_LINE.test(stripped)) depth -= 1;
    kept.push(piece);
    if (depth === 0) return kept.join("\n");
  }
  return null;
}

// The logical lines, as vobject's getLogicalLines makes them: a line starting with a space
// or tab continues the one before; a line ending in "=" that says quoted-printable
// continues on the next (the line break kept); a blank line ends one.
function logicalLines(text) {
  const lines = [];
  let current = "";
  let qp = false;
  text.split("\n").forEach((line) => {
    if (!line.trim()) {
      if (current) lines.push(current);
      current = "";
      qp = false;
      return;
    }
    if (qp) {
      current += `\n${line}`;
      qp = false;
    } else if (line[0] === " " || line[0] === "\t") current += line.slice(1);
    else {
      if (current) lines.push(current);
      current = line;
    }
    if (current.endsWith("=") && current.toLowerCase().includes("quoted-printable")) qp = true;
  });
  if (current) lines.push(current);
  return lines;
}

// The card's own properties (not those of a card inside it), each read as {group, name,
// params, singletons, value}; null when a line cannot be read (as vcard.py's _properties).
function readProperties(text) {
  const properties = [];
  let depth = 0;
  let ended = false;
  const card = firstCard(text);
  if (card === null) return null;
  for (const line of logicalLines(card)) {
    const head = line.split(":")[0];
    const value = line.slice(head.length + 1);
    if (QP.test(head) && BROKEN_QP.test(value)) return null;
    const found = PROPERTY.exec(line);
    if (found && !READ.has(found[1].toUpperCase())) continue;
    const prop = contentLine(line);
    if (!prop) return null;
    ended = false;
    if (prop.name === "BEGIN") depth += 1;
    else if (prop.name === "END") {
      depth -= 1;
      ended = depth === 0;
    } else if (depth === 1) properties.push(prop);
  }
  return ended ? properties : null;
}

// Whether vobject's pattern of a property line ([group.]NAME[;PARAM[=VALUE,…]…]:) matches,
// told in one pass as vcard.py's _parsable tells it (vobject's own regular expression
// backtracks exponentially on some lines it does not match).
const NAME = /(?:[A-Za-z0-9_-]+\.)?[A-Za-z0-9_-]+/y;
const PARAMETER_NAME = /[A-Za-z0-9_-]+/y;
const UNQUOTED = /[^";:,=]*/y;
const VALUE = /[^";:,]*/y;

function sticky(pattern, text, at) {
  pattern.lastIndex = at;
  return pattern.exec(text) ? pattern.lastIndex : -1;
}

function parsable(line) {
  const at = sticky(NAME, line, 0);
  if (at < 0) return false;
  if (line[at] === ";" && parametersThenColon(line, at + 1)) return true;
  return parametersThenColon(line, at);
}

function parametersThenColon(line, start) {
  let at = start;
  while (at < line.length && line[at] === ";") {
    at = sticky(PARAMETER_NAME, line, at + 1);
    if (at < 0) return false;
    while (at < line.length && (line[at] === "=" || line[at] === ",")) {
      at += 1;
      if (line[at] === '"') {
        const close = line.indexOf('"', at + 1);
        if (close < 0) return false;
        at = close + 1;
      } else at = sticky(UNQUOTED, line, at);
    }
  }
  return line[at] === ":";
}

// A line vobject would read, as its ContentLine: {group, name, params (values by upper-case
// name; quoted values unquoted, empty ones left out), singletons (a name without values),
// value (quoted-printable decoded with its CHARSET)}; null when it cannot be read.
function contentLine(line) {
  if (!parsable(line)) return null;
  const nameEnd = sticky(NAME, line, 0);
  const named = /^(?:([A-Za-z0-9_-]+)\.)?([A-Za-z0-9_-]+)$/.exec(line.slice(0, nameEnd));
  const name = named[2].replace(/_/g, "-").toUpperCase();
  const prop = { group: named[1] || "", name, params: {}, singletons: [] };
  let at = nameEnd;
  while (at < line.length && line[at] !== ":") {
    if (line[at] !== ";") { at += 1; continue; }
    const nameAt = at + 1;
    at = sticky(PARAMETER_NAME, line, nameAt);
    if (at < 0) { at = nameAt; continue; }
    const key = line.slice(nameAt, at);
    const values = [];
    if (line[at] === "=") {
      at += 1;
      for (;;) {
        if (line[at] === '"') {
          const close = line.indexOf('"', at + 1);
          values.push(line.slice(at + 1, close));
          at = close + 1;
        } else {
          const stop = sticky(VALUE, line, at);
          if (stop > at) values.push(line.slice(at, stop));
          at = stop;
        }
        if (line[at] === ",") at += 1;
        else break;
      }
    }
    if (values.length) (prop.params[key.toUpperCase()] ||= []).push(...values);
    else prop.singletons.push(key);
  }
  let value = line.slice(at + 1);
  // vobject decodes only this spelling, in ENCODING= or alone (2.1's ;QUOTED-PRINTABLE),
  // and fails when another ENCODING is left beside it
  const encodings = [...(prop.params.ENCODING || [])];
  const listed = encodings.indexOf("QUOTED-PRINTABLE");
  if (listed >= 0) encodings.splice(listed, 1);
  const encoding = listed >= 0 || prop.singletons.includes("QUOTED-PRINTABLE");
  if (encoding && encodings.length) return null;
  if (encoding) {
    value = decodeQp(value, (prop.params.CHARSET || ["utf-8"])[0]);
    if (value === null) return null;
  }
  prop.value = value;
  return prop;
}

function decodeQp(value, charset) {
  const text = value.replace(/=\n/g, "");
  const bytes = [];
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] === "=") {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const code = text.charCodeAt(i);
      if (code > 0x7f) bytes.push(...new TextEncoder().encode(text[i]));
      else bytes.push(code);
    }
  }
  // Python's names for UTF-8 ("utf", "UTF-", "utf_8", "UTF-8=") that the browser does not
  // know: Python reads a name with its punctuation made "_" (encodings.normalize_encoding)
  const python = charset.toLowerCase().replace(/[^a-z0-9.]+/g, "_").replace(/^_+|_+$/g, "");
  const label = /^(?:utf_?8?|u8)$/.test(python) ? "utf-8" : charset;
  try {
    return new TextDecoder(label, { fatal: true }).decode(new Uint8Array(bytes));
  } catch (error) {
    return null;
  }
}

function unescape(value) {
  return value.replace(/\\([\s\S])/g, (all, ch) => (ch in ESCAPES ? ESCAPES[ch] : all))
    .replace(/\r\n|\r/g, "\n");
}

function components(value) {
  const parts = [];
  let current = "";
  let escaped = false;
  for (const ch of value) {
    if (escaped) { current += `\\${ch}`; escaped = false; }
    else if (ch === "\\") escaped = true;
    else if (ch === ";") { parts.push(unescape(current).trim()); current = ""; }
    else current += ch;
  }
  parts.push(unescape(current).trim());
  return parts;
}

function types(prop) {
  const words = [...(prop.params.TYPE || []), ...prop.singletons];
  const out = new Set();
  words.forEach((word) => word.split(",").forEach((w) => {
    const t = w.trim().replace(/^"+|"+$/g, "").toLowerCase();
    if (t) out.add(t);
  }));
  return out;
}

function pref(prop) {
  const given = prop.params.PREF || [];
  if (given.length) return /^\d+$/.test(given[0].trim()) ? Math.min(parseInt(given[0], 10), 100) : 1;
  return types(prop).has("pref") ? 1 : 101;
}

const stripScheme = (text, scheme) => {
  const t = text.trim();
  return t.toLowerCase().startsWith(scheme) ? t.slice(scheme.length) : t;
};

function phone(value) {
  const text = unescape(value).trim();
  if (!text.toLowerCase().startsWith("tel:")) return text;
  const rest = stripScheme(text, "tel:");
  const [number, ...params] = rest.split(";");
  const extension = /(?:^|;)ext=([^;]+)/.exec(params.join(";"));
  return extension ? `${number} ext. ${extension[1]}` : number;
}

const address = (value) => components(value).map((p) => p.split(/\s+/).filter(Boolean).join(" ")).filter(Boolean).join(", ");

const TYPE_WORDS = {
  email: [["work", "Work email"], ["home", "Home email"]],
  phone: [["fax", "Fax"], ["pager", "Pager"], ["cell", "Mobile phone"], ["mobile", "Mobile phone"],
    ["iphone", "Mobile phone"], ["work", "Work phone"], ["home", "Home phone"], ["main", "Main phone"]],
  website: [["work", "Work website"], ["home", "Home website"]],
  address: [["work", "Work address"], ["home", "Home address"]],
};

function label(item, kind) {
  if (item.label) return item.label.toLowerCase().includes(kind) ? item.label : `${item.label} ${kind}`;
  const word = TYPE_WORDS[kind].find(([w]) => item.types.has(w));
  return word ? word[1] : `Other ${kind}`;
}

function appleLabel(text) {
  const found = APPLE_LABEL.exec(text.trim());
  const named = (found ? found[1] : text).trim();
  if (found) return named ? named[0].toUpperCase() + named.slice(1).toLowerCase() : named;
  return named || null;
}

function choose(found, ranks) {
  let best = null;
  found.forEach((item, index) => {
    let kind;
    if (item.types.has("fax") && "fax" in ranks) kind = ranks.fax;
    else kind = Math.min(3, ...[...item.types].map((t) => (t in ranks ? ranks[t] : 3)));
    const rank = [item.pref, kind, index];
    if (!best || rank[0] < best.rank[0] || (rank[0] === best.rank[0]
      && (rank[1] < best.rank[1] || (rank[1] === best.rank[1] && rank[2] < best.rank[2])))) {
      best = { item, rank };
    }
  });
  return best ? best.item : null;
}

function row(properties) {
  const labels = {};
  properties.filter((p) => p.name === "X-ABLABEL" && p.group).forEach((p) => {
    labels[p.group.toLowerCase()] = appleLabel(unescape(p.value));
  });
  const byName = {};
  properties.forEach((p) => { (byName[p.name] ||= []).push(p); });
  const first = (name) => (byName[name] ? unescape(byName[name][0].value).trim() : "");
  const values = (name, read) => (byName[name] || []).map((p) => {
    const text = read(p.value);
    return text ? { text, types: types(p), pref: pref(p), label: labels[p.group.toLowerCase()] || null } : null;
  }).filter(Boolean);

  const names = byName.N ? components(byName.N[0].value) : [];
  const [family = "", given = ""] = names;
  const company = byName.ORG ? components(byName.ORG[0].value)[0] : "";
  const name = first("FN") || [given, family].filter(Boolean).join(" ");
  const emails = values("EMAIL", (s) => stripScheme(unescape(s), "mailto:"));
  const phones = values("TEL", phone);
  const websites = values("URL", (s) => unescape(s).trim());
  const addresses = values("ADR", address);
  const email = choose(emails, {});
  const tel = choose(phones, { cell: 1, mobile: 1, iphone: 1, work: 2, fax: 4 });
  const website = choose(websites, { work: 1 });
  const place = choose(addresses, { work: 1 });
  const notes = (byName.NOTE || []).map((p) => unescape(p.value).trim());
  const others = [
    ...emails.filter((e) => e !== email).map((e) => `${label(e, "email")}: ${e.text}`),
    ...phones.filter((p) => p !== tel).map((p) => `${label(p, "phone")}: ${p.text}`),
    ...websites.filter((w) => w !== website).map((w) => `${label(w, "website")}: ${w.text}`),
    ...addresses.filter((a) => a !== place).map((a) => `${label(a, "address")}: ${a.text}`),
  ];
  return contact({
    name: name.trim(),
    company,
    title: first("TITLE") || first("ROLE"),
    email: email ? email.text : "",
    phone: tel ? tel.text : "",
    website: website ? website.text : "",
    address: place ? place.text : "",
    note: [...notes, ...others].filter(Boolean).join("\n"),
  });
}

// --- MeCard: N:Doe,Jane;TEL:…;EMAIL:…;; with \; \: \, \\ escapes ---------------------------

function split(text, separator) {
  const parts = [];
  let current = "";
  let escaped = false;
  for (const ch of text) {
    if (escaped) { current += ch; escaped = false; }
    else if (ch === "\\") { current += ch; escaped = true; }
    else if (ch === separator) { parts.push(current); current = ""; }
    else current += ch;
  }
  parts.push(current);
  return parts;
}

const mecardText = (value) => value.replace(/\\([\s\S])/g, "$1").trim();

function fromMecard(body) {
  const values = {};
  split(body, ";").forEach((field) => {
    const colon = field.indexOf(":");
    const key = colon < 0 ? "" : field.slice(0, colon).trim().toUpperCase();
    if (key) (values[key] ||= []).push(field.slice(colon + 1));
  });
  const first = (key) => (values[key] ? mecardText(values[key][0]) : "");
  let name = "";
  if (values.N) {
    const parts = split(values.N[0], ",").map(mecardText).slice(0, 2).reverse();
    name = parts.filter(Boolean).join(" ");
  }
  const phones = (values.TEL || []).map(mecardText);
  const emails = (values.EMAIL || []).map(mecardText);
  const place = values.ADR ? split(values.ADR[0], ",").map(mecardText).filter(Boolean).join(", ") : "";
  const others = [
    ...phones.slice(1).filter(Boolean).map((p) => `Other phone: ${p}`),
    ...emails.slice(1).filter(Boolean).map((e) => `Other email: ${e}`),
  ];
  const notes = (values.NOTE || []).map(mecardText);
  return contact({
    name: name || first("NICKNAME"),
    company: first("ORG"),
    title: first("TITLE"),
    email: emails[0] || "",
    phone: phones[0] || "",
    website: first("URL"),
    address: place,
    note: [...notes, ...others].filter(Boolean).join("\n"),
  });
}

// --- The form's fields (as qr.form_fields; the server checks them when the capture is sent)

export function formFields(found, { address = false } = {}) {
  const fields = {};
  const name = found.name || found.company;
  if (name) fields.name = name;
  if (found.company) fields.company_name = found.company;
  if (found.email) fields.email = found.email;
  if (found.phone) fields.phone = found.phone;
  const note = found.title ? [found.title] : [];
  if (found.website) note.push(`Website: ${found.website}`);
  if (found.address && address) fields.address = found.address;
  else if (found.address) note.push(`Address: ${found.address}`);
  if (found.note) note.push(found.note);
  if (note.length) fields.note = note.join("\n");
  return fields;
}

// --- The camera, live ---------------------------------------------------------------------

const CHECK_EVERY_MS = 200;
let open = null; // the scan under way: {dialog, stream, timer}

// Whether this browser can read QR codes from the camera (BarcodeDetector with qr_code).
export async function canScan() {
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices?.getUserMedia) return false;
  try {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    return formats.includes("qr_code");
  } catch (error) {
    return false;
  }
}

function dialogFor(formEl) {
  let dialog = document.getElementById("qr-scan");
  if (dialog) return dialog;
  dialog = document.createElement("dialog");
  dialog.id = "qr-scan";
  dialog.className = "qr-dialog";
  dialog.setAttribute("aria-labelledby", "qr-scan-title");
  dialog.innerHTML = '<h2 id="qr-scan-title">Scan QR</h2>'
    + '<video class="qr-video" muted playsinline autoplay aria-hidden="true"></video>'
    + '<p class="hint" role="status" data-qr-status>Starting the camera…</p>'
    + '<button type="button" class="button" data-qr-cancel>Cancel</button>';
  formEl.append(dialog);
  dialog.querySelector("[data-qr-cancel]").addEventListener("click", () => stop());
  dialog.addEventListener("cancel", () => stop()); // Escape
  return dialog;
}

function stop() {
  if (!open) return;
  clearTimeout(open.timer);
  open.stream?.getTracks().forEach((track) => track.stop());
  if (open.dialog.open) open.dialog.close();
  open.dialog.querySelector("video").srcObject = null;
  open = null;
}

// Scan QR was tapped (capture.js): the camera in a dialog until a code fills the form or
// the rep cancels; without the means, Card photo (the server reads the code in the photo).
export async function scan(button) {
  const formEl = button.closest("[data-capture-form]");
  if (!formEl || open) return;
  if (!(await canScan())) {
    formEl.querySelector("[data-card-photo]")?.click();
    return;
  }
  const dialog = dialogFor(formEl);
  const status = dialog.querySelector("[data-qr-status]");
  status.textContent = "Starting the camera…";
  open = { dialog, stream: null, timer: null };
  const mine = open;
  dialog.showModal();
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false });
  } catch (error) {
    if (open === mine) stop();
    say("The camera could not be opened: use Card photo instead.", false);
    return;
  }
  if (open !== mine) { // cancelled while the camera started
    stream.getTracks().forEach((track) => track.stop());
    return;
  }
  mine.stream = stream;
  const video = dialog.querySelector("video");
  video.srcObject = stream;
  video.play?.().catch(() => {});
  status.textContent = "Point the camera at the QR code.";
  const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
  const look = async () => {
    if (open !== mine) return;
    if (video.readyState >= 2) {
      let codes = [];
      try {
        codes = await detector.detect(video);
      } catch (error) {
        codes = [];
      }
      if (open !== mine) return;
      const found = codes.map((code) => parse(code.rawValue)).filter(Boolean);
      const best = found.find((c) => c.kind === "contact") || found[0];
      if (best) {
        stop();
        filled(formEl, best);
        return;
      }
      if (codes.length) status.textContent = "This QR code holds no contact or website. Try another.";
    }
    mine.timer = setTimeout(look, CHECK_EVERY_MS);
  };
  look();
}

function filled(formEl, found) {
  fill(formEl, formFields(found, { address: Boolean(formEl.elements.address) }), "qr");
  if (formEl.elements.card_read) formEl.elements.card_read.value = "qr";
  say("Filled from the QR code — exact.", false);
  formEl.elements.name?.focus();
}
