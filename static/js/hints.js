// Duplicate hints while typing (README, "Duplicate hints"): on a form marked
// data-duplicates="<url>" (the capture form, New company, New contact), a pause in typing a
// name, company, email or phone asks the server what that value may already be
// (quickcrm/views/duplicates.py) and says it in a quiet line under the field, a polite live
// region: "Maria Novak (Acme) is already an open lead of Chris, captured 3 Dec", with an
// Open link at its end where the viewer may open the record.
// Nothing here touches Save: a hint is never waited for, a failed one is no hint, and an
// answer for a value typed over since is dropped. With no network (or no answer) the
// capture page matches what the phone has: the captures queued on it (outbox.js) and the
// rep's recent captures the page lists (#recent, each with its keys), by the keys of
// keys.js — the twin of quickcrm/domain/keys.py.
import { emailKey, personKey, phoneTail } from "./keys.js";

const PAUSE_MS = 300;
const ANSWER_MS = 5000; // no answer by then: the phone's own captures answer instead
// The fields a form may ask about; New company's Name is a company's name.
const FIELDS = ["name", "company_name", "email", "phone"];
const ON_PHONE = "is already in your captures on this phone";
const pending = new WeakMap(); // input → {timer, asked: the value asked, turn, controller}

function fieldOf(input) {
  const form = input?.form;
  if (!form?.dataset.duplicates || !FIELDS.includes(input.name)) return null;
  return form.dataset.duplicatesAs === "company" && input.name === "name" ? "company_name" : input.name;
}

// Worth asking: a value that can match something (a whole email, a phone's digits).
function worthAsking(field, value) {
  if (field === "email") return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value);
  if (field === "phone") return phoneTail(value) !== null;
  if (field === "name") return personKey(value).length >= 2;
  return value.length >= 2;
}

// The quiet line under a field, made before anything is said in it (a live region must
// be on the page before it speaks).
function regionOf(input) {
  const id = `${input.id || input.name}-duplicates`;
  let region = document.getElementById(id);
  if (!region) {
    region = document.createElement("div");
    region.id = id;
    region.className = "duplicate-hint";
    region.setAttribute("aria-live", "polite");
    region.dataset.duplicateHint = input.name;
    input.after(region);
  }
  return region;
}

// A value typed before this module ran (a quick thumb on a slow phone) is asked about too.
function prepare(root) {
  root.querySelectorAll?.("form[data-duplicates]").forEach((form) => {
    FIELDS.forEach((name) => {
      const input = form.elements[name];
      if (!(input instanceof HTMLInputElement)) return;
      regionOf(input);
      if (input.value.trim()) schedule(input, PAUSE_MS);
    });
  });
}

function show(region, hints) {
  const lines = hints.map(({ text, url }) => {
    const line = document.createElement("p");
    const said = document.createElement("span");
    said.textContent = text;
    line.append(said);
    if (url) {
      const link = document.createElement("a");
      link.href = url;
      link.textContent = "Open";
      line.append(" ", link);
    }
    return line;
  });
  // The same hint again is not said again.
  const said = lines.map((line) => line.textContent).join("\n");
  if (region.dataset.said === said) return;
  region.dataset.said = said;
  region.replaceChildren(...lines);
}

async function fromServer(form, field, value, signal) {
  const url = new URL(form.dataset.duplicates, window.location.href);
  url.searchParams.set(field, value);
  const response = await fetch(url, {
    headers: { Accept: "application/json" }, credentials: "same-origin", signal,
  });
  if (!response.ok || !response.headers.get("Content-Type")?.includes("json")) {
    throw new Error(`no hint (${response.status})`);
  }
  // New contact's own company is no news on its form (a work email names its domain).
  const skip = form.dataset.duplicatesSkip;
  return ((await response.json()).hints[field] || []).filter((hint) => !skip || hint.url !== skip);
}

// --- What the phone has ------------------------------------------------------------------
const KEYS = { name: personKey, email: emailKey, phone: phoneTail };

