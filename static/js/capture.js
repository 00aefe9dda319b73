// The capture page. Save writes the capture to the phone first (outbox.js: IndexedDB, with
// the UUID the page made — its idempotency key — the phone's time and, if allowed, its
// place), clears the form and puts the cursor back in Name at once, whatever the network,
// and says "Saved — Name · Undo · Edit"; the queue sends it behind that, and the status
// and the recent captures follow it (on this phone → on the server ✓, or Needs attention).
// No answer ever touches the form: a name typed meanwhile is the rep's (docs/offline.md).
// This page loads no htmx: the Undo of a capture already on the server is posted here,
// and its answer's fragments swapped as htmx would. What only some visits use is loaded
// when it is used: the queue's panel (sync.js), the card photo, the voice note, the
// queued Done and Snooze of the agenda.
import { csrfToken, hideError, refusalMessage, showError } from "./app.js";
import {
  captureOf, clearForm, displayName, enabled, escape, formIsEmpty, say, state, worthKeeping,
} from "./captures.js";
import "./hints.js"; // the duplicate hints under Name, Company, Phone and Email
import * as outbox from "./outbox.js";
import { freshPosition } from "./place.js";
import { newUuid } from "./store.js";

const FILE_NAMES = { card_photo: "card.jpg", voice_note: "voice-note" };
const panelEl = document.getElementById("sync");
const busy = new WeakSet();
const sync = () => import("./sync.js");
let photoPending = null; // a card photo being prepared (cards.js): Save waits for it

document.addEventListener("submit", (event) => {
  const form = event.target.closest?.("form[hx-post]");
  if (!form) return;
  event.preventDefault();
  if (busy.has(form)) return; // a double tap sends once
  if (form.matches("[data-capture-form]") && enabled) {
    // The second tap of a double tap finds the form the first one emptied: it is not a
    // capture without a name, and "Saved — Name" stays.
    if (formIsEmpty(form) && isShown(saved.uuid) && Date.now() - saved.at < DOUBLE_TAP_MS) return;
    saveOnPhone(form);
    return;
  }
  if (form.matches("[data-capture-form]")) stamp(form);
  post(form);
});

// A tap on Card photo: the server's card reader may have stopped while this page stayed
// open; it loads while the camera is up (at most once a minute; nothing waits for it).
const WARM_EVERY_MS = 60 * 1000;
let warmedAt = 0;
document.addEventListener("click", (event) => {
  const input = event.target.closest?.("[data-card-photo]");
  const url = input?.closest("[data-card-warm-url]")?.dataset.cardWarmUrl;
  if (!url || !navigator.onLine || Date.now() - warmedAt < WARM_EVERY_MS) return;
  warmedAt = Date.now();
  fetch(url, { method: "POST", headers: { "X-CSRFToken": csrfToken() }, credentials: "same-origin" })
    .catch(() => {});
});

// The capture's UUID (a queued one being edited keeps its own: stored once), when and where.
function stamp(form) {
  if (!form.elements.uuid.value) form.elements.uuid.value = state.editing || newUuid();
  if (!form.elements.captured_at.value) form.elements.captured_at.value = new Date().toISOString();
  const where = freshPosition();
  form.elements.latitude.value = where ? where.coords.latitude : "";
  form.elements.longitude.value = where ? where.coords.longitude : "";
}

async function saveOnPhone(form) {
  if (photoPending) {
    // "Preparing the photo…": the photo is part of this capture (it may stand for the name).
    busy.add(form);
    try {
      await photoPending;
    } catch (error) {
      // The photo could not be prepared: the capture is saved without it.
    } finally {
      busy.delete(form);
    }
  }
  stamp(form);
  const item = captureOf(form);
  if (!worthKeeping(form, item)) return;
  const editing = state.editing === item.uuid;
  clearForm(form); // the next card at once
  hideError();
  showSaved(item);
  try {
    await outbox.add("capture", item);
  } catch (error) {
    // The phone would not keep it (storage full, private mode): back in the form, said.
    const view = await sync();
    await view.restore(item);
    say(`<p class="refused">${escape("Not saved — this phone could not keep it. Try Save again.")}</p>`);
    return;
  }
  if (editing) state.editing = null;
  sync().then((view) => view.start({ afterSave: true })).catch(() => {});
}

