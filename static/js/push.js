// Notifications on this phone (templates/reminders/_push.html, docs/web-push.md): finds
// whether this browser can be notified, is, or was blocked, and turns it on or off — the
// browser's subscription and the server's copy together, never one without the other.
import { csrfToken } from "./app.js";

const section = document.querySelector("[data-push]");
const state = section?.querySelector("[data-push-state]");
const hint = section?.querySelector("[data-push-hint]");
const onButton = section?.querySelector("[data-push-on]");
const offButton = section?.querySelector("[data-push-off]");

const TEXT = {
  on: "Notifications are on for this phone.",
  off: "Notifications are off for this phone.",
  unsupported: "This browser cannot receive notifications.",
  blocked: "Notifications are blocked: allow them in the browser's settings.",
};
// How long to wait for the service worker before saying the phone is not ready.
const READY_MS = 10000;

const supported = () => "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;

function show(which, problem) {
  state.textContent = problem || TEXT[which];
  state.classList.toggle("error", Boolean(problem) || which === "blocked");
  onButton.hidden = which !== "off";
  offButton.hidden = which !== "on";
  hint.hidden = which !== "unsupported";
}

function decodeKey(text) {
  const base64 = (text + "=".repeat((4 - (text.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

function sameKey(subscription, key) {
  const held = subscription.options?.applicationServerKey;
  if (!held) return true; // the browser does not say: trust it
  const a = new Uint8Array(held);
  return a.length === key.length && a.every((byte, i) => byte === key[i]);
}

async function serverKey() {
  const response = await fetch(section.dataset.keyUrl, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`the server answered ${response.status}`);
  return decodeKey((await response.json()).key);
}

async function registration() {
  const timeout = new Promise((_, reject) => setTimeout(
    () => reject(new Error("the app's service worker is not running; reload the page")), READY_MS));
  return Promise.race([navigator.serviceWorker.ready, timeout]);
}

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    let told = "";
    try { told = (await response.json()).error || ""; } catch (error) { /* not JSON */ }
    throw new Error(told || `the server answered ${response.status}`);
  }
  return response;
}

async function turnOn() {
  onButton.disabled = true;
  let subscription = null;
  try {
    const permission = await Notification.requestPermission();
    if (permission === "denied") { show("blocked"); return; }
    if (permission !== "granted") {
      show("off", "Notifications were not allowed: tap Notify me on this phone and choose Allow.");
      return;
    }
    const key = await serverKey();
    const reg = await registration();
    const old = await reg.pushManager.getSubscription();
    if (old && !sameKey(old, key)) await old.unsubscribe();
    subscription = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    await post(section.dataset.subscribeUrl, subscription.toJSON());
    show("on");
  } catch (error) {
    // Nothing half-made: a subscription the server did not keep is dropped on the phone too.
    if (subscription) await subscription.unsubscribe().catch(() => {});
    show("off", `Could not turn on notifications: ${error.message || error}`);
  } finally {
    onButton.disabled = false;
  }
}

async function turnOff() {
  offButton.disabled = true;
  try {
    const reg = await registration();
    const subscription = await reg.pushManager.getSubscription();
    if (subscription) {
      // The server forgets it first; offline, the push service tells it later (the
      // phone's subscription ends here either way, and a push to it is answered 410).
      await post(section.dataset.unsubscribeUrl, { endpoint: subscription.endpoint }).catch(() => {});
      await subscription.unsubscribe();
    }
    show("off");
  } catch (error) {
    show("on", `Could not stop notifications: ${error.message || error}`);
  } finally {
    offButton.disabled = false;
  }
}

async function findState() {
  if (!supported()) { show("unsupported"); return; }
  if (Notification.permission === "denied") { show("blocked"); return; }
  try {
    const reg = await registration();
    const subscription = await reg.pushManager.getSubscription();
    if (!subscription || Notification.permission !== "granted") { show("off"); return; }
    const key = await serverKey();
    if (!sameKey(subscription, key)) { await subscription.unsubscribe(); show("off"); return; }
    // The server's copy made current: new keys, or another user signed in on this phone.
    await post(section.dataset.subscribeUrl, subscription.toJSON());
    show("on");
  } catch (error) {
    show("off", `Could not check this phone's notifications: ${error.message || error}`);
  }
}

if (section) {
  onButton.addEventListener("click", turnOn);
  offButton.addEventListener("click", turnOff);
  state.textContent = "Checking this phone…";
  findState();
}
