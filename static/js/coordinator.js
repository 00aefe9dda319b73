// The coordinator's screens: the stage → probability of the convert and new-opportunity
// forms, review-mode shortcuts.

// Changing the stage sets the probability to the stage's (it stays editable).
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-probability-target]");
  if (!select) return;
  const target = document.getElementById(select.dataset.probabilityTarget);
  const option = select.selectedOptions[0];
  if (target && option) target.value = option.dataset.probability;
});

// Review mode on a desktop: ← / → previous / next, c convert, s snooze a week,
// d disqualify (it moves to the reason, which must be chosen before Disqualify).
document.addEventListener("keydown", (event) => {
  const review = document.querySelector(".review");
  if (!review || event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.target.closest("input, select, textarea, [contenteditable]")) return;
  const keys = { ArrowRight: "a[rel=next]", ArrowLeft: "a[rel=prev]", c: "a[data-convert]" };
  const link = keys[event.key] && review.querySelector(keys[event.key]);
  const snooze = event.key === "s" && review.querySelector("form[data-snooze]");
  const reason = event.key === "d" && review.querySelector(".disqualify-form select");
  if (!link && !snooze && !reason) return;
  event.preventDefault();
  if (link) link.click();
  if (snooze) snooze.requestSubmit();
  if (reason) reason.focus();
});
