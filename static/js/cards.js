// Card photo on the capture form. The photo is shrunk on the phone (about 2,000 px on the
// long side, JPEG) and, online, sent to the server to read: Name, Company, Email and Phone
// are filled where empty, each marked "from the card" until the rep touches it, and the
// title and website go into the note. Nothing is saved before Save; the photo is sent
// with the capture. Offline, the photo goes into the phone's queue with the capture
// (captures.js, "Attachments") and the server reads it when the capture syncs.
// A QR code on the card (a vCard, a MeCard) is read exactly, on the server or live by
// Scan QR (qr.js): its fields are marked "from the QR code" and the capture says
// card_read=qr while one of them is kept.
// capture.js loads this module when a photo is chosen (or a queued one is edited).
import { csrfToken } from "./app.js";

const LONG_SIDE = 2000;
const FILLED = { name: "Name", company_name: "Company", email: "Email", phone: "Phone", address: "Address" };
const MARKS = { card: "from the card", qr: "from the QR code" };
let photo = null; // the shrunk photo (a Blob) of the capture in the form
let previewUrl = null;
let reading = 0; // which read is the latest: an older answer is ignored

const form = () => document.querySelector("[data-capture-form]");

export function say(text, busy) {
  const status = form()?.querySelector("[data-card-status]");
  if (status) status.textContent = text;
  form()?.querySelector("[data-capture-attachments]")?.setAttribute("aria-busy", busy ? "true" : "false");
}

// The photo upright (the browser applies its EXIF orientation), at most LONG_SIDE px,
// as JPEG. A photo the browser cannot draw (HEIC on some phones) is sent as it is.
async function shrink(file) {
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    const scale = Math.min(1, LONG_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close?.();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
    return blob || file;
  } catch (error) {
    return file;
  }
}

function showPreview(formEl) {
  const img = formEl.querySelector("[data-card-preview]");
  if (!img) return;
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = photo ? URL.createObjectURL(photo) : null;
  img.hidden = !photo;
  if (previewUrl) img.src = previewUrl; else img.removeAttribute("src");
  const button = formEl.querySelector("[data-card-button]");
  if (button) button.textContent = photo ? "Photograph it again" : "Photograph a card";
}

// A field filled from the card (or its QR code: how) says so, for screen readers too,
// until it is edited.
function markFromCard(input, how = "card") {
  let mark = document.getElementById(`${input.id}-from-card`);
  if (!mark) {
    mark = document.createElement("span");
    mark.id = `${input.id}-from-card`;
    mark.className = "from-card";
    input.insertAdjacentElement("afterend", mark);
  }
  mark.textContent = MARKS[how];
  const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
  if (!described.includes(mark.id)) input.setAttribute("aria-describedby", [...described, mark.id].join(" "));
  input.dataset.fromCard = how;
}
function unmark(input) {
  if (!("fromCard" in input.dataset)) return;
  delete input.dataset.fromCard;
  // No field of the QR code's left: the capture is the rep's, not "from the QR code".
  const formEl = input.closest("[data-capture-form]");
  const read = formEl?.elements.card_read;
  if (read?.value === "qr" && !formEl.querySelector("[data-from-card=qr]")) read.value = "1";
  const id = `${input.id}-from-card`;
  document.getElementById(id)?.remove();
  const described = (input.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && x !== id);
  if (described.length) input.setAttribute("aria-describedby", described.join(" "));
  else input.removeAttribute("aria-describedby");
}

// The fields read from a card's text (how "card") or its QR code ("qr") into the form.
export function fill(formEl, fields, how = "card") {
  let inMore = false;
  let noteText = fields.note || "";
  Object.keys(FILLED).forEach((name) => {
    const input = formEl.elements[name];
    const value = fields[name];
    if (!value) return;
    if (!input) {
      // A form without this field (Address): the value goes into the note.
      noteText = [noteText, `${FILLED[name]}: ${value}`].filter(Boolean).join("\n");
      return;
    }
    // Never over what the rep typed; a value from an earlier card may be replaced.
    if (input.value.trim() && !("fromCard" in input.dataset)) return;
    input.value = value;
    markFromCard(input, how);
    if (name !== "name") inMore = true;
  });
  const note = formEl.elements.note;
  if (note && noteText && !note.value.includes(noteText)) {
    note.value = note.value.trim() ? `${note.value.trim()}\n${noteText}` : noteText;
    markFromCard(note, how);
  }
  const more = formEl.querySelector("[aria-controls=more-fields]");
  if (inMore && more && more.getAttribute("aria-expanded") !== "true") more.click();
}

async function read(formEl) {
  const mine = ++reading;
  say("Reading the card…", true);
  const body = new FormData();
  body.append("photo", photo, "card.jpg");
  try {
    const url = formEl.querySelector("[data-capture-attachments]").dataset.cardReadUrl;
    const response = await fetch(url, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    });
    const answer = await response.json().catch(() => ({}));
    if (mine !== reading) return;
    if (!response.ok) {
      say(answer.error || `The card could not be read (error ${response.status}). The photo is kept.`, false);
      return;
    }
    const how = answer.source === "qr" ? "qr" : "card";
    fill(formEl, answer.fields || {}, how);
    formEl.elements.card_read.value = how === "qr" ? "qr" : "1";
    say(answer.message || "Read from the card — check each field.", false);
  } catch (error) {
    if (mine !== reading) return;
    say("No network: the card will be read when this capture is sent.", false);
  }
}

// A photo was chosen (capture.js hands over the input's change).
export async function chosen(input) {
  const formEl = input.closest("[data-capture-form]");
  const file = input.files && input.files[0];
  if (!file || !formEl) return;
  say("Preparing the photo…", true);
  photo = await shrink(file);
  formEl.elements.card_read.value = "";
  showPreview(formEl);
  if (navigator.onLine) {
    read(formEl);
  } else {
    say("Offline: the card will be read when this capture syncs. Save keeps it on this phone.", false);
  }
}

// Touching a field filled from the card makes it the rep's own.
document.addEventListener("input", (event) => {
  if (event.target.dataset && "fromCard" in event.target.dataset) unmark(event.target);
});

// A form sent back with a refusal keeps the photo: show it again.
document.addEventListener("quickcrm:load", (event) => {
  const formEl = event.detail.elt?.matches?.("[data-capture-form]") ? event.detail.elt : null;
  if (formEl && photo) {
    showPreview(formEl);
    say("The card photo is kept with this capture.", false);
  }
});

function forget() {
  photo = null;
  reading += 1;
  const formEl = form();
  if (!formEl) return;
  showPreview(formEl);
  say("", false);
  const input = formEl.querySelector("[data-card-photo]");
  if (input) input.value = "";
  if (formEl.elements.card_read) formEl.elements.card_read.value = "";
  formEl.querySelectorAll("[data-from-card]").forEach(unmark);
}

// The phone's queue (captures.js) asks for the capture's files, and tells when a
// capture is kept (the form is cleared) or put back in the form to edit.
document.addEventListener("quickcrm:capture-blobs", (event) => {
  if (photo) event.detail.blobs.card_photo = photo;
});
document.addEventListener("quickcrm:capture-cleared", forget);
document.addEventListener("quickcrm:capture-restore", (event) => {
  photo = event.detail.blobs?.card_photo || null;
  const formEl = form();
  if (formEl && photo) {
    showPreview(formEl);
    say("The card photo is kept with this capture.", false);
  }
});