// "Saved — Name · on this phone · Undo · Edit", then "on the server ✓". Offline it is one
// short line: the banner and "N waiting to sync" already say where it waits.
function showSaved(item) {
  const said = `Saved — <strong>${escape(displayName(item))}</strong>`;
  say(`<div class="saved" data-saved="${escape(item.uuid)}"><span>${said}</span>`
    + ` <span class="saved-state" data-saved-state>${navigator.onLine ? "· on this phone" : ""}</span>`
    + '<span class="status-actions"><button type="button" class="link-button" data-saved-undo>Undo</button>'
    + '<span aria-hidden="true">·</span><button type="button" class="link-button" data-saved-edit>Edit</button>'
    + "</span></div>");
  saved = { name: displayName(item), uuid: item.uuid, at: Date.now(), online: navigator.onLine };
}
// The capture the status names: a refusal of it that comes at once, while the form is
// still untouched, puts it back in the form (as the server's form did, online).
let saved = {};
const REFUSED_AT_ONCE_MS = 15 * 1000;
const DOUBLE_TAP_MS = 1000;
const shownSaved = () => document.querySelector("#capture-status [data-saved]");
const isShown = (uuid) => shownSaved()?.dataset.saved === uuid;

function showState(text, className) {
  const where = shownSaved()?.querySelector("[data-saved-state]");
  if (!where) return;
  where.textContent = text;
  where.className = `saved-state ${className || ""}`;
}

// The status follows the capture it names; a refusal of the card just saved, with the form
// still untouched, puts it back in the form with the server's messages next to the fields.
outbox.listen((event) => {
  if (event.item?.kind !== "capture" || !isShown(event.item.uuid)) return;
  if (event.type === "stored") {
    showState("· on the server ✓", "on-server");
    const edit = shownSaved().querySelector("[data-saved-edit]");
    if (edit && event.answer?.url) {
      const link = document.createElement("a");
      link.href = event.answer.url;
      link.textContent = "Edit";
      edit.replaceWith(link);
    }
  } else if (event.type === "refused") {
    const form = document.querySelector("[data-capture-form]");
    const atOnce = saved.online && Date.now() - saved.at < REFUSED_AT_ONCE_MS;
    if (form && atOnce && !state.editing && formIsEmpty(form) && !event.item.problem.message) {
      sync().then((view) => view.restore(event.item, { errors: event.item.problem }));
    } else {
      showState("Needs attention: see the list above.", "needs-attention");
    }
  }
});

// Undo: before the server has it, it leaves the queue and is never sent; after, the
// server removes it (capture.undo, within its time window) and answers the fragments.
// Edit: before, the capture goes back in the form (same UUID); after, its page.
document.addEventListener("click", async (event) => {
  const button = event.target.closest?.("[data-saved-undo], [data-saved-edit]");
  if (!button) return;
  const uuid = button.closest("[data-saved]").dataset.saved;
  const { name } = saved;
  button.disabled = true;
  const editing = button.matches("[data-saved-edit]");
  const result = await outbox.withdraw(uuid, { hold: editing });
  if (editing) {
    if (result.stored) window.location.assign(result.stored.url);
    else if (result.held) (await sync()).edit(uuid);
    return;
  }
  if (result.stored) {
    undoOnServer(uuid, result.stored);
  } else {
    say(`<p class="removed">Removed — ${escape(name)}.</p>`);
    (await sync()).render();
  }
});

async function undoOnServer(uuid, answer) {
  const url = panelEl.dataset.undoUrl.replace("/0/", `/${answer.id}/`);
  const body = new FormData();
  body.append("csrf_token", csrfToken());
  try {
    const response = await fetch(url, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRFToken": csrfToken() },
    });
    const html = await response.text();
    if (response.ok) outbox.forgetSent(uuid);
    if (response.ok || response.status === 409) swap(null, html);
    else showError(refusalMessage(response.status, response.headers.get("X-QuickCRM-Message")));
  } catch (error) {
    showError("No connection: nothing was undone. Try again when you have signal.");
  }
}

// A form posted as htmx would (the status's Undo of a page saved without JavaScript, and
// the capture form where the phone cannot keep anything).
async function post(form) {
  const capture = form.matches("[data-capture-form]");
  const body = new FormData(form);
  if (capture) {
    // The shrunk card photo and the voice note (cards.js, voice.js), not the camera's file.
    body.delete("card_photo");
    const detail = { blobs: {} };
    document.dispatchEvent(new CustomEvent("quickcrm:capture-blobs", { detail }));
    Object.entries(detail.blobs).forEach(([name, blob]) => body.set(name, blob, FILE_NAMES[name] || name));
  }
  busy.add(form);
  form.setAttribute("aria-busy", "true");
  const button = form.querySelector("button[type=submit]");
  if (button) button.disabled = true;
  hideError();
  let response;
  let html;
  try {
    response = await fetch(form.getAttribute("hx-post"), {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRFToken": csrfToken() },
    });
    html = await response.text();
  } catch (error) {
    showError("No connection: nothing was sent. Try again when you have signal.");
    return;
  } finally {
    busy.delete(form);
    form.removeAttribute("aria-busy");
    if (button) button.disabled = false;
  }
  const status = response.status;
  if ((status >= 200 && status < 300) || status === 409 || status === 422) {
    if (capture && status < 300) document.dispatchEvent(new CustomEvent("quickcrm:capture-cleared"));
    swap(form, html);
  } else if (response.headers.get("HX-Redirect")) {
    window.location.assign(response.headers.get("HX-Redirect"));
  } else {
    showError(refusalMessage(status, response.headers.get("X-QuickCRM-Message")));
  }
}

