// The pages that use htmx (every page but capture): their small enhancements, and the one
// place where a failed htmx request is handled — kept on the phone when it is a queued
// action (queue.js), else said in the page's error toast.
import { hideError, localISODate, refusalMessage, showError } from "./app.js";
import { keepUntilLater, queued } from "./queue.js";

// --- Requests that fail ---------------------------------------------------------------
document.addEventListener("htmx:beforeRequest", hideError);
// Sent but no answer (the network went, or the answer was lost on the way back).
document.addEventListener("htmx:sendError", (event) => {
  if (queued(event.detail.elt)) keepUntilLater(event.detail.elt);
  else showError("No connection: nothing was sent. Try again when you have signal.");
});
document.addEventListener("htmx:timeout", (event) => {
  if (queued(event.detail.elt)) keepUntilLater(event.detail.elt);
});
document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  if (queued(event.detail.elt) && status >= 500) {
    keepUntilLater(event.detail.elt, status);
    return;
  }
  // The server names what it refused (a NUL character, a body too large…) in a header.
  showError(refusalMessage(status, event.detail.xhr.getResponseHeader("X-QuickCRM-Message")));
});

// A form with data-confirm asks first (htmx forms use hx-confirm). The message is an
// attribute, never script: names in it cannot break out.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset?.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

// A secret shown once (a new API token, a calendar address) is the answer to a POST: the
// page forgets that POST, so a reload shows the page again instead of making another one.
if (document.querySelector("[data-shown-once]")) {
  history.replaceState(history.state, "", location.href);
}

// Small conveniences named in the markup: a read-only address selected on focus (to
// copy), a chooser that applies itself when changed.
document.addEventListener("focusin", (event) => {
  if (event.target.matches?.("[data-select-on-focus]")) event.target.select();
});
document.addEventListener("change", (event) => {
  if (event.target.matches?.("[data-submit-on-change]")) event.target.form.requestSubmit();
});

// Agenda: Done, then a date chip saves at once (two taps; the outcome is optional).
document.addEventListener("click", (event) => {
  const chip = event.target.closest("[data-submit-chip]");
  if (!chip || !chip.form) return;
  const input = chip.form.querySelector("input[name=next_action_on]");
  input.value = localISODate(Number(chip.dataset.daysAhead));
  chip.form.requestSubmit();
}, true);

// The leads list's Filters button (a phone): shows or hides the filter fields.
document.addEventListener("click", (event) => {
  const toggle = event.target.closest("[data-disclose-filters]");
  if (!toggle) return;
  const open = toggle.getAttribute("aria-expanded") !== "true";
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
  document.getElementById(toggle.getAttribute("aria-controls"))?.classList.toggle("open", open);
});

// --- The board on a phone: one stage at a time, the stages as tabs with their counts. --
function setUpStageTabs(root) {
  const all = [...(root.querySelectorAll?.("[data-stage-tabs]") || [])];
  if (root.matches?.("[data-stage-tabs]")) all.push(root);
  all.forEach((tabs) => {
    const kept = tabs.querySelector(`[data-stage="${CSS.escape(sessionStorage.getItem("quickcrm.stage") || "")}"]`);
    const chosen = kept || tabs.querySelector("[aria-selected=true]") || tabs.querySelector("[role=tab]");
    if (chosen) showStage(tabs, chosen, false);
    tabs.closest(".board")?.classList.add("tabbed");
  });
}

