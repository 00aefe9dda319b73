// Convert page: "Company name" only means something with "New company", so it is disabled
// while an existing company is chosen. Without this script the field stays editable and the
// page says the server ignores it (templates/convert/index.html).
"use strict";

(function () {
  const form = document.querySelector(".convert-form");
  if (!form) return;
  const name = form.querySelector("#company_name");
  function sync() {
    const chosen = form.querySelector('input[name="company"]:checked');
    name.disabled = chosen !== null && chosen.value !== "new";
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "company") sync();
  });
  sync();
})();
