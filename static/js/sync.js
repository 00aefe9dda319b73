// The queue of captures kept on this phone (captures.js): what the rep sees ("N waiting to
// sync", Sync now, captures that need a look, Edit and Discard) and the sending, with the
// same UUID until the server confirms. capture.js loads this module when captures wait,
// when one is kept, and on a page opened from the phone's copy (which it freshens).
import { csrfToken, element } from "./app.js";
import { gaveUp, MAX_TRIES } from "./store.js";
import {
  allCaptures, channel, clearForm, displayName, escape, FIELDS, getCapture, putCapture,
  removeCapture, say, state, USER,
} from "./captures.js";

const panel = document.getElementById("sync");
const SYNC_URL = panel.dataset.syncUrl;
const TOKEN_URL = panel.dataset.tokenUrl;
const form = () => document.querySelector("[data-capture-form]");

// Once something waited during this visit, the panel stays to say when all is sent.
// `confirming` is the capture whose Discard asks "sure?".
const view = { signIn: false, waitedThisVisit: false, syncing: false, confirming: null };

// --- What the rep sees: "N waiting to sync", Sync now, captures that need a look. -------
export async function render() {
  const items = await allCaptures();
  const waiting = items.filter((item) => !item.problem);
  const problems = items.filter((item) => item.problem);
  panel.querySelector("[data-sync-count]").textContent = `${waiting.length} waiting to sync`;
  const attention = panel.querySelector("[data-sync-attention]");
  attention.textContent = problems.length === 1 ? "1 needs attention" : `${problems.length} need attention`;
  attention.hidden = !problems.length;
  panel.querySelector("[data-sync-sign-in]").hidden = !(view.signIn && waiting.length);
  // Sync now needs a network: with none it waits, disabled, and the queue waits too.
  panel.querySelector("[data-sync-button]").disabled = view.syncing || !waiting.length || !navigator.onLine;
  const toggle = panel.querySelector("[data-sync-toggle]");
  toggle.disabled = !waiting.length;
  if (!waiting.length) toggle.setAttribute("aria-expanded", "false");
  const list = panel.querySelector("[data-sync-list]");
  list.classList.toggle("open", toggle.getAttribute("aria-expanded") === "true");
  list.replaceChildren(...items.map(itemRow));
  view.waitedThisVisit = view.waitedThisVisit || items.length > 0;
  panel.querySelector("[data-sync-all-sent]").hidden = items.length > 0;
  panel.hidden = !view.waitedThisVisit;
  panel.classList.toggle("has-problems", problems.length > 0);
  return items.length;
}

function itemRow(item) {
  const li = element("li");
  li.dataset.uuid = item.uuid;
  const name = element("span", "sync-name", displayName(item));
  name.id = `sync-${item.uuid}`;
  li.append(name);
  if (!item.problem) {
    // Sent but not taken yet (a server error): it is tried again by itself.
    if (item.last_error) {
      li.className = "sync-retrying"; // listed even when the list is closed: it says why
      li.append(element("span", "sync-note", item.last_error));
    }
    return li;
  }
  li.className = "sync-problem";
  li.append(
    element("strong", "sync-flag", "Needs attention"),
    element("span", "sync-why", Object.values(item.problem).join(" ")),
  );
  if (state.editing === item.uuid) {
    li.append(element("span", "sync-note", "In the form below: Save sends it."));
  }
  if (view.confirming === item.uuid) {
    li.append(confirmDiscard(item, name));
    return li;
  }
  const actions = element("span", "sync-actions");
  // "Edit" and "Discard" exactly, the names the tests and screen readers rely on; the row's name describes them.
  actions.append(
    button("Edit", () => editCapture(item.uuid), name.id),
    button("Discard", () => askDiscard(item.uuid), name.id),
  );
  li.append(actions);
  return li;
}

function confirmDiscard(item, name) {
  const box = element("div", "sync-confirm");
  box.setAttribute("role", "group");
  const question = element("p", "", `Discard ${name.textContent}? It was never sent and cannot be brought back.`);
  question.id = `sync-confirm-${item.uuid}`;
  box.setAttribute("aria-labelledby", question.id);
  const keep = button("Keep", () => keepIt(item.uuid));
  keep.dataset.keep = "";
  const discard = button("Yes, discard", () => discardCapture(item.uuid));
  discard.classList.add("danger");
  box.append(question, keep, discard);
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape") keepIt(item.uuid);
  });
  return box;
}

