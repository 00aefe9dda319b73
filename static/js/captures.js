// A capture as the phone keeps it: what is read from the form (with its UUID, the phone's
// time and place, and its files), the form made ready for the next card, and what the rep
// is told in the capture status. The queue that keeps and sends captures is outbox.js;
// the panel that shows it is sync.js. This module imports neither page module.
import { newUuid } from "./store.js";

const panel = document.getElementById("sync");
export const USER = panel?.dataset.user;
export const enabled = Boolean(panel && "indexedDB" in window);
export const FIELDS = ["name", "temperature", "next_action_on", "note", "company_name", "phone",
  "email", "source",
  // Issue 29's optional fields, behind More (not sticky: cleared after Save like the others).
  "contact_name", "address", "potential_value"];
// Sent with the fields, not shown again when editing: the card was read on the phone.
const EXTRA = ["card_read"];

// `editing` is the queued capture now in the form (sync.js puts it there).
export const state = { editing: null };

// --- What the rep is told, in the capture status. -----------------------------------------
export function say(html) {
  const status = document.getElementById("capture-status");
  if (status) status.innerHTML = html;
}
export function escape(text) {
  const span = document.createElement("span");
  span.textContent = text;
  return span.innerHTML;
}
export const displayName = (item) => item.fields.name || (item.blobs?.card_photo ? "Card photo" : "(no name)");

// --- Attachments: the hook cards.js and voice.js use. --------------------------------------
// A queued capture keeps its files in IndexedDB as `blobs` ({card_photo, voice_note}:
// Blobs) and is then sent as multipart form data instead of JSON. The form's modules
// are asked for them by the event "quickcrm:capture-blobs" on document (detail.blobs
// is filled in by each listener), and told by "quickcrm:capture-cleared" that the form
// is empty again, and by "quickcrm:capture-restore" (detail.blobs) that a queued
// capture is back in the form to edit.
export function blobsOf() {
  const detail = { blobs: {} };
  document.dispatchEvent(new CustomEvent("quickcrm:capture-blobs", { detail }));
  return detail.blobs;
}

// --- A capture read from the form. ----------------------------------------------------------
export function captureOf(form) {
  const data = new FormData(form);
  const fields = {};
  [...FIELDS, ...EXTRA].forEach((name) => { fields[name] = (data.get(name) || "").toString(); });
  fields.categories = categoriesOf(form);
  return {
    blobs: blobsOf(),
    uuid: data.get("uuid") || newUuid(),
    user: USER,
    url: panel?.dataset.syncUrl,
    fields,
    captured_at: data.get("captured_at") || new Date().toISOString(),
    latitude: data.get("latitude") || null,
    longitude: data.get("longitude") || null,
    problem: null,
  };
}

// The one rule a capture has, checked on the phone: a name, or a card photo that stands
// for it (the server reads it). False, with the message next to Name, when it is missing.
export function worthKeeping(form, item) {
  if (item.fields.name.trim() || item.blobs.card_photo) return true;
  showErrors(form, { name: "Enter a name — a person or a business." });
  say(`<p class="refused">${escape("Not saved — enter a name: a person or a business.")}</p>`);
  return false;
}

// The server's (or the phone's) messages next to the fields they are about, as the
// server's form would show them; the focus goes to the first.
export function showErrors(form, errors) {
  let first = null;
  Object.entries(errors).forEach(([name, message]) => {
    const field = form.elements[name];
    if (!field || field instanceof RadioNodeList) return;
    const box = field.closest(".field, fieldset") || field.parentElement;
    box.classList.add("has-error");
    field.setAttribute("aria-invalid", "true");
    let note = document.getElementById(`${name}-error`);
    if (!note) {
      note = document.createElement("p");
      note.className = "field-error";
      note.id = `${name}-error`;
      box.append(note);
    }
    note.textContent = message;
    const described = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (!described.includes(note.id)) field.setAttribute("aria-describedby", [...described, note.id].join(" "));
    first = first || field;
  });
  (first || form.elements.name)?.focus();
}

// Nothing typed or chosen in the form yet (Source, sticky, does not count).
export function formIsEmpty(form) {
  const data = new FormData(form);
  const typed = FIELDS.filter((name) => name !== "source").some((name) => (data.get(name) || "").toString().trim());
  return !typed && !Object.keys(blobsOf()).length;
}

// The form is ready for the next card, as after a save; Source stays (set once per event)
// and says so beside More.
export function clearForm(form) {
  state.editing = null;
  const source = form.elements.source?.value || "";
  const chosen = categoriesOf(form);
  form.reset();
  setCategories(form, chosen);
  FIELDS.forEach((name) => {
    const el = form.elements[name];
    if (el && el.type !== "radio" && name !== "source") el.value = "";
  });
  form.querySelectorAll("input[type=radio]").forEach((r) => { r.checked = false; });
  ["uuid", "captured_at", "latitude", "longitude", ...EXTRA].forEach((n) => {
    if (form.elements[n]) form.elements[n].value = "";
  });
  if (form.elements.source) form.elements.source.value = source;
  showSource(form, source);
  form.querySelectorAll("[aria-pressed=true][data-days-ahead]").forEach((chip) => {
    chip.setAttribute("aria-pressed", "false");
  });
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  form.querySelectorAll(".field-error").forEach((el) => el.remove());
  form.querySelectorAll(".has-error").forEach((el) => el.classList.remove("has-error"));
  document.dispatchEvent(new CustomEvent("quickcrm:capture-cleared"));
  form.elements.name?.focus();
}

function showSource(form, source) {
  const toggle = form.querySelector(".more-toggle");
  let sticky = toggle?.querySelector(".sticky-source");
  if (!toggle) return;
  if (!source) {
    sticky?.remove();
    return;
  }
  if (!sticky) {
    sticky = document.createElement("span");
    sticky.className = "sticky-source";
    toggle.append(sticky);
  }
  sticky.textContent = `Source: ${source}`;
}

// --- Categories (templates/capture/_categories.html): sticky like Source. -----------------
// A capture keeps its chosen category ids as one field, "3,5" (the server skips an id that
// is no longer a category: a phone may hold an old list).
const chips = (form) => [...form.querySelectorAll("input[name=categories]")];
export const categoriesOf = (form) => chips(form).filter((c) => c.checked).map((c) => c.value).join(",");

export function setCategories(form, ids) {
  const chosen = new Set((ids || "").split(",").filter(Boolean));
  chips(form).forEach((chip) => { chip.checked = chosen.has(chip.value); });
  showCategories(form);
}

// Beside More, the chosen categories' names: they stay for the next capture, as Source does.
export function showCategories(form) {
  const where = form.querySelector("[data-sticky-categories]");
  if (where) where.textContent = chips(form).filter((c) => c.checked).map((c) => c.parentElement.textContent.trim()).join(", ");
}
document.addEventListener("change", (event) => {
  if (event.target.matches?.("input[name=categories]")) showCategories(event.target.form);
});
