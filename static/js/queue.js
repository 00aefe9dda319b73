// Done, Snooze and notes made with no signal. A form marked data-offline-action gets a UUID
// on each submit (its idempotency key: the server applies an action once however often it
// is sent). With no network — or no answer — the action is kept on this phone in IndexedDB,
// shown as waiting, and sent when the network returns, one at a time, until the server
// confirms it. A refusal (4xx) stays listed with the server's message until discarded, and
// so does an action the server answered with an error MAX_TRIES times (store.js).
// The pages that use htmx load it (pages.js hands it the requests that got no answer); the
// capture page loads it only when actions wait (capture.js).
import { element } from "./app.js";
import { gaveUp, MAX_TRIES, newUuid, objectStore } from "./store.js";

const USER = document.body.dataset.user;
const TOKEN_URL = document.body.dataset.tokenUrl;
const panel = document.querySelector("[data-queue]");
const enabled = Boolean(USER && panel && "indexedDB" in window);
const KEY = "client_key";
const ANSWER_TIMEOUT_MS = 20 * 1000;

const actions = objectStore("quickcrm-actions", "actions");
const putAction = (item) => actions.put(item).then(render);
const removeAction = (uuid) => actions.remove(uuid).then(render);
const allActions = () => actions.mine(USER);

// --- What the rep sees -----------------------------------------------------------------
async function render() {
  const items = await allActions();
  const waiting = items.filter((item) => !item.problem);
  panel.hidden = items.length === 0;
  panel.querySelector("[data-queue-count]").textContent = waiting.length === 1
    ? "1 update waiting to sync" : `${waiting.length} updates waiting to sync`;
  panel.querySelector("[data-queue-list]").replaceChildren(...items.map((item) => {
    const li = element("li", item.problem ? "queue-problem" : "");
    li.append(element("span", "queue-label", item.label));
    if (item.problem) {
      li.append(element("strong", "sync-flag", "Needs attention"), element("span", "sync-why", item.problem));
      const discard = element("button", "link-button", "Discard");
      discard.type = "button";
      discard.addEventListener("click", () => removeAction(item.uuid));
      li.append(discard);
    }
    return li;
  }));
  // The items they are about say so where they are shown (the agenda as kept).
  document.querySelectorAll("[data-offline-item].waiting").forEach((el) => el.classList.remove("waiting"));
  items.forEach((item) => {
    const el = item.item && document.getElementById(item.item);
    if (!el) return;
    el.classList.add("waiting");
    const note = el.querySelector("[data-offline-waiting]");
    if (note) {
      note.hidden = false;
      note.textContent = item.problem ? `${item.label}: not taken — ${item.problem}` : `${item.label} — waiting to sync`;
    }
  });
  return items.length;
}

// --- Keeping an action -----------------------------------------------------------------
const submitters = new WeakMap();

function actionOf(form) {
  const data = new FormData(form, submitters.get(form) || undefined);
  data.delete("csrf_token");
  return {
    uuid: data.get(KEY),
    user: USER,
    url: form.action,
    label: form.dataset.offlineAction || "Update",
    item: form.closest("[data-offline-item]")?.id || null,
    fields: [...data.entries()].filter(([, value]) => typeof value === "string"),
    queued_at: new Date().toISOString(),
    problem: null,
  };
}

async function keep(form, tries = 0) {
  const item = { ...actionOf(form), tries };
  await putAction(item);
  // The form is done with: its panel closes, the next submit is a new action.
  form.querySelector(`input[name=${KEY}]`).value = "";
  form.hidden = true;
  form.closest("[data-offline-item]")?.querySelectorAll("[data-disclose][aria-expanded=true]")
    .forEach((b) => b.setAttribute("aria-expanded", "false"));
  const status = document.getElementById("agenda-status");
  if (status) status.textContent = `${item.label} — saved on this phone, will sync.`;
  return item;
}

// The queued action's form an htmx request came from, if it is one.
export const queued = (elt) => (enabled ? elt?.closest?.("[data-offline-action]") : null);

// Sent but no answer, or a server error (`status`, the first try): kept, and sent again
// under the same UUID — the server applies it once.
export function keepUntilLater(elt, status = 0) {
  const form = queued(elt);
  if (form) keep(form, status >= 500 ? 1 : 0).then(tryAgainLater);
}

