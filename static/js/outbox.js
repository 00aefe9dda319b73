// The phone's one queue (docs/offline.md): every capture and every queued action (Done,
// Snooze, a note) waits here, in IndexedDB, until the server confirms it — one way to send,
// one token refresh, one schedule of retries, one list of what needs attention. Each item
// carries a UUID made on the phone, its idempotency key: the server stores it once however
// often it is sent. The pages only add items and show them (capture.js, sync.js: the
// captures; queue.js: the actions); this module never touches a page's markup.
import { csrfToken } from "./app.js";
import { objectStore } from "./store.js";

// An item the server answers with an error (5xx) this many times is not sent again by
// itself (about 10 minutes of pauses): it needs attention like a refusal, with the server's
// message, until the rep discards it (or edits a capture and saves it again). No network
// and no answer do not count — a field day is not a fault — nor does a server asking to
// wait (408, 429).
export const MAX_TRIES = 8;
const ANSWER_TIMEOUT_MS = 20 * 1000; // no answer at all within this counts as no network
const RETRY_FIRST_MS = 5 * 1000; // then 10 s, 20 s … at most 5 minutes apart
const RETRY_MAX_MS = 5 * 60 * 1000;
const TOO_LARGE = "This is too large for the server: shorten the note.";

// Where to send and whose items these are: the page's <body> says so (base.html); a test
// page may say it with configure().
const settings = {
  user: document.body?.dataset.user,
  tokenUrl: document.body?.dataset.tokenUrl,
  captureUrl: document.getElementById("sync")?.dataset.syncUrl,
};
export function configure(more) {
  Object.assign(settings, more);
}

// --- The kinds of item: where each is kept and how it is sent. --------------------------
// The two stores are those the phone has always had, so what waited before an update
// is still sent after it.
const KINDS = {
  // A capture: its fields (and card photo, voice note) to /captures, taken when the
  // server answers with the stored lead's id. A 403 there means the session is not what
  // it was (a capture is always allowed to a signed-in rep): everything waits for sign-in.
  capture: {
    store: objectStore("quickcrm", "captures"),
    request: captureRequest,
    taken: (answer) => (answer.status === 200 || answer.status === 201) && answer.json?.id !== undefined,
    forbidden: "sign-in",
  },
  // An action: the form as it was posted, answered as htmx is (a fragment, 401 rather
  // than the sign-in page). A 403 is the server saying no to this one.
  action: {
    store: objectStore("quickcrm-actions", "actions"),
    request: actionRequest,
    taken: (answer) => answer.status >= 200 && answer.status < 300,
    forbidden: "refused",
  },
};

// An action's form fields, and its files when it has any (a voice note recorded on a
// lead's page with no network): then multipart form data.
function actionRequest(item, token) {
  const headers = { "X-CSRFToken": token, "HX-Request": "true" };
  if (!item.blobs || !Object.keys(item.blobs).length) {
    return {
      url: item.url, method: "POST",
      headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(item.fields),
    };
  }
  const body = new FormData();
  item.fields.forEach(([name, value]) => body.append(name, value));
  Object.entries(item.blobs).forEach(([name, blob]) => body.append(name, blob, name));
  return { url: item.url, method: "POST", headers, body };
}

function captureRequest(item, token) {
  const url = item.url || settings.captureUrl;
  const headers = { Accept: "application/json", "X-CSRFToken": token, "Idempotency-Key": item.uuid };
  const meta = { uuid: item.uuid, captured_at: item.captured_at, latitude: item.latitude, longitude: item.longitude };
  if (!item.blobs || !Object.keys(item.blobs).length) {
    return {
      url, method: "POST",
      headers: { ...headers, "Content-Type": "application/json" },
      body: JSON.stringify({ ...item.fields, ...meta }),
    };
  }
  // With a card photo or a voice note: multipart form data.
  const body = new FormData();
  Object.entries({ ...item.fields, ...meta }).forEach(([name, value]) => body.append(name, value ?? ""));
  Object.entries(item.blobs).forEach(([name, blob]) => body.append(name, blob, name));
  return { url, method: "POST", headers, body };
}