function button(text, onClick, describedBy) {
  const b = element("button", "link-button", text);
  b.type = "button";
  if (describedBy) b.setAttribute("aria-describedby", describedBy);
  b.addEventListener("click", onClick);
  return b;
}

const rowOf = (uuid) => panel.querySelector(`[data-sync-list] li[data-uuid="${CSS.escape(uuid)}"]`);

// --- Sending the queue. --------------------------------------------------------------------
function useToken(token) {
  document.body.setAttribute("hx-headers", JSON.stringify({ "X-CSRFToken": token }));
  document.querySelectorAll("input[name=csrf_token]").forEach((input) => { input.value = token; });
}

// A request with no answer at all within this time counts as no network.
const ANSWER_TIMEOUT_MS = 20 * 1000;

// The whole exchange (answer and body) or an error; a JSON body is read, others not.
async function ask(url, options) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ANSWER_TIMEOUT_MS);
  try {
    const response = await fetch(url, {
      credentials: "same-origin", redirect: "manual", signal: controller.signal, ...options,
    });
    const json = (response.headers.get("Content-Type") || "").includes("application/json");
    return {
      status: response.status,
      signedOut: response.type === "opaqueredirect" || response.status === 401,
      body: json ? await response.json().catch(() => null) : null,
    };
  } finally {
    clearTimeout(timer);
  }
}

async function freshToken() {
  const answer = await ask(TOKEN_URL, { headers: { Accept: "application/json" } });
  const token = answer.status === 200 && answer.body?.csrf_token;
  if (!token) return null;
  useToken(token);
  return token;
}

const hasBlobs = (item) => !!item.blobs && Object.keys(item.blobs).length > 0;

function post(item, token) {
  if (hasBlobs(item)) return postMultipart(item, token);
  return ask(SYNC_URL, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json",
      "X-CSRFToken": token,
      "Idempotency-Key": item.uuid,
    },
    body: JSON.stringify({
      ...item.fields,
      uuid: item.uuid,
      captured_at: item.captured_at,
      latitude: item.latitude,
      longitude: item.longitude,
    }),
  });
}

function postMultipart(item, token) {
  const body = new FormData();
  Object.entries(item.fields).forEach(([name, value]) => body.append(name, value));
  body.append("uuid", item.uuid);
  body.append("captured_at", item.captured_at);
  body.append("latitude", item.latitude ?? "");
  body.append("longitude", item.longitude ?? "");
  Object.entries(item.blobs).forEach(([name, blob]) => body.append(name, blob, name));
  return ask(SYNC_URL, {
    method: "POST",
    headers: { Accept: "application/json", "X-CSRFToken": token, "Idempotency-Key": item.uuid },
    body,
  });
}

const TOO_LARGE = "This capture is too large for the server: shorten the note.";

// The server's own words for a capture it will not take: {field: message}.
function refusal(answer) {
  const { errors, error } = answer.body || {};
  if (errors && typeof errors === "object" && Object.keys(errors).length) {
    return Object.fromEntries(Object.entries(errors).map(
      ([field, message]) => [field, [].concat(message).join(" ")],
    ));
  }
  if (typeof error === "string" && error) return { capture: error };
  if (answer.status === 413) return { capture: TOO_LARGE };
  return { capture: `The server did not accept this capture (error ${answer.status}).` };
}

// What came of sending one capture:
//   "stored"; "refused" for good (with the messages: it needs the rep);
//   "sign-in" (signed out: everything waits); "unreachable" (no network or no answer:
//   everything waits); "later" (a server error or an answer that is not QuickCRM's:
//   this one waits, the next is tried; `tries` is 1 when it counts as a try).
async function send(item) {
  let answer;
  try {
    answer = await post(item, csrfToken());
    if (!answer.signedOut && (answer.status === 400 || answer.status === 403)) {
      // The page's token may be older than the session (a page from the phone's cache).
      const token = await freshToken();
      if (!token) return { outcome: "sign-in" };
      answer = await post(item, token);
    }
  } catch (error) {
    return { outcome: "unreachable" };
  }
  const status = answer.status;
  if (answer.signedOut || status === 403) return { outcome: "sign-in" };
  if ((status === 200 || status === 201) && answer.body?.id !== undefined) return { outcome: "stored" };
  if (status >= 500 || status === 408 || status === 429) {
    return {
      outcome: "later",
      why: `Not taken yet: the server had a problem (error ${status}). Trying again.`,
      // A server error counts towards MAX_TRIES; a server asking to wait does not.
      tries: status >= 500 ? 1 : 0,
      message: typeof answer.body?.error === "string" ? answer.body.error : "",
    };
  }
  if (status >= 400) return { outcome: "refused", problem: refusal(answer) };
  // A 2xx or 3xx that is not QuickCRM's answer: a Wi-Fi sign-in page, a proxy.
  return { outcome: "later", why: "Not taken yet: the network answered instead of QuickCRM. Trying again." };
}