// A stage move says what happened, with Undo (a move back), in the board's status.
let lastMove = null;
document.addEventListener("change", (event) => {
  const select = event.target.closest?.(".opp-stage select[name=stage_id]");
  if (!select) return;
  const card = select.closest("[data-opportunity]");
  const before = select.querySelector("option[selected]") || select.options[0];
  lastMove = {
    id: card.dataset.opportunity,
    title: card.querySelector(".opp-title")?.textContent.trim() || "",
    from: before.value,
    fromName: before.textContent,
    to: select.options[select.selectedIndex].textContent,
    undoing: Boolean(select.dataset.undoing),
  };
});
document.addEventListener("htmx:afterSettle", (event) => {
  if (!lastMove || event.detail.elt.id !== "board") return;
  const move = lastMove;
  lastMove = null;
  const status = document.getElementById("board-status");
  if (!status) return;
  status.replaceChildren(`${move.title} moved to ${move.to}.`);
  if (move.undoing) return;
  const undo = document.createElement("button");
  undo.type = "button";
  undo.className = "link-button";
  undo.textContent = "Undo";
  undo.addEventListener("click", () => {
    const select = document.querySelector(`[data-opportunity="${CSS.escape(move.id)}"] select[name=stage_id]`);
    if (!select) return;
    select.value = move.from;
    select.dataset.undoing = "1";
    select.dispatchEvent(new Event("change", { bubbles: true }));
  });
  status.append(" ", undo);
});
function showStage(tabs, tab, focus) {
  tabs.querySelectorAll("[role=tab]").forEach((t) => {
    const on = t === tab;
    t.setAttribute("aria-selected", on ? "true" : "false");
    t.tabIndex = on ? 0 : -1;
    document.getElementById(t.getAttribute("aria-controls"))?.classList.toggle("current-stage", on);
  });
  sessionStorage.setItem("quickcrm.stage", tab.dataset.stage);
  if (focus) tab.focus();
}
document.addEventListener("click", (event) => {
  const tab = event.target.closest("[data-stage-tabs] [role=tab]");
  if (tab) showStage(tab.closest("[data-stage-tabs]"), tab, false);
});
document.addEventListener("keydown", (event) => {
  const tab = event.target.closest?.("[data-stage-tabs] [role=tab]");
  if (!tab || !["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) return;
  const all = [...tab.parentElement.querySelectorAll("[role=tab]")];
  const i = all.indexOf(tab);
  const next = event.key === "Home" ? 0 : event.key === "End" ? all.length - 1
    : (i + (event.key === "ArrowRight" ? 1 : -1) + all.length) % all.length;
  event.preventDefault();
  showStage(tab.parentElement, all[next], true);
});
setUpStageTabs(document);
document.addEventListener("htmx:load", (event) => setUpStageTabs(event.detail.elt));

// --- After Done or Snooze the agenda is new: the focus goes to the next item's Done (else
// the status message), where a screen reader user expects to carry on.
let actedAt = null;
document.addEventListener("htmx:beforeRequest", (event) => {
  const item = event.detail.elt.closest?.(".agenda-item");
  actedAt = item ? [...document.querySelectorAll(".agenda-item")].indexOf(item) : null;
});
document.addEventListener("htmx:afterSettle", (event) => {
  if (actedAt === null || event.detail.elt.id !== "agenda") return;
  const items = document.querySelectorAll(".agenda-item");
  const next = items[Math.min(actedAt, items.length - 1)];
  actedAt = null;
  const done = next?.querySelector(".act-done:not([hidden])");
  (done || document.getElementById("agenda-status"))?.focus();
});

// --- The lead page's one-field forms: Escape cancels; Enter saves from a radio, and
// Ctrl/Cmd+Enter from the note (a plain Enter there starts a new line). In the other
// inputs Enter submits the form by itself.
document.addEventListener("keydown", (event) => {
  const form = event.target.closest?.("[data-field-form]");
  if (!form) return;
  if (event.key === "Escape") {
    event.preventDefault();
    const cancel = form.querySelector("[data-cancel]");
    // A row swapped in a moment ago may not be processed by htmx yet: its Cancel would
    // then only follow its #anchor and leave the form open.
    if (cancel && window.htmx) window.htmx.process(cancel);
    cancel?.click();
  } else if (event.key === "Enter" && (event.target.type === "radio"
      || (event.target.tagName === "TEXTAREA" && (event.ctrlKey || event.metaKey)))) {
    event.preventDefault();
    form.requestSubmit();
  }
});

// A tap on a lead field's value opens its row, as its pencil does (a link in the value —
// Call, Email — still does its own thing).
document.addEventListener("click", (event) => {
  const row = event.target.closest?.(".lead-field:not(.editing)");
  if (!row || event.target.closest("a, button, audio, input, select, textarea")) return;
  if (window.getSelection()?.toString()) return; // selecting text to copy it
  row.querySelector(".edit-field")?.click();
});

// Log activity: the form opens with the focus on its first control (Kind).
document.addEventListener("toggle", (event) => {
  if (event.target.matches?.("[data-log-control]") && event.target.open) {
    event.target.querySelector("select, textarea")?.focus();
  }
}, true);

// Account: the phone may suggest its own time zone when it differs from the one in use —
// never switched silently; the rep taps "Use it", then saves.
const suggest = document.querySelector("[data-zone-suggest]");
if (suggest) {
  const phone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const select = suggest.closest("form").querySelector("select[name=time_zone]");
  const offered = select && [...select.options].some((option) => option.value === phone);
  if (phone && offered && phone !== suggest.dataset.current) {
    suggest.querySelector("[data-zone-suggest-text]").textContent =
      `Your phone is in ${phone.replaceAll("_", " ")} — use it?`;
    suggest.hidden = false;
    suggest.querySelector("[data-zone-suggest-use]").addEventListener("click", () => {
      select.value = phone;
      suggest.hidden = true;
      select.focus();
    });
  }
}
