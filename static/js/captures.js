// Never lose a capture. A capture that cannot reach the server (offline, no answer, a
// server error, an expired session) is kept on this phone in IndexedDB under the UUID the
// page made for it, and sent again by sync.js — automatically when the network returns,
// when the app is opened, and with "Sync now" — until the server confirms it. The UUID is
// the idempotency key: the server stores a capture once however often it is sent.
import { newUuid, objectStore } from "./store.js";

const panel = document.getElementById("sync");
export const USER = panel?.dataset.user;
export const enabled = Boolean(panel && "indexedDB" in window);
export const FIELDS = ["name", "temperature", "next_action_on", "note", "company_name", "phone",
  "email", "source"];

// `editing` is the queued capture now in the form (sync.js puts it there).
export const state = { editing: null };

// The panel, the sending and the editing of queued captures: loaded when there is a queue.
export const sync = () => import("./sync.js");

// --- The queue: one IndexedDB store of captures keyed by their UUID. ---------------------
const captures = objectStore("quickcrm", "captures");
export const putCapture = (item) => captures.put(item).then(changed);
export const removeCapture = (uuid) => captures.remove(uuid).then(changed);
export const getCapture = (uuid) => captures.get(uuid);
export const allCaptures = () => captures.mine(USER);

// Other tabs of the app show the same queue.
export const channel = enabled && "BroadcastChannel" in window ? new BroadcastChannel("quickcrm-queue") : null;
function changed() {
  channel?.postMessage("changed");
  // The panel shows it (with no network and no service worker yet, it shows next time).
  return sync().then((s) => s.render()).catch(() => {});
}
if (channel) {
  channel.onmessage = (event) => sync().then((s) => (event.data === "synced" ? s.refreshRecent() : s.render()));
}

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

// --- Keeping a capture the server did not take. ------------------------------------------
function captureOf(form) {
  const data = new FormData(form);
  const fields = {};
  FIELDS.forEach((name) => { fields[name] = (data.get(name) || "").toString(); });
  return {
    blobs: blobsOf(),
    uuid: data.get("uuid") || newUuid(),
    user: USER,
    fields,
    captured_at: data.get("captured_at") || new Date().toISOString(),
    latitude: data.get("latitude") || null,
    longitude: data.get("longitude") || null,
    queued_at: new Date().toISOString(),
    problem: null,
  };
}

// The form is ready for the next card, as after a save; Source stays (set once per event).
export function clearForm(form) {
  state.editing = null;
  const source = form.elements.source?.value || "";
  form.reset();
  FIELDS.forEach((name) => {
    const el = form.elements[name];
    if (el && el.type !== "radio" && name !== "source") el.value = "";
  });
  form.querySelectorAll("input[type=radio]").forEach((r) => { r.checked = false; });
  ["uuid", "captured_at", "latitude", "longitude"].forEach((n) => {
    if (form.elements[n]) form.elements[n].value = "";
  });
  if (form.elements.source) form.elements.source.value = source;
  form.querySelectorAll("[aria-pressed=true][data-days-ahead]").forEach((chip) => {
    chip.setAttribute("aria-pressed", "false");
  });
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  form.querySelectorAll(".field-error").forEach((el) => el.remove());
  form.querySelectorAll(".has-error").forEach((el) => el.classList.remove("has-error"));
  document.dispatchEvent(new CustomEvent("quickcrm:capture-cleared"));
  form.elements.name?.focus();
}

// Kept on this phone (`why` says why when it was sent and not taken; `tries` counts a
// server error's answer, store.js MAX_TRIES); false when there was nothing worth keeping.
export async function keep(form, why, tries = 0) {
  const item = { ...captureOf(form), tries };
  // A card photo stands for the name: the server reads it at sync.
  if (!item.fields.name.trim() && !item.blobs.card_photo) {
    // Nothing worth keeping yet: the one rule a capture has is checked here too.
    form.elements.name?.focus();
    form.elements.name?.setAttribute("aria-invalid", "true");
    say(`<p class="refused">${escape("Not saved — enter a name: a person or a business.")}</p>`);
    return false;
  }
  // An edited capture goes back in the queue under its UUID, its problem solved or not.
  await putCapture(item);
  clearForm(form);
  say(`<p class="kept">Saved on this phone — will sync · <strong>${escape(displayName(item))}</strong>`
    + (why ? ` <span class="kept-why">${escape(why)}</span>` : "") + "</p>");
  return true;
}