// --- The queue ---------------------------------------------------------------------------
const mine = (kind) => KINDS[kind].store.mine(settings.user)
  .then((items) => items.map((item) => ({ ...item, kind })));

// Everything of this rep waiting on the phone (or of one kind), oldest first.
export async function items(kind) {
  const kinds = kind ? [kind] : Object.keys(KINDS);
  const all = (await Promise.all(kinds.map(mine))).flat();
  return all.sort((a, b) => a.queued_at.localeCompare(b.queued_at));
}

export async function get(uuid) {
  for (const [kind, { store }] of Object.entries(KINDS)) {
    const item = await store.get(uuid);
    if (item) return { ...item, kind };
  }
  return null;
}

// Keeps an item (a new one, or one edited under its UUID: its problem solved or not) and
// sends it as soon as the network lets it — or, `later`, after the retry pause (it was
// just sent and got no answer, or a server error).
let lastQueued = 0;
export async function add(kind, item, { later = false } = {}) {
  // Queued in the order of the taps, even two in one millisecond: sent in that order.
  lastQueued = Math.max(Date.now(), lastQueued + 1);
  const queuedAt = new Date(lastQueued).toISOString();
  const kept = { user: settings.user, problem: null, tries: 0, ...item, queued_at: queuedAt };
  delete kept.kind;
  withdrawn.delete(kept.uuid);
  await KINDS[kind].store.put(kept);
  changed();
  if (kept.problem) return kept;
  if (!later) soon();
  else if (!state.sending && state.retryIn === null) {
    tryAgainLater();
    tell({ type: "state" });
  }
  return kept;
}

async function put(item) {
  const { kind, ...kept } = item;
  await KINDS[kind].store.put(kept);
  changed();
}

// Discard: the rep forgets an item that was never taken.
export async function remove(uuid) {
  const item = await get(uuid);
  if (!item) return;
  await KINDS[item.kind].store.remove(uuid);
  changed();
}

// Undo before the server has it: the item is taken out of the queue and never sent. If
// it is on its way, this waits for the answer: {withdrawn: item}, or {stored: answer}
// (the server's JSON: the caller undoes it there), or {} when it was nowhere. With
// `hold`, Edit's way, the item stays on the phone but is not sent ({held: item}) until it
// is added again (Save) or the app is opened again (release).
const withdrawn = new Set();
const storedAnswers = new Map(); // uuid → {item, answer}, for an Undo that comes late
// What this page sent and the server stored: [{item, answer}], oldest first.
export const sentThisVisit = () => [...storedAnswers.values()];
export async function withdraw(uuid, { hold = false } = {}) {
  withdrawn.add(uuid);
  if (inFlight?.uuid === uuid) await inFlight.done.catch(() => {});
  if (storedAnswers.has(uuid)) return { stored: storedAnswers.get(uuid).answer };
  const item = await get(uuid);
  if (!item) return {};
  if (hold) {
    await put({ ...item, held: true });
    withdrawn.delete(uuid);
    return { held: item };
  }
  await KINDS[item.kind].store.remove(uuid);
  changed();
  return { withdrawn: item };
}

// Undone on the server: no longer among what this page sent.
export function forgetSent(uuid) {
  storedAnswers.delete(uuid);
  tell({ type: "changed" });
}

// Items held by an Edit that was never saved are sent after all.
export async function release() {
  for (const item of await items()) {
    if (item.held) await put({ ...item, held: false });
  }
}

