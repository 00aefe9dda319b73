// The capture page's view of the phone's queue (outbox.js): what the rep sees ("N waiting
// to sync", Sync now, captures that need a look, Edit and Discard), each capture's state
// in "My recent captures" (on this phone → on the server ✓, or Needs attention), and a
// queued capture put back in the form. capture.js loads this module at the first Save,
// when captures wait, and on a page opened from the phone's copy (which it freshens).
import { element } from "./app.js";
import {
  clearForm, displayName, escape, FIELDS, say, setCategories, showErrors, state, USER,
} from "./captures.js";
import * as outbox from "./outbox.js";

const panel = document.getElementById("sync");
const form = () => document.querySelector("[data-capture-form]");
const allCaptures = () => outbox.items("capture");

// Once something waited during this visit, the panel stays to say when all is sent.
// `confirming` is the capture whose Discard asks "sure?".
const view = { waitedThisVisit: false, confirming: null };

// --- What the rep sees: "N waiting to sync", Sync now, captures that need a look. -------
export async function render() {
  // What the queue was doing before its items were read: a render never says "done"
  // with a count from before the last one was sent.
  const now = { ...outbox.state };
  const queued = await allCaptures();
  // The capture in the form (Edit, or a refusal of the card just saved) is shown there.
  const items = queued.filter((item) => item.uuid !== state.editing);
  const waiting = items.filter((item) => !item.problem);
  const problems = items.filter((item) => item.problem);
  panel.querySelector("[data-sync-count]").textContent = `${waiting.length} waiting to sync`;
  const attention = panel.querySelector("[data-sync-attention]");
  attention.textContent = problems.length === 1 ? "1 needs attention" : `${problems.length} need attention`;
  attention.hidden = !problems.length;
  panel.querySelector("[data-sync-sign-in]").hidden = !(now.signIn && waiting.length);
  // Sync now needs a network: with none it waits, disabled, and the queue waits too.
  panel.querySelector("[data-sync-button]").disabled = now.sending || !waiting.length || !navigator.onLine;
  const toggle = panel.querySelector("[data-sync-toggle]");
  toggle.disabled = !waiting.length;
  if (!waiting.length) toggle.setAttribute("aria-expanded", "false");
  const list = panel.querySelector("[data-sync-list]");
  list.classList.toggle("open", toggle.getAttribute("aria-expanded") === "true");
  list.replaceChildren(...items.map(itemRow));
  // A capture on its way is only in the recent captures; the panel shows once one waits
  // (no network, a try that failed, a refusal, a sign-in).
  view.waitedThisVisit = view.waitedThisVisit || (items.length > 0 && (!navigator.onLine
    || now.retryIn !== null || now.signIn
    || items.some((item) => item.problem || item.last_error || item.held)));
  panel.querySelector("[data-sync-all-sent]").hidden = queued.length > 0;
  panel.hidden = !view.waitedThisVisit;
  panel.classList.toggle("has-problems", problems.length > 0);
  if (now.sending) panel.setAttribute("aria-busy", "true");
  else panel.removeAttribute("aria-busy");
  if (now.retryIn !== null) panel.dataset.retryIn = now.retryIn;
  else delete panel.dataset.retryIn;
  renderRecent(queued);
  return queued.length;
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
    element("span", "sync-why", outbox.problemText(item)),
  );
  if (view.confirming === item.uuid) {
    li.append(confirmDiscard(item, name));
    return li;
  }
  const actions = element("span", "sync-actions");
  // "Edit" and "Discard" exactly, the names the tests and screen readers rely on; the row's name describes them.
  actions.append(
    button("Edit", () => edit(item.uuid), name.id),
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

// --- Each capture's state in "My recent captures": the ones on this phone, and the ones
// this visit sent, until the server's list (refreshRecent) has them. ---------------------
function recentRow(name, temperature, stateText, stateClass, url) {
  const li = element("li", "recent-phone-item");
  // An <a> with no address until the lead has a page: the list's look, not a link.
  const box = element("a");
  if (url) box.href = url;
  box.append(element("span", "recent-name", name));
  if (temperature) {
    const badge = element("span", `badge badge-${temperature}`, temperature[0].toUpperCase() + temperature.slice(1));
    box.append(badge);
  }
  box.append(element("span", `recent-meta recent-state ${stateClass}`, stateText));
  li.append(box);
  return li;
}

function renderRecent(items) {
  const recent = document.getElementById("recent");
  if (!recent) return;
  let list = recent.querySelector("[data-recent-phone]");
  if (!list) return;
  const listed = new Set([...recent.querySelectorAll(".recent-list:not([data-recent-phone]) a")]
    .map((a) => new URL(a.href, window.location.href).pathname));
  const queued = new Set(items.map((item) => item.uuid));
  const sent = outbox.sentThisVisit().filter(({ item, answer }) => !queued.has(item.uuid)
    && !listed.has(new URL(answer.url, window.location.href).pathname));
  const rows = [
    ...[...items].reverse().map((item) => recentRow(displayName(item), item.fields.temperature,
      item.problem ? "Needs attention" : "on this phone", item.problem ? "needs-attention" : "on-phone")),
    ...[...sent].reverse().map(({ item, answer }) => recentRow(answer.name || displayName(item),
      item.fields.temperature, "on the server ✓", "on-server", answer.url)),
  ];
  list.replaceChildren(...rows);
  recent.querySelector(".empty")?.toggleAttribute("hidden", rows.length > 0);
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

// Edit puts a queued capture back in the form (a refused one, or one just saved and not
// sent yet); it stays on the phone — marked, not sent — until the form's Save keeps it
// again under the same UUID (stored once). `errors` (a refusal of the card just saved)
// are shown next to their fields, as the server's form would.
export async function edit(uuid) {
  const item = await outbox.get(uuid);
  if (item) await restore(item);
}

export async function restore(item, { errors } = {}) {
  const formEl = form();
  if (!formEl) return;
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
  setCategories(formEl, item.fields.categories);
  formEl.elements.uuid.value = item.uuid;
  formEl.elements.captured_at.value = item.captured_at;
  if (formEl.elements.card_read) formEl.elements.card_read.value = item.fields.card_read || "";
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
      || item.fields.company_name || item.fields.phone || item.fields.email
      || item.fields.contact_name || item.fields.address || item.fields.potential_value)) more.click();
  if (errors) {
    showErrors(formEl, errors);
    say(`<p class="refused">${escape(`Not saved — check the marked fields (${displayName(item)}).`)}</p>`);
    return;
  }
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
  await outbox.remove(uuid);
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
    answer = await outbox.freshToken();
  } catch (error) {
    return; // no answer: the page from the phone is all there is for now
  }
  if (answer?.signedOut) {
    if (!(await allCaptures()).length) window.location.assign(panel.dataset.signIn);
    return;
  }
  if (!answer?.csrf_token) return;
  if (String(answer.user) !== USER && !sessionStorage.getItem("quickcrm.reloaded")) {
    sessionStorage.setItem("quickcrm.reloaded", "1"); // once: the worker has a fresh copy now
    window.location.reload();
    return;
  }
  sessionStorage.removeItem("quickcrm.reloaded");
  refreshRecent();
}

