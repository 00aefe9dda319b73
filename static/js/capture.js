// The capture page. Save posts the form with a UUID the page made (its idempotency key),
// the phone's time and, if allowed, its place, and shows the fragments the server answers
// (the fresh form, the "Saved — Name · Undo · Edit" status, the recent captures). A
// capture that does not get through is kept on this phone (captures.js) and sent later
// (sync.js). This page loads no htmx: posting its two forms is all it needed of it.
// What only some visits use is loaded when it is used: the queue's panel and sending,
// the card photo, the voice note, the queued Done and Snooze of the agenda.
import { csrfToken, hideError, refusalMessage, showError } from "./app.js";
import {
  allCaptures, blobsOf, enabled, getCapture, keep, removeCapture, state, sync, USER,
} from "./captures.js";
import { freshPosition } from "./place.js";
import { newUuid, objectStore } from "./store.js";

const TIMEOUT_MS = 15 * 1000; // then a capture counts as not sent, and is kept
const FILE_NAMES = { card_photo: "card.jpg", voice_note: "voice-note" };
const busy = new WeakSet();

// Each Save gets its UUID, the phone's time and (if allowed) its place; with no network at
// all the capture goes straight to the queue. A queued capture being edited keeps its
// UUID, so the server stores it once.
document.addEventListener("submit", (event) => {
  const form = event.target.closest?.("form[hx-post]");
  if (!form) return;
  event.preventDefault();
  if (busy.has(form)) return; // a double tap sends once
  if (form.matches("[data-capture-form]")) {
    if (!form.elements.uuid.value) form.elements.uuid.value = state.editing || newUuid();
    form.elements.captured_at.value = new Date().toISOString();
    const where = freshPosition();
    form.elements.latitude.value = where ? where.coords.latitude : "";
    form.elements.longitude.value = where ? where.coords.longitude : "";
    if (!navigator.onLine && enabled) {
      keep(form);
      return;
    }
  }
  post(form);
});

async function post(form) {
  const capture = form.matches("[data-capture-form]");
  const body = new FormData(form);
  if (capture) {
    // The shrunk card photo and the voice note (cards.js, voice.js), not the camera's file.
    body.delete("card_photo");
    Object.entries(blobsOf()).forEach(([name, blob]) => body.set(name, blob, FILE_NAMES[name] || name));
  }
  busy.add(form);
  form.setAttribute("aria-busy", "true");
  const button = form.querySelector("button[type=submit]");
  if (button) button.disabled = true;
  hideError();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  let response;
  let html;
  try {
    response = await fetch(form.getAttribute("hx-post"), {
      method: "POST",
      body,
      credentials: "same-origin",
      signal: controller.signal,
      headers: { "HX-Request": "true", "X-CSRFToken": csrfToken() },
    });
    html = await response.text();
  } catch (error) {
    // No answer (no network, or it went while waiting): the capture waits on the phone.
    if (capture && enabled) keepUntilLater(form);
    else showError("No connection: nothing was sent. Try again when you have signal.");
    return;
  } finally {
    clearTimeout(timer);
    busy.delete(form);
    form.removeAttribute("aria-busy");
    if (button) button.disabled = false;
  }
  const status = response.status;
  if (capture && enabled && [400, 401, 403].includes(status)) {
    // The session expired (401), or the page's token is older than the session
    // (400/403): keep the capture; the sync then gets a fresh token or asks to sign in.
    if (await keep(form)) sync().then((s) => s.syncNow());
  } else if (capture && enabled && status >= 500) {
    keepUntilLater(form, 1); // the server's error counts as the first try
  } else if ((status >= 200 && status < 300) || status === 409 || status === 422) {
    if (capture && status < 300) {
      // Saved by the server: if it was a queued capture being edited, it is done.
      const uuid = form.elements.uuid.value;
      if (uuid === state.editing) state.editing = null;
      if (uuid && enabled) getCapture(uuid).then((queued) => queued && removeCapture(uuid));
      document.dispatchEvent(new CustomEvent("quickcrm:capture-cleared"));
    }
    swap(form, html);
  } else if (response.headers.get("HX-Redirect")) {
    window.location.assign(response.headers.get("HX-Redirect"));
  } else {
    showError(refusalMessage(status, response.headers.get("X-QuickCRM-Message")));
  }
}

const keepUntilLater = (form, tries = 0) => keep(form, undefined, tries)
  .then((kept) => kept && sync().then((s) => s.tryAgainLater()));

// What htmx would do with the answer: elements marked hx-swap-oob replace (or, with
// "innerHTML", fill) the element of the same id; the rest replaces the form, unless the
// form says hx-swap="none".
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
  if (form.getAttribute("hx-swap") !== "none") {
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
const photoChosen = (input) => import("./cards.js").then((cards) => cards.chosen(input));
document.addEventListener("change", (event) => {
  if (event.target.matches?.("[data-card-photo]")) photoChosen(event.target);
});
document.querySelectorAll("[data-card-photo]").forEach((input) => {
  if (input.files?.length) photoChosen(input);
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
  allCaptures().then((items) => {
    if (items.length || fromCopy) sync().then((s) => s.start());
  });
  objectStore("quickcrm-actions", "actions").mine(USER).then((actions) => {
    if (actions.length || fromCopy) import("./queue.js");
  });
}
if (fromCopy) Promise.all([import("./cards.js"), import("./voice.js")]).catch(() => {});
