// QuickCRM's small enhancements on top of plain forms, on every page. Everything works
// without this file; with it, the forms are quicker with one thumb. Page-specific parts are
// in pages.js (the pages that use htmx) and capture.js (the capture page).

export function localISODate(daysAhead) {
  const d = new Date();
  d.setDate(d.getDate() + daysAhead);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

// The page's CSRF token: the body's hx-headers (kept fresh by sync.js), else a form's.
export function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  } catch (error) {
    return document.querySelector("input[name=csrf_token]")?.value || "";
  }
}

// Requests that fail say so, instead of a button that silently does nothing.
let errorTimer = null;
export function showError(text) {
  const box = document.getElementById("request-error");
  if (!box) return;
  box.textContent = text;
  box.hidden = false;
  clearTimeout(errorTimer);
  errorTimer = setTimeout(() => { box.hidden = true; }, 8000);
}
export function hideError() {
  const box = document.getElementById("request-error");
  if (box) box.hidden = true;
}

// What the server says went wrong with a request it refused (X-QuickCRM-Message).
export function refusalMessage(status, told) {
  if (told) return decodeURIComponent(told);
  return status === 403 ? "Your role does not allow this."
    : status === 400 ? "This page has expired. Reload it and try again."
    : `Something went wrong on the server (${status}). Nothing was changed; please try again.`;
}

// Next-action chips: Tomorrow / Next week fill the date input with the phone's local date.
function syncChips(form) {
  const input = form.querySelector("input[name=next_action_on]");
  if (!input) return;
  form.querySelectorAll("[data-days-ahead]").forEach((chip) => {
    const pressed = input.value !== "" && input.value === localISODate(Number(chip.dataset.daysAhead));
    chip.setAttribute("aria-pressed", pressed ? "true" : "false");
  });
}

document.addEventListener("click", (event) => {
  const chip = event.target.closest("[data-days-ahead]");
  if (chip) {
    const form = chip.form;
    const input = form.querySelector("input[name=next_action_on]");
    const value = localISODate(Number(chip.dataset.daysAhead));
    input.value = chip.getAttribute("aria-pressed") === "true" ? "" : value;
    syncChips(form);
    return;
  }
  const more = event.target.closest("[aria-controls=more-fields]");
  if (more) {
    const panel = document.getElementById("more-fields");
    const open = more.getAttribute("aria-expanded") !== "true";
    more.setAttribute("aria-expanded", open ? "true" : "false");
    panel.toggleAttribute("data-collapsed", !open);
    if (open) panel.querySelector("input")?.focus();
  }
});

// A second tap on the chosen temperature clears it (radios cannot do that alone).
document.addEventListener("pointerdown", (event) => {
  const radio = event.target.closest(".toggle input[type=radio]");
  if (radio) radio.dataset.wasChecked = radio.checked ? "true" : "false";
});
document.addEventListener("click", (event) => {
  const radio = event.target.closest(".toggle input[type=radio]");
  if (radio && radio.dataset.wasChecked === "true") radio.checked = false;
  if (radio) delete radio.dataset.wasChecked;
});

document.addEventListener("input", (event) => {
  if (event.target.matches("input[name=next_action_on]")) syncChips(event.target.form);
  clearError(event.target);
});
document.addEventListener("change", (event) => clearError(event.target));

// A field's error goes as soon as the field is changed: the message was about the old value.
function clearError(field) {
  const box = field.closest?.(".has-error, .field, fieldset");
  const marked = field.getAttribute?.("aria-invalid") === "true" || box?.classList.contains("has-error");
  if (!marked) return;
  field.removeAttribute("aria-invalid");
  box?.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  box?.querySelectorAll(".field-error").forEach((el) => {
    box.querySelectorAll(`[aria-describedby~="${el.id}"]`).forEach((input) => {
      const rest = input.getAttribute("aria-describedby").split(/\s+/).filter((id) => id !== el.id);
      if (rest.length) input.setAttribute("aria-describedby", rest.join(" "));
      else input.removeAttribute("aria-describedby");
    });
    el.remove();
  });
  box?.classList.remove("has-error");
}