// --- When to show it, and when to send. --------------------------------------------------
panel.querySelector("[data-sync-button]").addEventListener("click", () => outbox.syncNow());
panel.querySelector("[data-sync-toggle]").addEventListener("click", (event) => {
  const toggle = event.currentTarget;
  toggle.setAttribute("aria-expanded", toggle.getAttribute("aria-expanded") === "true" ? "false" : "true");
  render();
});
// The queue's news: drawn at most every 30 ms (500 captures sent in a row draw far less).
let drawing = null;
function redraw() {
  drawing = drawing || new Promise((resolve) => { setTimeout(resolve, 30); })
    .then(() => { drawing = null; return render(); });
  return drawing;
}
outbox.listen((event) => {
  if (event.type === "synced") refreshRecent();
  else if (event.type === "state") {
    // Busy at once (a render reads the queue first); "done" only with the count.
    if (outbox.state.sending) {
      panel.setAttribute("aria-busy", "true");
      panel.querySelector("[data-sync-button]").disabled = true;
    }
    render();
  }
  else redraw();
});
window.addEventListener("online", redraw);
document.addEventListener("quickcrm:load", (event) => {
  if (event.detail.elt?.id === "recent") redraw();
});

// Opening the page sends what waits (an Edit never saved is sent after all), and
// freshens a page from the phone's copy. Captures already waiting show the panel.
let started = false;
export async function start({ afterSave = false } = {}) {
  if (started) return;
  started = true;
  const waiting = await allCaptures();
  // What waited from an earlier visit shows the panel; a Save's own capture does not.
  view.waitedThisVisit = view.waitedThisVisit || (!afterSave && waiting.length > 0);
  if (waiting.some((item) => item.held)) await outbox.release();
  // After a Save the queue is sending it already (or waits for its retry): sending again
  // here would be one try more than the schedule's, counted towards Needs attention.
  render().then(() => { if (!afterSave) outbox.syncNow(); });
  freshen();
}
