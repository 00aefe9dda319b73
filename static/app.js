// QuickCRM's small enhancements on top of plain forms and htmx. Everything works without
// this file; with it, the capture form is quicker with one thumb.
(function () {
  "use strict";

  function localISODate(daysAhead) {
    const d = new Date();
    d.setDate(d.getDate() + daysAhead);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
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

  // Times are stored in UTC; show them in the phone's own time zone.
  function localiseTimes(root) {
    root.querySelectorAll("time[data-local-time]").forEach((el) => {
      const when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) return;
      el.textContent = when.toLocaleString([], {
        day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
      });
    });
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

  // A form with data-confirm asks first (htmx forms use hx-confirm). The message is an
  // attribute, never script: names in it cannot break out.
  document.addEventListener("submit", (event) => {
    const message = event.target.dataset?.confirm;
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // Small conveniences named in the markup: a read-only address selected on focus (to
  // copy), a chooser that applies itself when changed.
  document.addEventListener("focusin", (event) => {
    if (event.target.matches?.("[data-select-on-focus]")) event.target.select();
  });
  document.addEventListener("change", (event) => {
    if (event.target.matches?.("[data-submit-on-change]")) event.target.form.requestSubmit();
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
  const body = document.body;
  if ("serviceWorker" in navigator && body.dataset.serviceWorker) {
    navigator.serviceWorker.register(body.dataset.serviceWorker, { scope: "/" }).catch(() => {});
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
  document.addEventListener("DOMContentLoaded", showConnection);

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

  // The board on a phone: one stage at a time, the stages as tabs with their counts.
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
  document.addEventListener("DOMContentLoaded", () => setUpStageTabs(document));
  document.addEventListener("htmx:load", (event) => setUpStageTabs(event.detail.elt));

  // After Done or Snooze the agenda is new: the focus goes to the next item's Done (else
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

  // The lead page's one-field forms: Escape cancels; Enter saves from a radio, and
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

  function enhance(root) {
    root.querySelectorAll("[data-capture-form], [data-field-form]").forEach((form) => {
      syncChips(form);
      const date = form.querySelector("input[name=next_action_on]");
      if (date && !date.min) date.min = localISODate(0);
    });
    setUpDictation(root);
    localiseTimes(root);
  }

  document.addEventListener("DOMContentLoaded", () => enhance(document));
  document.addEventListener("htmx:load", (event) => enhance(event.detail.elt));
  document.addEventListener("quickcrm:recent", (event) => enhance(event.detail.elt));

  // After a save the form is new: put the cursor back in Name for the next card.
  document.addEventListener("htmx:afterSettle", (event) => {
    const form = event.detail.elt.closest?.("[data-capture-form]") || event.detail.elt.querySelector?.("[data-capture-form]");
    const invalid = form?.querySelector("[aria-invalid=true]");
    (invalid || form?.querySelector("input[name=name]"))?.focus();
  });

  // Requests that fail say so, instead of a button that silently does nothing.
  function showError(text) {
    const box = document.getElementById("request-error");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
    clearTimeout(showError.timer);
    showError.timer = setTimeout(() => { box.hidden = true; }, 8000);
  }
  // A capture that does not get through is kept on the phone instead (offline.js says so).
  const keptOnPhone = (event) => (window.QUICKCRM_OFFLINE && event.detail.elt?.matches?.("[data-capture-form]"))
    || (window.QUICKCRM_QUEUE && event.detail.elt?.closest?.("[data-offline-action]"));
  document.addEventListener("htmx:responseError", (event) => {
    const status = event.detail.xhr.status;
    if (keptOnPhone(event) && (status >= 500 || [400, 401, 403].includes(status))) return;
    // The server names what it refused (a NUL character, a body too large…) in a header.
    const told = event.detail.xhr.getResponseHeader("X-QuickCRM-Message");
    if (told) return showError(decodeURIComponent(told));
    showError(status === 403 ? "Your role does not allow this."
      : status === 400 ? "This page has expired. Reload it and try again."
      : `Something went wrong on the server (${status}). Nothing was changed; please try again.`);
  });
  document.addEventListener("htmx:sendError", (event) => {
    if (keptOnPhone(event)) return;
    showError("No connection: nothing was sent. Try again when you have signal.");
  });
  document.addEventListener("htmx:beforeRequest", () => {
    const box = document.getElementById("request-error");
    if (box) box.hidden = true;
  });
})();
