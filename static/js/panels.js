// Disclosure panels (Done and Snooze on the agenda, a card's menu and Lost on the board, Lost on
// an opportunity), and dropping a card dragged to another of the board's stage columns (board.js
// does the rest). Without this file every panel is simply open.

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-disclose]");
  if (!button) return;
  const panel = document.getElementById(button.getAttribute("aria-controls"));
  const open = button.getAttribute("aria-expanded") !== "true";
  button.setAttribute("aria-expanded", open ? "true" : "false");
  panel.hidden = !open;
  if (!open) return;
  // The field a panel starts with, unless the button names another (data-focus: the board's
  // Stage, which stands just before the card's menu) that is on show.
  const named = button.dataset.focus && document.getElementById(button.dataset.focus);
  const first = named && named.getClientRects().length ? named : null;
  (first || panel.querySelector("textarea, select, input:not([type=hidden]), button"))?.focus();
});

function enhance(root) {
  root.querySelectorAll("[data-disclose]").forEach((button) => {
    const panel = document.getElementById(button.getAttribute("aria-controls"));
    if (panel && !panel.hasAttribute("data-keep-open")) panel.hidden = true;
    button.hidden = false;
  });
}
// A module runs once the page is parsed (before DOMContentLoaded); htmx:load is each part
// htmx adds later.
enhance(document);
document.addEventListener("htmx:load", (event) => enhance(event.detail.elt));

// Desktop: drag a card onto another column; the card's own Stage select does the move.
document.addEventListener("dragstart", (event) => {
  const card = event.target.closest?.("[data-opportunity]");
  if (card) event.dataTransfer.setData("text/plain", card.dataset.opportunity);
});
document.addEventListener("dragover", (event) => {
  if (event.target.closest?.("[data-stage-column]")) event.preventDefault();
});
document.addEventListener("drop", (event) => {
  const column = event.target.closest?.("[data-stage-column]");
  if (!column) return;
  event.preventDefault();
  const id = event.dataTransfer.getData("text/plain");
  const select = document.querySelector(`[data-opportunity="${id}"] select[name=stage_id]`);
  if (!select || select.value === column.dataset.stageColumn) return;
  select.value = column.dataset.stageColumn;
  select.dispatchEvent(new Event("change", { bubbles: true }));
});
