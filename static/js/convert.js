// Convert page: "Company name" only means something with "New company", so it is disabled
// while an existing company is chosen. Without this script the field stays editable and the
// page says the server ignores it (templates/convert/index.html). The stage → probability
// of its form is coordinator.js's.

function companyName(form) {
  const name = form.querySelector("#company_name");
  const sync = () => {
    const chosen = form.querySelector('input[name="company"]:checked');
    name.disabled = chosen !== null && chosen.value !== "new";
  };
  form.addEventListener("change", (event) => {
    if (event.target.name === "company") sync();
  });
  sync();
}

const form = document.querySelector(".convert-form");
if (form) companyName(form);