// One tab sends at a time (Web Locks); a tab that waited re-reads the queue, so what the
// other tab sent is not sent again.
function exclusively(work) {
  return navigator.locks ? navigator.locks.request("quickcrm-sync", work) : work();
}

// A queue that could not all be sent is tried again by itself, after 5 s, 10 s, 20 s…
// up to 5 minutes between tries (a little less at random, so phones do not all come
// back at once); Sync now tries at once.
const RETRY_FIRST_MS = 5 * 1000;
const RETRY_MAX_MS = 5 * 60 * 1000;
let failedTries = 0;
let retry = null;

export function tryAgainLater() {
  clearTimeout(retry);
  if (!navigator.onLine) return; // "online" syncs when the network is back
  failedTries += 1;
  const full = Math.min(RETRY_FIRST_MS * 2 ** (failedTries - 1), RETRY_MAX_MS);
  const delay = Math.round(full * (0.8 + 0.2 * Math.random()));
  panel.dataset.retryIn = delay; // when the next try is, for whoever looks (tests)
  retry = setTimeout(syncNow, delay);
}

export async function syncNow() {
  if (view.syncing) return;
  view.syncing = true;
  clearTimeout(retry);
  delete panel.dataset.retryIn;
  panel.setAttribute("aria-busy", "true");
  panel.querySelector("[data-sync-button]").disabled = true;
  let failed = false;
  let stored = 0;
  try {
    await exclusively(async () => {
      for (const queued of await allCaptures()) {
        const item = await getCapture(queued.uuid);
        if (!item || item.problem) continue;
        const result = await send(item);
        if (result.outcome === "stored") {
          await removeCapture(item.uuid);
          stored += 1;
          view.signIn = false;
        } else if (result.outcome === "refused") {
          await putCapture({ ...item, problem: result.problem, last_error: null });
        } else if (result.outcome === "later") {
          const tries = (item.tries || 0) + (result.tries || 0);
          if (tries >= MAX_TRIES) {
            await putCapture({ ...item, tries, problem: { capture: gaveUp(tries, result.message) }, last_error: null });
          } else {
            failed = true;
            await putCapture({ ...item, tries, last_error: result.why });
          }
        } else {
          view.signIn = result.outcome === "sign-in";
          failed = result.outcome === "unreachable";
          break;
        }
      }
    });
  } catch (error) {
    failed = true; // IndexedDB or the lock failed: try the whole round again later
  } finally {
    view.syncing = false;
    await render();
    panel.removeAttribute("aria-busy");
    if (failed) {
      tryAgainLater();
    } else {
      failedTries = 0;
    }
    if (stored) {
      channel?.postMessage("synced");
      refreshRecent();
    }
  }
}

// What was just sent now shows under "My recent captures" — unless a later refresh was
// asked for, or a save's answer replaced the list meanwhile: theirs is newer.
let refreshes = 0;
let refreshed = null; // the list the last refresh put in
export async function refreshRecent() {
  const before = document.getElementById("recent");
  if (!before) return;
  const mine = ++refreshes;
  try {
    const response = await fetch(panel.dataset.page, { credentials: "same-origin", redirect: "manual" });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById("recent");
    const recent = document.getElementById("recent");
    if (!fresh || !recent || mine !== refreshes || (recent !== before && recent !== refreshed)) return;
    recent.replaceWith(fresh);
    refreshed = fresh;
    const badge = page.getElementById("agenda-badge");
    if (badge) document.getElementById("agenda-badge")?.replaceWith(badge);
    document.dispatchEvent(new CustomEvent("quickcrm:load", { detail: { elt: fresh } }));
  } catch (error) {
    // Offline again: the list catches up on the next sync.
  }
}