// --- Who listens: the pages' views of the queue. -----------------------------------------
// Events: {type: "changed"}, {type: "state"}, {type: "stored", item, answer},
// {type: "refused", item}, {type: "synced", kinds}.
const listeners = new Set();
export function listen(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
function tell(event) {
  listeners.forEach((listener) => {
    try {
      listener(event);
    } catch (error) {
      console.error(error); // one view's fault never stops the queue
    }
  });
}
// Other tabs of the app show the same queue.
const channel = "BroadcastChannel" in window ? new BroadcastChannel("quickcrm-queue") : null;
if (channel) {
  channel.onmessage = (event) => tell(event.data === "synced" ? { type: "synced", kinds: [] } : { type: "changed" });
}
function changed() {
  channel?.postMessage("changed");
  tell({ type: "changed" });
}

// What the queue is doing, for the views: sending now; when the next try is (ms, or
// null); whether it waits for the rep to sign in.
export const state = { sending: false, retryIn: null, signIn: false };

// --- Sending -------------------------------------------------------------------------------
// The whole exchange (status, a JSON body, QuickCRM's message header, the text of an HTML
// page) or an error when there was no answer at all.
export async function ask(url, options = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ANSWER_TIMEOUT_MS);
  try {
    const response = await fetch(url, {
      credentials: "same-origin", redirect: "manual", signal: controller.signal, ...options,
    });
    const json = (response.headers.get("Content-Type") || "").includes("application/json");
    const told = response.headers.get("X-QuickCRM-Message");
    return {
      status: response.status,
      signedOut: response.type === "opaqueredirect" || response.status === 401,
      json: json ? await response.json().catch(() => null) : null,
      text: json ? "" : await response.text().catch(() => ""),
      told: told ? decodeURIComponent(told) : "",
    };
  } finally {
    clearTimeout(timer);
  }
}

// A fresh CSRF token for this session (a page from the phone's cache carries an old
// one), used by the page's forms too; the answer's JSON ({csrf_token, user}), or null.
export async function freshToken() {
  const answer = await ask(settings.tokenUrl, { headers: { Accept: "application/json" } });
  if (answer.signedOut) return { signedOut: true };
  const token = answer.status === 200 && answer.json?.csrf_token;
  if (!token) return null;
  document.body.setAttribute("hx-headers", JSON.stringify({ "X-CSRFToken": token }));
  document.querySelectorAll("input[name=csrf_token]").forEach((input) => { input.value = token; });
  return answer.json;
}

function post(item, token) {
  const { url, ...options } = KINDS[item.kind].request(item, token);
  return ask(url, options);
}

// The server's own words for what it will not take: {field: message}.
function refusal(answer) {
  const { errors, error } = answer.json || {};
  if (errors && typeof errors === "object" && Object.keys(errors).length) {
    return Object.fromEntries(Object.entries(errors).map(([field, m]) => [field, [].concat(m).join(" ")]));
  }
  if (typeof error === "string" && error) return { message: error };
  if (answer.told) return { message: answer.told };
  const page = new DOMParser().parseFromString(answer.text || "", "text/html");
  const said = page.querySelector("[role=alert], .field-error")?.textContent.trim();
  if (said) return { message: said };
  if (answer.status === 413) return { message: TOO_LARGE };
  return { message: `The server did not take this (error ${answer.status}).` };
}

// What came of sending one item:
//   "stored"; "refused" for good (with the messages: it needs the rep);
//   "sign-in" (signed out: everything waits); "unreachable" (no network or no answer:
//   everything waits); "later" (a server error or an answer that is not QuickCRM's: this
//   one waits, the next is tried; `tries` is 1 when it counts towards MAX_TRIES).
async function send(item) {
  const kind = KINDS[item.kind];
  let answer;
  try {
    answer = await post(item, csrfToken());
    if (!answer.signedOut && (answer.status === 400 || answer.status === 403)) {
      // The page's token may be older than the session: once more with a fresh one.
      const fresh = await freshToken();
      if (!fresh?.csrf_token) return { outcome: "sign-in" };
      answer = await post(item, fresh.csrf_token);
    }
  } catch (error) {
    return { outcome: "unreachable" };
  }
  const status = answer.status;
  if (answer.signedOut || (status === 403 && kind.forbidden === "sign-in")) return { outcome: "sign-in" };
  if (kind.taken(answer)) return { outcome: "stored", answer: answer.json };
  if (status >= 500 || status === 408 || status === 429) {
    return {
      outcome: "later",
      why: `Not taken yet: the server had a problem (error ${status}). Trying again.`,
      tries: status >= 500 ? 1 : 0,
      message: (typeof answer.json?.error === "string" && answer.json.error) || answer.told,
    };
  }
  if (status >= 400) return { outcome: "refused", problem: refusal(answer) };
  // A 2xx or 3xx that is not QuickCRM's answer: a Wi-Fi sign-in page, a proxy.
  return { outcome: "later", tries: 0, why: "Not taken yet: the network answered instead of QuickCRM. Trying again." };
}