if (enabled) {
  document.addEventListener("submit", (event) => {
    const form = event.target.closest?.("[data-offline-action]");
    if (!form) return;
    submitters.set(form, event.submitter || null);
    let input = form.querySelector(`input[name=${KEY}]`);
    if (!input) {
      input = element("input");
      input.type = "hidden";
      input.name = KEY;
      form.append(input);
    }
    if (!input.value) input.value = newUuid();
    if (navigator.onLine) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    keep(form);
  }, true);
}

// --- Sending ---------------------------------------------------------------------------
async function ask(url, options) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ANSWER_TIMEOUT_MS);
  try {
    return await fetch(url, { credentials: "same-origin", redirect: "manual", signal: controller.signal, ...options });
  } finally {
    clearTimeout(timer);
  }
}

async function token() {
  const response = await ask(TOKEN_URL, { headers: { Accept: "application/json" } });
  if (response.status !== 200) return null;
  return (await response.json().catch(() => ({}))).csrf_token || null;
}

async function send(item, csrf) {
  const response = await ask(item.url, {
    method: "POST",
    // Answered as htmx is: the agenda's fragment, and 401 rather than a sign-in page.
    headers: { "X-CSRFToken": csrf, "HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(item.fields),
  });
  const status = response.status;
  if (status >= 200 && status < 300) return { outcome: "sent" };
  if (status === 401 || response.type === "opaqueredirect") return { outcome: "sign-in" };
  const told = response.headers.get("X-QuickCRM-Message");
  // A server error counts towards MAX_TRIES; a server asking to wait does not.
  if (status >= 500) return { outcome: "later", tries: 1, message: told ? decodeURIComponent(told) : "" };
  if (status === 408 || status === 429) return { outcome: "later", tries: 0 };
  const page = new DOMParser().parseFromString(await response.text().catch(() => ""), "text/html");
  const message = (told && decodeURIComponent(told))
    || page.querySelector("[role=alert], .field-error")?.textContent.trim()
    || `The server did not take it (error ${status}).`;
  return { outcome: "refused", problem: message };
}

let sending = false;
let retry = null;
let pause = 3000;
function tryAgainLater() {
  clearTimeout(retry);
  if (!navigator.onLine) return; // "online" sends when the network is back
  panel.dataset.retryIn = pause; // when the next try is, for whoever looks (tests)
  retry = setTimeout(sendAll, pause);
  pause = Math.min(pause * 2, 60 * 1000);
}

async function sendAll() {
  if (sending || !navigator.onLine) return;
  sending = true;
  clearTimeout(retry);
  delete panel.dataset.retryIn;
  let failed = false;
  let sent = 0;
  const work = async () => {
    const items = (await allActions()).filter((item) => !item.problem);
    if (!items.length) return;
    const csrf = await token();
    if (!csrf) { failed = true; return; }
    for (const item of items) {
      const result = await send(item, csrf);
      if (result.outcome === "sent") {
        await removeAction(item.uuid);
        sent += 1;
      } else if (result.outcome === "refused") {
        await putAction({ ...item, problem: result.problem });
      } else if (result.outcome === "later") {
        const tries = (item.tries || 0) + result.tries;
        if (tries >= MAX_TRIES) {
          await putAction({ ...item, tries, problem: gaveUp(tries, result.message) });
        } else {
          await putAction({ ...item, tries });
          failed = true;
          break;
        }
      } else {
        failed = true;
        break;
      }
    }
  };
  try {
    await (navigator.locks ? navigator.locks.request("quickcrm-actions", work) : work());
  } catch (error) {
    failed = true; // no network or no answer: everything waits
  } finally {
    sending = false;
    await render();
    if (failed) {
      tryAgainLater();
    } else {
      pause = 3000;
    }
    // The agenda on screen is redrawn once what waited has been applied.
    if (sent && document.getElementById("agenda") && window.htmx) {
      window.htmx.ajax("GET", window.location.pathname + window.location.search, { target: "#agenda", swap: "outerHTML", select: "#agenda" });
    }
  }
}

if (enabled) {
  window.addEventListener("online", () => { pause = 3000; sendAll(); });
  render().then((count) => { if (count) sendAll(); });
}
