// Where a capture was made: only once the rep has allowed it ("Record where I capture",
// remembered on this phone), and only a position less than 10 minutes old.
import { escape, say } from "./captures.js";

const LOCATION_KEY = "quickcrm.location";
let position = null;
let watching = null;

export function freshPosition() {
  return position && Date.now() - position.timestamp < 10 * 60 * 1000 ? position : null;
}

function watchPosition() {
  if (!("geolocation" in navigator) || watching !== null) return;
  watching = navigator.geolocation.watchPosition(
    (where) => {
      position = where;
      locationState("Captures record where you are.");
    },
    (error) => {
      if (error.code === error.PERMISSION_DENIED) stopLocation("Location is blocked for this site in the browser's settings.");
    },
    { enableHighAccuracy: false, maximumAge: 60 * 1000 },
  );
}

function locationState(text) {
  document.querySelectorAll("[data-location-state]").forEach((el) => { el.textContent = text; });
}

function stopLocation(message) {
  if (watching !== null) navigator.geolocation.clearWatch(watching);
  watching = null;
  position = null;
  localStorage.removeItem(LOCATION_KEY);
  locationState("");
  document.querySelectorAll("[data-location]").forEach((box) => { box.checked = false; });
  if (message) say(`<p class="refused">${escape(message)}</p>`);
}

function setUpLocation(root) {
  root.querySelectorAll("[data-location]").forEach((box) => {
    box.closest("[data-location-field]").hidden = !("geolocation" in navigator);
    box.checked = localStorage.getItem(LOCATION_KEY) === "on";
  });
  if (freshPosition()) locationState("Captures record where you are.");
}

document.addEventListener("change", (event) => {
  if (!event.target.matches("[data-location]")) return;
  if (event.target.checked) {
    // Asked once: the browser remembers the rep's answer, and so does this phone.
    localStorage.setItem(LOCATION_KEY, "on");
    locationState("Finding where you are…");
    watchPosition();
  } else {
    stopLocation();
  }
});
document.addEventListener("quickcrm:load", (event) => setUpLocation(event.detail.elt));
setUpLocation(document);
if (localStorage.getItem(LOCATION_KEY) === "on") watchPosition();
