// Never lose a capture. A capture that cannot reach the server (offline, no answer, a
// server error, an expired session) is kept on this phone in IndexedDB under the UUID the
// page made for it, and sent again — automatically when the network returns, when the app
// is opened, and with "Sync now" — until the server confirms it. The UUID is the
// idempotency key: the server stores a capture once however often it is sent.
(function () {
  "use strict";

  const panel = document.getElementById("sync");
  const form = () => document.querySelector("[data-capture-form]");
  if (!panel || !("indexedDB" in window)) return;
  window.QUICKCRM_OFFLINE = true;

  const USER = panel.dataset.user;
  const SYNC_URL = panel.dataset.syncUrl;
  const TOKEN_URL = panel.dataset.tokenUrl;
  const FIELDS = ["name", "temperature", "next_action_on", "note", "company_name", "phone",
    "email", "source"];
  const LOCATION_KEY = "quickcrm.location";

  // --- The queue: one IndexedDB store of captures keyed by their UUID. ---------------
  let dbPromise = null;
  function openDb() {
    dbPromise = dbPromise || new Promise((resolve, reject) => {
      const request = indexedDB.open("quickcrm", 1);
      request.onupgradeneeded = () => request.result.createObjectStore("captures", { keyPath: "uuid" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return dbPromise;
  }
  async function store(mode, work) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const tx = db.transaction("captures", mode);
      const result = work(tx.objectStore("captures"));
      tx.oncomplete = () => resolve(result.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  }
  const putCapture = (item) => store("readwrite", (s) => s.put(item)).then(changed);
  const removeCapture = (uuid) => store("readwrite", (s) => s.delete(uuid)).then(changed);
  const getCapture = (uuid) => store("readonly", (s) => s.get(uuid));
  const allCaptures = () => store("readonly", (s) => s.getAll())
    .then((items) => items.filter((item) => item.user === USER)
      .sort((a, b) => a.queued_at.localeCompare(b.queued_at)));

  // Other tabs of the app show the same queue.
  const channel = "BroadcastChannel" in window ? new BroadcastChannel("quickcrm-queue") : null;
  function changed() {
    channel?.postMessage("changed");
    return render();
  }
  if (channel) {
    channel.onmessage = (event) => (event.data === "synced" ? refreshRecent() : render());
  }

  function newUuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // --- What the rep sees: "N waiting to sync", Sync now, captures that need a look. ---
  // Once something waited during this visit, the panel stays to say when all is sent.
  const state = { signIn: false, waitedThisVisit: false, syncing: false };

  async function render() {
    const items = await allCaptures();
    const waiting = items.filter((item) => !item.problem);
    const problems = items.filter((item) => item.problem);
    panel.querySelector("[data-sync-count]").textContent = `${items.length} waiting to sync`;
    panel.querySelector("[data-sync-sign-in]").hidden = !(state.signIn && items.length);
    panel.querySelector("[data-sync-button]").disabled = state.syncing || !waiting.length;
    const list = panel.querySelector("[data-sync-list]");
    list.replaceChildren(...items.map(itemRow));
    state.waitedThisVisit = state.waitedThisVisit || items.length > 0;
    panel.querySelector("[data-sync-all-sent]").hidden = items.length > 0;
    panel.hidden = !state.waitedThisVisit;
    panel.classList.toggle("has-problems", problems.length > 0);
    return items.length;
  }

  function itemRow(item) {
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.className = "sync-name";
    name.textContent = item.fields.name || "(no name)";
    li.append(name);
    if (!item.problem) return li;
    li.className = "sync-problem";
    const why = document.createElement("span");
    why.className = "sync-why";
    why.textContent = Object.values(item.problem).join(" ");
    const edit = button("Edit", () => editCapture(item.uuid));
    edit.setAttribute("aria-label", `Edit ${name.textContent}`);
    const discard = button("Discard", () => discardCapture(item.uuid));
    discard.setAttribute("aria-label", `Discard ${name.textContent}`);
    li.append(why, edit, discard);
    return li;
  }

  function button(text, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "link-button";
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  function say(html) {
    const status = document.getElementById("capture-status");
    if (status) status.innerHTML = html;
  }
  function escape(text) {
    const span = document.createElement("span");
    span.textContent = text;
    return span.innerHTML;
  }

  // --- Keeping a capture the server did not take. ------------------------------------
  function captureOf(formEl) {
    const data = new FormData(formEl);
    const fields = {};
    FIELDS.forEach((name) => { fields[name] = (data.get(name) || "").toString(); });
    return {
      uuid: data.get("uuid") || newUuid(),
      user: USER,
      fields,
      captured_at: data.get("captured_at") || new Date().toISOString(),
      latitude: data.get("latitude") || null,
      longitude: data.get("longitude") || null,
      queued_at: new Date().toISOString(),
      problem: null,
    };
  }

  // The form is ready for the next card, as after a save; Source stays (set once per event).
  function clearForm(formEl) {
    const source = formEl.elements.source?.value || "";
    formEl.reset();
    FIELDS.forEach((name) => {
      const el = formEl.elements[name];
      if (el && el.type !== "radio" && name !== "source") el.value = "";
    });
    formEl.querySelectorAll("input[type=radio]").forEach((r) => { r.checked = false; });
    ["uuid", "captured_at", "latitude", "longitude"].forEach((n) => {
      if (formEl.elements[n]) formEl.elements[n].value = "";
    });
    if (formEl.elements.source) formEl.elements.source.value = source;
    formEl.querySelectorAll("[aria-pressed=true][data-days-ahead]").forEach((chip) => {
      chip.setAttribute("aria-pressed", "false");
    });
    formEl.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    formEl.querySelectorAll(".field-error").forEach((el) => el.remove());
    formEl.querySelectorAll(".has-error").forEach((el) => el.classList.remove("has-error"));
    formEl.elements.name?.focus();
  }

  async function keepOnPhone(formEl, why) {
    const item = captureOf(formEl);
    if (!item.fields.name.trim()) {
      // Nothing worth keeping yet: the one rule a capture has is checked here too.
      formEl.elements.name?.focus();
      say(`<p class="refused">${escape("Enter a name — a person or a business.")}</p>`);
      return;
    }
    await putCapture(item);
    clearForm(formEl);
    say(`<p class="kept">Saved on this phone — will sync · <strong>${escape(item.fields.name)}</strong>`
      + (why ? ` <span class="kept-why">${escape(why)}</span>` : "") + "</p>");
  }

  // Each submit gets its UUID, the phone's time and (if allowed) its place before htmx
  // reads the form; with no network at all the capture goes straight to the queue.
  document.addEventListener("submit", (event) => {
    const formEl = event.target.closest?.("[data-capture-form]");
    if (!formEl) return;
    if (!formEl.elements.uuid.value) formEl.elements.uuid.value = newUuid();
    formEl.elements.captured_at.value = new Date().toISOString();
    const where = freshPosition();
    formEl.elements.latitude.value = where ? where.coords.latitude : "";
    formEl.elements.longitude.value = where ? where.coords.longitude : "";
    if (navigator.onLine) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    keepOnPhone(formEl);
  }, true);

  const fromCaptureForm = (event) => event.detail?.elt?.matches?.("[data-capture-form]");
  document.addEventListener("htmx:sendError", (event) => {
    if (fromCaptureForm(event)) keepOnPhone(event.detail.elt);
  });
  document.addEventListener("htmx:timeout", (event) => {
    if (fromCaptureForm(event)) keepOnPhone(event.detail.elt);
  });
  document.addEventListener("htmx:beforeOnLoad", (event) => {
    if (!fromCaptureForm(event)) return;
    const status = event.detail.xhr.status;
    if (status === 401 || status === 400) {
      // The session expired (401), or the page's token is older than the session (400):
      // keep the capture; the sync then gets a fresh token or asks to sign in.
      event.preventDefault();
      keepOnPhone(event.detail.elt).then(syncNow);
    } else if (status >= 500) {
      event.preventDefault();
      keepOnPhone(event.detail.elt);
    } else if (status >= 200 && status < 300) {
      // Saved by the server: if it was a queued capture being edited, it is done.
      const uuid = event.detail.elt.elements.uuid?.value;
      if (uuid) removeCapture(uuid);
    }
  });

  // --- Sending the queue. ------------------------------------------------------------
  function currentToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
    } catch (error) {
      return document.querySelector("input[name=csrf_token]")?.value;
    }
  }
  function useToken(token) {
    document.body.setAttribute("hx-headers", JSON.stringify({ "X-CSRFToken": token }));
    document.querySelectorAll("input[name=csrf_token]").forEach((input) => { input.value = token; });
  }
  async function freshToken() {
    const response = await fetch(TOKEN_URL, {
      credentials: "same-origin", redirect: "manual", headers: { Accept: "application/json" },
    });
    if (!response.ok) return null;
    const { csrf_token: token } = await response.json();
    useToken(token);
    return token;
  }

  function post(item, token) {
    return fetch(SYNC_URL, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": token,
        "Idempotency-Key": item.uuid,
      },
      body: JSON.stringify({
        ...item.fields,
        uuid: item.uuid,
        captured_at: item.captured_at,
        latitude: item.latitude,
        longitude: item.longitude,
      }),
    });
  }

  const signedOut = (response) => response.type === "opaqueredirect" || response.status === 401;

  // "stored", "invalid" (with the messages), "sign-in" or "later".
  async function send(item) {
    let response;
    try {
      response = await post(item, currentToken());
      if (response.status === 400 && !signedOut(response)) {
        // The page's token may be older than the session (a page from the phone's cache).
        const token = await freshToken();
        if (!token) return { outcome: "sign-in" };
        response = await post(item, token);
      }
    } catch (error) {
      return { outcome: "later" };
    }
    if (response.status === 200 || response.status === 201) return { outcome: "stored" };
    if (signedOut(response) || response.status === 400) return { outcome: "sign-in" };
    if (response.status === 422 || response.status === 409) {
      const body = await response.json().catch(() => ({}));
      return { outcome: "invalid", problem: body.errors || { uuid: body.error || "Not accepted." } };
    }
    return { outcome: "later" };
  }

  // One tab sends at a time (Web Locks); a tab that waited re-reads the queue, so what the
  // other tab sent is not sent again.
  function exclusively(work) {
    return navigator.locks ? navigator.locks.request("quickcrm-sync", work) : work();
  }

  // A send that failed while the phone seemed online is tried again a little later.
  const RETRY_MS = 20 * 1000;
  let retry = null;

  async function syncNow() {
    if (state.syncing) return;
    state.syncing = true;
    clearTimeout(retry);
    panel.setAttribute("aria-busy", "true");
    panel.querySelector("[data-sync-button]").disabled = true;
    let later = false;
    let stored = 0;
    try {
      await exclusively(async () => {
        for (const queued of await allCaptures()) {
          const item = await getCapture(queued.uuid);
          if (!item || item.problem) continue;
          const result = await send(item);
          if (result.outcome === "stored") {
            await removeCapture(item.uuid);
            stored += 1;
            state.signIn = false;
          } else if (result.outcome === "invalid") {
            await putCapture({ ...item, problem: result.problem });
          } else {
            state.signIn = result.outcome === "sign-in";
            later = result.outcome === "later";
            break;
          }
        }
      });
    } finally {
      state.syncing = false;
      await render();
      panel.removeAttribute("aria-busy");
      if (later && navigator.onLine) retry = setTimeout(syncNow, RETRY_MS);
      if (stored) {
        channel?.postMessage("synced");
        refreshRecent();
      }
    }
  }

  // What was just sent now shows under "My recent captures".
  async function refreshRecent() {
    const recent = document.getElementById("recent");
    if (!recent) return;
    try {
      const response = await fetch(panel.dataset.page, { credentials: "same-origin", redirect: "manual" });
      if (!response.ok) return;
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.getElementById("recent");
      if (!fresh) return;
      recent.replaceWith(fresh);
      window.htmx?.process(fresh);
      document.dispatchEvent(new CustomEvent("quickcrm:recent", { detail: { elt: fresh } }));
    } catch (error) {
      // Offline again: the list catches up on the next sync.
    }
  }

  async function editCapture(uuid) {
    const item = await getCapture(uuid);
    const formEl = form();
    if (!item || !formEl) return;
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
    // Saving it again uses the same UUID: it leaves the queue once the server has it.
    formEl.elements.uuid.value = item.uuid;
    await putCapture({ ...item, problem: null });
    const more = formEl.querySelector("[aria-controls=more-fields]");
    if (more && more.getAttribute("aria-expanded") !== "true"
        && (item.fields.company_name || item.fields.phone || item.fields.email)) more.click();
    formEl.elements.name.focus();
    say(`<p class="kept">Editing <strong>${escape(item.fields.name)}</strong> — Save sends it.</p>`);
  }

  async function discardCapture(uuid) {
    const item = await getCapture(uuid);
    if (!item) return;
    if (!window.confirm(`Discard the capture of ${item.fields.name || "this lead"}? It was never sent.`)) return;
    await removeCapture(uuid);
  }

  // --- Where: only once the rep has allowed it. --------------------------------------
  let position = null;
  let watching = null;
  function freshPosition() {
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

  // --- When to sync. -----------------------------------------------------------------
  panel.querySelector("[data-sync-button]").addEventListener("click", syncNow);
  window.addEventListener("online", syncNow);
  document.addEventListener("htmx:load", (event) => setUpLocation(event.detail.elt));
  setUpLocation(document);
  if (localStorage.getItem(LOCATION_KEY) === "on") watchPosition();
  render().then(syncNow);

  if ("serviceWorker" in navigator && panel.dataset.serviceWorker) {
    navigator.serviceWorker.register(panel.dataset.serviceWorker, { scope: "/" }).catch(() => {});
  }
})();