function sameKey(field, typed, other) {
  const key = KEYS[field];
  if (!key) return false;
  const mine = key(typed);
  return Boolean(mine) && key(other) === mine;
}

function said(name, company) {
  return `${company ? `${name} (${company})` : name} ${ON_PHONE}`;
}

// The captures waiting on this phone (not the one being edited in the form), and — when
// the server did not answer — the recent captures the page lists.
async function onThisPhone(form, field, value, withRecent) {
  if (!form.matches("[data-capture-form]") || !KEYS[field]) return [];
  const found = [];
  try {
    const outbox = await import("./outbox.js");
    const editing = form.elements.uuid?.value;
    (await outbox.items("capture")).forEach((item) => {
      if (item.uuid !== editing && sameKey(field, value, item.fields?.[field])) {
        found.push({ text: said(item.fields.name, item.fields.company_name), url: null });
      }
    });
  } catch (error) {
    // No IndexedDB (a private window): nothing is queued on this phone.
  }
  if (!withRecent) return found;
  const keyOf = { name: "nameKey", email: "emailKey", phone: "phoneTail" }[field];
  const mine = KEYS[field](value);
  document.querySelectorAll("#recent [data-recent-lead]").forEach((lead) => {
    if (!mine || lead.dataset[keyOf] !== mine) return;
    const name = lead.querySelector(".recent-name")?.textContent || "";
    found.push({ text: said(name, lead.dataset.company), url: lead.querySelector("a")?.href || null });
  });
  return found;
}

// --- Asking, after a pause ---------------------------------------------------------------
async function look(input, field) {
  const form = input.form;
  const value = input.value.trim();
  const state = pending.get(input);
  if (!form || state.asked === value) return;
  state.asked = value;
  state.turn += 1;
  const turn = state.turn;
  state.controller?.abort();
  const region = regionOf(input);
  if (!worthAsking(field, value)) {
    show(region, []);
    return;
  }
  let hints = null;
  if (navigator.onLine) {
    const controller = new AbortController();
    state.controller = controller;
    const timer = setTimeout(() => controller.abort(), ANSWER_MS);
    try {
      hints = await fromServer(form, field, value, controller.signal);
    } catch (error) {
      hints = null; // offline after all, a failure or a timeout: the phone's own captures
    } finally {
      clearTimeout(timer);
    }
  }
  const local = await onThisPhone(form, field, value, hints === null);
  // An answer for a value typed over since (or a form saved and emptied) is not shown.
  if (state.turn !== turn || input.value.trim() !== value) return;
  show(region, [...local, ...(hints || [])]);
}

function schedule(input, pause) {
  const field = fieldOf(input);
  if (!field) return;
  const state = pending.get(input) || { timer: null, asked: null, turn: 0, controller: null };
  pending.set(input, state);
  clearTimeout(state.timer);
  state.timer = setTimeout(() => look(input, field), pause);
}

document.addEventListener("input", (event) => schedule(event.target, PAUSE_MS));
document.addEventListener("change", (event) => schedule(event.target, 0));
document.addEventListener("focusin", (event) => { if (fieldOf(event.target)) regionOf(event.target); });

// Saved and emptied (captures.js), or a queued capture put back in the form: the hints of
// what was typed go, and any answer still coming for it is dropped.
function forget() {
  document.querySelectorAll("form[data-duplicates]").forEach((form) => {
    FIELDS.forEach((name) => {
      const input = form.elements[name];
      const state = input && pending.get(input);
      if (state) {
        clearTimeout(state.timer);
        state.controller?.abort();
        state.asked = null;
        state.turn += 1;
      }
    });
    form.querySelectorAll("[data-duplicate-hint]").forEach((region) => show(region, []));
  });
}
document.addEventListener("quickcrm:capture-cleared", forget);

document.addEventListener("htmx:load", (event) => prepare(event.detail.elt));
prepare(document);
