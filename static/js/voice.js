// Voice notes: "Record voice note" then "Stop" (MediaRecorder; the button stays hidden
// where the browser has none). On the capture form the recording goes with the capture —
// online with Save, offline in the phone's queue (captures.js, "Attachments"). On a
// lead's page it is sent at once and the page's attachments show it. The capture page
// loads this module at the first tap on "Record voice note" (capture.js).
import { csrfToken } from "./app.js";
import { newUuid } from "./store.js";

const supported = "MediaRecorder" in window && !!navigator.mediaDevices?.getUserMedia;
let note = null; // the recording (a Blob) of the capture in the form
let previewUrl = null;
let recorder = null;
let ticking = null; // the clock shown on "Stop" while recording
let startedAt = 0;
// A note stopped sooner may hold no sound at all: the player could not even load it.
const SHORTEST_MS = 500;

const scopeOf = (button) => button.closest("[data-capture-attachments], [data-voice-notes]");

function say(scope, text) {
  const status = scope?.querySelector("[data-voice-status]");
  if (status) status.textContent = text;
}

function showPreview(scope) {
  const audio = scope?.querySelector("[data-voice-preview]");
  if (!audio) return;
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = note ? URL.createObjectURL(note) : null;
  audio.hidden = !note;
  if (previewUrl) audio.src = previewUrl; else audio.removeAttribute("src");
}

function setUp(root) {
  root.querySelectorAll("[data-voice-record]").forEach((button) => { button.hidden = !supported; });
}

async function start(button) {
  const scope = scopeOf(button);
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    say(scope, "The microphone is not available: allow it for this site in the browser's settings.");
    return;
  }
  const chunks = [];
  recorder = new MediaRecorder(stream);
  recorder.addEventListener("dataavailable", (event) => { if (event.data.size) chunks.push(event.data); });
  recorder.addEventListener("stop", () => {
    stream.getTracks().forEach((track) => track.stop());
    const type = (recorder.mimeType || "audio/webm").split(";")[0];
    recorder = null;
    clearInterval(ticking);
    button.textContent = "Record voice note";
    button.removeAttribute("aria-pressed");
    const long = performance.now() - startedAt >= SHORTEST_MS;
    finished(button, long ? new Blob(chunks, { type }) : null);
  });
  recorder.start();
  showClock(button);
  button.setAttribute("aria-pressed", "true");
  say(scope, "Recording…");
}

// "Stop 0:07": how long the note is so far (outside the button's name, which stays "Stop").
function showClock(button) {
  const clock = document.createElement("span");
  clock.className = "voice-clock";
  clock.setAttribute("aria-hidden", "true");
  button.replaceChildren("Stop ", clock);
  startedAt = performance.now();
  const tick = () => {
    const seconds = Math.floor((performance.now() - startedAt) / 1000);
    clock.textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  };
  tick();
  ticking = setInterval(tick, 250);
}

function finished(button, blob) {
  const scope = scopeOf(button);
  if (!blob) {
    say(scope, "That was too short to keep: hold on a moment before Stop.");
    return;
  }
  if (!blob.size) {
    say(scope, "Nothing was recorded.");
    return;
  }
  if (scope?.matches("[data-voice-notes]")) {
    send(scope, blob);
    return;
  }
  note = blob;
  showPreview(scope);
  say(scope, "Voice note recorded: it is sent with the capture.");
}

// On a lead's page: sent at once; the answer is the page's attachments, with the note.
// With no network (or no answer) it waits in the phone's queue (outbox.js) under a UUID
// made here, and is sent when the network returns: the server keeps it once.
async function send(scope, blob) {
  const key = newUuid();
  if (!navigator.onLine) {
    await keepOnPhone(scope, blob, key);
    return;
  }
  const body = new FormData();
  body.append("client_key", key);
  body.append("voice_note", blob, "voice-note");
  say(scope, "Sending the voice note…");
  try {
    const response = await fetch(scope.dataset.voiceUrl, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" },
    });
    const html = await response.text();
    const fresh = new DOMParser().parseFromString(html, "text/html").getElementById(scope.id);
    if (fresh) {
      scope.replaceWith(fresh);
      window.htmx?.process(fresh);
      setUp(fresh);
    } else {
      say(scope, `The voice note was not saved (error ${response.status}).`);
    }
  } catch (error) {
    await keepOnPhone(scope, blob, key);
  }
}

async function keepOnPhone(scope, blob, key) {
  try {
    const outbox = await import("./outbox.js");
    await outbox.add("action", {
      uuid: key,
      url: scope.dataset.voiceUrl,
      label: "Voice note",
      item: null,
      fields: [["client_key", key]],
      blobs: { voice_note: blob },
    });
    say(scope, "Voice note kept on this phone: it is sent when the network returns.");
  } catch (error) {
    say(scope, "No network: the voice note was not saved. Record it again when you are online.");
  }
}

// "Record voice note", then "Stop" (capture.js hands over the capture form's taps).
export function toggle(button) {
  if (!supported) return;
  if (recorder) recorder.stop(); else start(button);
}
document.addEventListener("click", (event) => {
  const button = event.target.closest?.("[data-voice-notes] [data-voice-record]");
  if (button) toggle(button);
});

document.addEventListener("htmx:load", (event) => setUp(event.detail.elt));
// A form sent back with a refusal keeps the recording: show it again.
document.addEventListener("quickcrm:load", (event) => {
  const scope = event.detail.elt.querySelector?.("[data-capture-attachments]");
  if (scope && note) {
    showPreview(scope);
    say(scope, "The voice note is kept with this capture.");
  }
});

function forget() {
  note = null;
  const scope = document.querySelector("[data-capture-attachments]");
  showPreview(scope);
  say(scope, "");
}

// The phone's queue (captures.js) asks for the capture's files, and tells when a
// capture is kept (the form is cleared) or put back in the form to edit.
document.addEventListener("quickcrm:capture-blobs", (event) => {
  if (note) event.detail.blobs.voice_note = note;
});
document.addEventListener("quickcrm:capture-cleared", forget);
document.addEventListener("quickcrm:capture-restore", (event) => {
  note = event.detail.blobs?.voice_note || null;
  const scope = document.querySelector("[data-capture-attachments]");
  showPreview(scope);
  if (note) say(scope, "The voice note is kept with this capture.");
});

setUp(document);