// Dictation where the browser offers speech recognition; the button stays hidden elsewhere.
const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
function setUpDictation(root) {
  if (!Recognition) return;
  root.querySelectorAll("[data-dictate]").forEach((button) => { button.hidden = false; });
}
let listening = null;
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-dictate]");
  if (!button || !Recognition) return;
  if (listening) { listening.stop(); return; }
  const field = document.getElementById(button.dataset.dictate);
  const recognition = new Recognition();
  recognition.lang = document.documentElement.lang || "en";
  recognition.interimResults = false;
  recognition.onresult = (e) => {
    const said = Array.from(e.results).map((r) => r[0].transcript).join(" ").trim();
    field.value = field.value ? `${field.value.trimEnd()} ${said}` : said;
  };
  recognition.onend = () => { listening = null; button.setAttribute("aria-pressed", "false"); };
  recognition.onerror = (e) => {
    if (e.error === "not-allowed" || e.error === "service-not-allowed") {
      showError("The microphone is blocked for this site: allow it in the browser's settings.");
    } else if (e.error === "network") {
      showError("Dictation needs a connection here: type the note instead.");
    }
    recognition.onend();
  };
  listening = recognition;
  button.setAttribute("aria-pressed", "true");
  recognition.start();
});

// The account menu closes on a tap elsewhere or Escape.
document.addEventListener("click", (event) => {
  document.querySelectorAll("details.menu[open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.open = false;
  });
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const menu = event.target.closest?.("details.menu[open]");
  if (!menu) return;
  menu.open = false;
  menu.querySelector("summary").focus();
});

// The service worker keeps the app on the phone (static/sw.js): every signed-in page
// registers it, so the pages a rep opens are kept for a day without signal.
if ("serviceWorker" in navigator && document.body.dataset.serviceWorker) {
  navigator.serviceWorker.register(document.body.dataset.serviceWorker, { scope: "/" }).catch(() => {});
}

// "Offline" while the phone has no network; the page shown is then the phone's copy.
function showConnection() {
  const state = document.querySelector("[data-connection-state]");
  if (!state) return;
  state.textContent = navigator.onLine ? "" : "Offline — what you do waits on this phone.";
  document.documentElement.classList.toggle("offline", !navigator.onLine);
  document.querySelectorAll("[data-needs-network]").forEach((el) => { el.disabled = !navigator.onLine; });
}
window.addEventListener("online", showConnection);
window.addEventListener("offline", showConnection);

function enhance(root) {
  root.querySelectorAll("[data-capture-form], [data-field-form]").forEach((form) => {
    syncChips(form);
    const date = form.querySelector("input[name=next_action_on]");
    if (date && !date.min) date.min = localISODate(0);
  });
  setUpDictation(root);
}

// A page sent back with a refusal (422) puts the focus on the first field in error and
// shows it with its message, wherever the form is on the page (a long admin page had its
// error off screen). A page that focuses a field of its own (autofocus) keeps that.
function focusFirstError() {
  if (document.querySelector("[autofocus]")) return;
  // (A refusal that belongs to no field is marked data-refusal, focusable with tabindex=-1.)
  const field = document.querySelector("main form [aria-invalid=true], main [data-refusal]");
  if (!field || field.closest("details:not([open])")) return;
  field.focus({ preventScroll: true });
  (field.closest(".field") || field).scrollIntoView({ block: "center" });
}

// New content: htmx's swaps (pages.js) and the capture page's own (capture.js, sync.js).
document.addEventListener("htmx:load", (event) => enhance(event.detail.elt));
document.addEventListener("quickcrm:load", (event) => enhance(event.detail.elt));
// A module runs once the page is parsed (as a deferred script does).
enhance(document);
showConnection();
focusFirstError();