// Edit puts a refused capture back in the form; it stays in the queue, marked, until
// the form's Save is taken by the server (same UUID: stored once) or kept again.
async function editCapture(uuid) {
  const item = await getCapture(uuid);
  const formEl = form();
  if (!item || !formEl) return;
  clearForm(formEl);
  FIELDS.forEach((name) => {
    const el = formEl.elements[name];
    if (!el) return;
    if (el instanceof RadioNodeList || el.type === "radio") {
      formEl.querySelectorAll(`input[name=${name}]`).forEach((r) => { r.checked = r.value === item.fields[name]; });
    } else {
      el.value = item.fields[name] || "";
    }
  });
  formEl.elements.uuid.value = item.uuid;
  formEl.elements.captured_at.value = item.captured_at;
  // The photo and the voice note go back to the modules that show them.
  const blobs = item.blobs || {};
  if (blobs.card_photo) await import("./cards.js");
  if (blobs.voice_note) await import("./voice.js");
  document.dispatchEvent(new CustomEvent("quickcrm:capture-restore", { detail: { blobs } }));
  state.editing = item.uuid;
  await render();
  // The field the server named, else Name; More opens if it holds that field or values.
  const field = Object.keys(item.problem || {}).map((name) => formEl.elements[name])
    .find((el) => el && !(el instanceof RadioNodeList)) || formEl.elements.name;
  const more = formEl.querySelector("[aria-controls=more-fields]");
  const moreFields = document.getElementById("more-fields");
  if (more && more.getAttribute("aria-expanded") !== "true" && (moreFields?.contains(field)
      || item.fields.company_name || item.fields.phone || item.fields.email)) more.click();
  field.focus();
  say(`<p class="kept">Editing <strong>${escape(displayName(item))}</strong> — Save sends it.</p>`);
}

// Discard asks first, in the row itself (no window.confirm: it works with the keyboard
// and a screen reader, and the focus stays where the rep is).
async function askDiscard(uuid) {
  view.confirming = uuid;
  await render();
  rowOf(uuid)?.querySelector("[data-keep]")?.focus();
}

async function keepIt(uuid) {
  view.confirming = null;
  await render();
  [...(rowOf(uuid)?.querySelectorAll("button") || [])].find((b) => b.textContent === "Discard")?.focus();
}

async function discardCapture(uuid) {
  view.confirming = null;
  const formEl = form();
  if (state.editing === uuid && formEl) clearForm(formEl);
  await removeCapture(uuid);
  const item = (await allCaptures()).find((i) => i.problem);
  const next = item && rowOf(item.uuid)?.querySelector("button");
  (next || formEl?.elements.name)?.focus();
}

// The page may be the phone's copy (static/sw.js opens it from the cache at once): a
// fresh CSRF token, recent captures and agenda badge are fetched behind it. A session
// that ended sends the rep to sign in; another rep's copy is never used.
async function freshen() {
  if (!navigator.onLine || !navigator.serviceWorker?.controller) return;
  let answer;
  try {
    answer = await ask(TOKEN_URL, { headers: { Accept: "application/json" } });
  } catch (error) {
    return; // no answer: the page from the phone is all there is for now
  }
  if (answer.signedOut) {
    if (!(await allCaptures()).length) window.location.assign(panel.dataset.signIn);
    return;
  }
  if (answer.status !== 200 || !answer.body?.csrf_token) return;
  if (String(answer.body.user) !== USER && !sessionStorage.getItem("quickcrm.reloaded")) {
    sessionStorage.setItem("quickcrm.reloaded", "1"); // once: the worker has a fresh copy now
    window.location.reload();
    return;
  }
  sessionStorage.removeItem("quickcrm.reloaded");
  useToken(answer.body.csrf_token);
  refreshRecent();
}

// --- When to sync. -------------------------------------------------------------------------
panel.querySelector("[data-sync-button]").addEventListener("click", syncNow);
panel.querySelector("[data-sync-toggle]").addEventListener("click", (event) => {
  const toggle = event.currentTarget;
  toggle.setAttribute("aria-expanded", toggle.getAttribute("aria-expanded") === "true" ? "false" : "true");
  render();
});
window.addEventListener("offline", render);
window.addEventListener("online", () => {
  failedTries = 0; // a new network: start again with short pauses
  syncNow();
});

// Opening the page sends what waits, and freshens a page from the phone's copy.
export function start() {
  render().then(syncNow);
  freshen();
}