// What htmx would do with the answer: elements marked hx-swap-oob replace (or, with
// "innerHTML", fill) the element of the same id; the rest replaces the form, unless the
// form says hx-swap="none" (or there is no form).
function swap(form, html) {
  const answer = document.createElement("template");
  answer.innerHTML = html;
  const fresh = [];
  [...answer.content.children].filter((el) => el.hasAttribute("hx-swap-oob")).forEach((el) => {
    const how = el.getAttribute("hx-swap-oob");
    el.removeAttribute("hx-swap-oob");
    const target = document.getElementById(el.id);
    el.remove();
    if (!target) return;
    if (how === "innerHTML") {
      target.replaceChildren(...el.childNodes);
      fresh.push(target);
    } else {
      target.replaceWith(el);
      fresh.push(el);
    }
  });
  if (form && form.getAttribute("hx-swap") !== "none") {
    fresh.push(...[...answer.content.children]);
    form.replaceWith(answer.content);
  }
  fresh.forEach((elt) => document.dispatchEvent(new CustomEvent("quickcrm:load", { detail: { elt } })));
  // After a save the form is new: the cursor goes back in Name for the next card (or in
  // the field the server refused).
  const next = document.querySelector("[data-capture-form]");
  if (fresh.includes(next)) (next.querySelector("[aria-invalid=true]") || next.elements.name)?.focus();
}

// --- Loaded when used ------------------------------------------------------------------
// A card photo: cards.js shrinks it, shows it and has the server read it — also one chosen
// before this module ran (on a slow network).
function photoChosen(input) {
  const pending = import("./cards.js").then((cards) => cards.chosen(input));
  photoPending = pending;
  pending.finally(() => { if (photoPending === pending) photoPending = null; }).catch(() => {});
}
document.addEventListener("change", (event) => {
  if (event.target.matches?.("[data-card-photo]")) photoChosen(event.target);
});
document.querySelectorAll("[data-card-photo]").forEach((input) => {
  if (input.files?.length) photoChosen(input);
});
// Scan QR (qr.js): the camera live where the browser reads QR codes (BarcodeDetector);
// elsewhere Card photo opens at once, while the tap still counts as the rep's (a file
// chooser opens only then), and the server finds the code in the photo.
document.addEventListener("click", (event) => {
  const button = event.target.closest?.("[data-qr-scan]");
  if (!button) return;
  if (!("BarcodeDetector" in window)) {
    button.closest("[data-capture-form]")?.querySelector("[data-card-photo]")?.click();
    return;
  }
  import("./qr.js").then((qr) => qr.scan(button));
});
// A voice note, where the browser can record one.
const canRecord = "MediaRecorder" in window && !!navigator.mediaDevices?.getUserMedia;
function showRecorder(root) {
  root.querySelectorAll("[data-capture-attachments] [data-voice-record]").forEach((b) => { b.hidden = !canRecord; });
}
document.addEventListener("click", (event) => {
  const button = event.target.closest?.("[data-capture-attachments] [data-voice-record]");
  if (button && canRecord) import("./voice.js").then((voice) => voice.toggle(button));
});
document.addEventListener("quickcrm:load", (event) => showRecorder(event.detail.elt));
showRecorder(document);

// The queue's panel and sending when captures wait, and the Done and Snooze kept on the
// agenda when they wait. A page opened from the phone's copy (static/sw.js) loads all its
// modules from it at once, at no cost on the network — a deployment while it is open (a
// new worker, a new copy) then cannot give it a newer module than the ones it runs — and
// sync.js freshens it (token, recent captures, badge).
const fromCopy = Boolean(navigator.serviceWorker?.controller);
if (enabled) {
  outbox.items().then((items) => {
    if (items.some((item) => item.kind === "capture") || fromCopy) sync().then((s) => s.start());
    if (items.some((item) => item.kind === "action") || fromCopy) import("./queue.js");
  });
}
if (fromCopy) Promise.all([import("./cards.js"), import("./voice.js"), import("./qr.js")]).catch(() => {});
