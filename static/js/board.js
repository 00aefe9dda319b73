// The pipeline board: each card's menu (Stage, Won, Lost; opened by panels.js), the stage
// move from its Stage select, where the focus goes after the board is redrawn, and what a
// card being dragged looks like (the drop itself is in panels.js).

// A stage chosen with the pointer (or from the open list of choices) moves the card at
// once. Arrow keys on a closed select change its value on every press: those wait for
// Enter or Move, so a keyboard or screen reader user can go past stages without moving
// the card to each of them.
let keyedAt = 0;
document.addEventListener("keydown", (event) => {
  const select = event.target.closest?.("[data-stage-form] select");
  if (!select) return;
  if (event.key === "Enter" && select.dataset.pending) {
    event.preventDefault();
    select.form.requestSubmit();
  } else if (!["Enter", "Tab", "Escape", " "].includes(event.key)) {
    keyedAt = Date.now();
  }
});
document.addEventListener("change", (event) => {
  const select = event.target.closest?.("[data-stage-form] select");
  if (!select) return;
  if (Date.now() - keyedAt < 200) select.dataset.pending = "1";
  else select.form.requestSubmit();
});

// One menu open at a time; Escape closes it and gives the focus back to its button.
function menuButton(card) {
  return card?.querySelector(".opp-menu-button");
}
function closeMenu(button) {
  if (button?.getAttribute("aria-expanded") !== "true") return;
  button.setAttribute("aria-expanded", "false");
  document.getElementById(button.getAttribute("aria-controls")).hidden = true;
}
document.addEventListener("click", (event) => {
  const button = event.target.closest(".opp-menu-button");
  if (!button) return;
  document.querySelectorAll(".opp-menu-button[aria-expanded=true]").forEach((other) => {
    if (other !== button) closeMenu(other);
  });
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const card = event.target.closest?.(".opp-card");
  const button = menuButton(card);
  if (button?.getAttribute("aria-expanded") !== "true") return;
  event.preventDefault();
  closeMenu(button);
  button.focus();
});

// After a move, Won or Lost the board is new: the focus goes back to the card (its menu
// button, or the field in error), else to the card that took its place in the column, else
// to the column's heading — where a keyboard user carries on.
let acted = null;
document.addEventListener("htmx:beforeRequest", (event) => {
  const card = event.detail.elt.closest?.(".opp-card");
  if (!card) return;
  const column = card.closest("[data-stage-column]");
  acted = {
    id: card.dataset.opportunity,
    column: column.dataset.stageColumn,
    index: [...column.querySelectorAll(".opp-card")].indexOf(card),
  };
});
document.addEventListener("htmx:afterSettle", (event) => {
  if (!acted || event.detail.elt.id !== "board") return;
  const { id, column, index } = acted;
  acted = null;
  const card = document.querySelector(`.opp-card[data-opportunity="${CSS.escape(id)}"]`);
  if (card) {
    (card.querySelector("[aria-invalid=true]") || menuButton(card) || card.querySelector("a"))?.focus();
    return;
  }
  const stage = document.querySelector(`[data-stage-column="${CSS.escape(column)}"]`);
  const cards = stage ? [...stage.querySelectorAll(".opp-card")] : [];
  const next = cards[Math.min(index, cards.length - 1)];
  if (next) {
    (menuButton(next) || next.querySelector("a")).focus();
  } else if (stage) {
    const heading = stage.querySelector("h2");
    heading.tabIndex = -1;
    heading.focus();
  }
});

// Dragging (a desktop): the card dims and the column under it is marked.
function clearDropTargets() {
  document.querySelectorAll(".drop-target").forEach((column) => column.classList.remove("drop-target"));
}
document.addEventListener("dragstart", (event) => {
  event.target.closest?.(".opp-card")?.classList.add("dragging");
});
document.addEventListener("dragover", (event) => {
  const column = event.target.closest?.("[data-stage-column]");
  if (!column || column.classList.contains("drop-target")) return;
  clearDropTargets();
  column.classList.add("drop-target");
});
document.addEventListener("dragend", (event) => {
  event.target.closest?.(".opp-card")?.classList.remove("dragging");
  clearDropTargets();
});
document.addEventListener("drop", clearDropTargets);