export function gaveUp(tries, message) {
  const why = `The server could not store this (tried ${tries} times)`;
  return message ? `${why}: ${message}` : `${why}.`;
}

// One tab sends at a time (Web Locks); a tab that waited re-reads the queue, so what the
// other tab sent is not sent again.
function exclusively(work) {
  return navigator.locks ? navigator.locks.request("quickcrm-outbox", work) : work();
}

let inFlight = null; // {uuid, done}: the item on its way, for an Undo
let again = false; // something was added while sending: another round
let failedRounds = 0;
let retry = null;

// A round that could not send everything is tried again by itself, after 5 s, 10 s, 20 s …
// up to 5 minutes between tries (a little less at random, so phones do not all come back
// at once); "online" and Sync now try at once.
function tryAgainLater() {
  clearTimeout(retry);
  state.retryIn = null;
  if (!navigator.onLine) return; // "online" sends when the network is back
  failedRounds += 1;
  const full = Math.min(RETRY_FIRST_MS * 2 ** (failedRounds - 1), RETRY_MAX_MS);
  state.retryIn = Math.round(full * (0.8 + 0.2 * Math.random()));
  retry = setTimeout(syncNow, state.retryIn);
}

// Sends at once when the network lets it (an item just added).
function soon() {
  if (state.sending) again = true;
  else if (navigator.onLine) syncNow();
  else tell({ type: "state" });
}

// One round: every item not needing attention, oldest first.
export async function syncNow() {
  if (!navigator.onLine) {
    tell({ type: "state" }); // "online" sends when the network is back
    return;
  }
  if (state.sending) {
    again = true;
    return;
  }
  state.sending = true;
  again = false;
  clearTimeout(retry);
  state.retryIn = null;
  tell({ type: "state" });
  let failed = false;
  const stored = new Set();
  try {
    await exclusively(async () => {
      for (const queued of await items()) {
        const item = await get(queued.uuid); // another tab may have sent or changed it
        if (!item || item.problem || item.held || withdrawn.has(item.uuid)) continue;
        if (item.kind === "capture" && !(item.url || settings.captureUrl)) continue; // on the capture page
        let result;
        const done = send(item).then((r) => { result = r; });
        inFlight = { uuid: item.uuid, done };
        try {
          await done;
        } finally {
          inFlight = null;
        }
        if (result.outcome === "stored") {
          if (item.kind === "capture") storedAnswers.set(item.uuid, { item: { ...item, blobs: null }, answer: result.answer });
          await KINDS[item.kind].store.remove(item.uuid);
          changed();
          stored.add(item.kind);
          state.signIn = false;
          tell({ type: "stored", item, answer: result.answer });
        } else if (result.outcome === "refused") {
          const kept = { ...item, problem: result.problem, last_error: null };
          await put(kept);
          tell({ type: "refused", item: kept });
        } else if (result.outcome === "later") {
          const tries = (item.tries || 0) + result.tries;
          if (tries >= MAX_TRIES) {
            const kept = { ...item, tries, problem: { message: gaveUp(tries, result.message) }, last_error: null };
            await put(kept);
            tell({ type: "refused", item: kept });
          } else {
            failed = true;
            await put({ ...item, tries, last_error: result.why });
          }
        } else {
          state.signIn = result.outcome === "sign-in";
          failed = result.outcome === "unreachable";
          break;
        }
      }
    });
  } catch (error) {
    failed = true; // IndexedDB or the lock failed: the whole round again later
  } finally {
    state.sending = false;
    if (failed) tryAgainLater();
    else failedRounds = 0;
    tell({ type: "state" });
    if (stored.size) {
      channel?.postMessage("synced");
      tell({ type: "synced", kinds: [...stored] });
    }
    if (again && !failed && navigator.onLine) syncNow();
  }
}

// A new network: start again with short pauses.
window.addEventListener("online", () => {
  failedRounds = 0;
  syncNow();
});
window.addEventListener("offline", () => tell({ type: "state" }));

// What needs the rep: refused for good, or given up after MAX_TRIES server errors.
export const problemText = (item) => (typeof item.problem === "string"
  ? item.problem : Object.values(item.problem || {}).join(" "));
