// Done, Snooze and notes made with no signal. A form marked data-offline-action gets a UUID
// on each submit (its idempotency key: the server applies an action once however often it
// is sent). With no network — or no answer — the action goes into the phone's queue
// (outbox.js, the same queue as the captures: the same sending, retries and Needs
// attention), shown as waiting here and on the item it is about, until the server confirms
// it. The pages that use htmx load it (pages.js hands it the requests that got no answer);
// the capture page loads it only when actions wait (capture.js).
import { element } from "./app.js";
import * as outbox from "./outbox.js";
import { newUuid } from "./store.js";

const USER = document.body.dataset.user;
const panel = document.querySelector("[data-queue]");
const enabled = Boolean(USER && panel && "indexedDB" in window);
const KEY = "client_key";

const allActions = () => outbox.items("action");

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
      li.append(element("strong", "sync-flag", "Needs attention"), element("span", "sync-why", outbox.problemText(item)));
      const discard = element("button", "link-button", "Discard");
      discard.type = "button";
      discard.addEventListener("click", () => outbox.remove(item.uuid));
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
      note.textContent = item.problem ? `${item.label}: not taken — ${outbox.problemText(item)}`
        : `${item.label} — waiting to sync`;
    }
  });
  if (outbox.state.retryIn !== null && items.some((item) => !item.problem)) panel.dataset.retryIn = outbox.state.retryIn;
  else delete panel.dataset.retryIn;
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
    problem: null,
  };
}

async function keep(form, tries = 0, later = false) {
  const item = await outbox.add("action", { ...actionOf(form), tries }, { later });
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
  if (form) keep(form, status >= 500 ? 1 : 0, true);
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

// --- Shown as the queue changes; the agenda on screen is redrawn once what waited has
// been applied. ---------------------------------------------------------------------------
if (enabled) {
  outbox.listen((event) => {
    if (event.type === "synced" && event.kinds.includes("action") && document.getElementById("agenda") && window.htmx) {
      window.htmx.ajax("GET", window.location.pathname + window.location.search, { target: "#agenda", swap: "outerHTML", select: "#agenda" });
    }
    render();
  });
  render().then((count) => { if (count) outbox.syncNow(); });
}
