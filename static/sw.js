// QuickCRM's service worker: the phone's copy of the app for a field day with patchy signal.
// Served from /sw.js (scope: the whole app) with QUICKCRM = {version, shell, page, keep, …}
// prepended by the server; the version changes whenever any file of the shell changes, so a
// deployment installs a new cache next to the old one. docs/offline.md tells the rules:
//
// - The capture page opens from the phone's cache at once (cache first) and is refreshed
//   behind it; the page itself then fetches a fresh CSRF token, recent captures and badge.
// - Every other page goes to the network and waits for it, however slow: a page is never
//   answered with another page. With no network, the phone's copy of that same address is
//   shown when it was kept (the agenda, record pages opened in the last 7 days, the records
//   on the agenda and among recent captures), else an honest "Not available offline" page.
/* global QUICKCRM */
"use strict";

const CACHE = `quickcrm-${QUICKCRM.version}`;
// Kept pages outlive a deployment (they are refreshed when the new worker starts).
const PAGES = "quickcrm-pages";
const SHELL = new Set(QUICKCRM.shell.map((url) => new URL(url, self.location).href));
const PAGE = new URL(QUICKCRM.page, self.location).href;
const SIGN_OUT = new URL(QUICKCRM.signOut, self.location).href;
const SIGN_IN = new URL(QUICKCRM.signIn, self.location).href;
const AGENDA = new URL(QUICKCRM.agenda, self.location).href;
const STYLE = QUICKCRM.style;
// Record pages are kept: their paths are one of these prefixes and a number.
const RECORD = new RegExp(`^(${QUICKCRM.records.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})\\d+$`);
const KEEP_DAYS = 7;
const KEEP_MS = KEEP_DAYS * 24 * 3600 * 1000;
const KEPT_AT = "X-QuickCRM-Kept-At";
// A page kept less than this long ago is not fetched again in the background.
const FRESH_MS = 10 * 60 * 1000;
const MAX_LINKED = 60;
const MAX_KEPT = 400;

const isRecord = (url) => {
  const u = new URL(url);
  return u.origin === self.location.origin && !u.search && RECORD.test(u.pathname);
};
const keepable = (url) => url === AGENDA || isRecord(url);
const usable = (response) => response.ok && !response.redirected && response.type === "basic";

async function cachePage(response) {
  // Only a real capture page: never a sign-in redirect or an error stored as the app.
  if (usable(response)) await (await caches.open(CACHE)).put(PAGE, response);
}

// The capture page as the phone keeps it: without a "Saved — …" of an earlier visit.
function fetchShellPage() {
  return fetch(PAGE, { credentials: "same-origin", headers: { "X-QuickCRM-Shell": "1" } });
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll([...SHELL].filter((url) => url !== PAGE));
    try {
      await cachePage(await fetchShellPage());
    } catch (error) {
      // Offline while installing: the page is cached on the next visit instead.
    }
    // Every file is addressed by its hash: an open page keeps its own files, so the new
    // worker can take over at once without mixing old and new.
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(
      names.filter((name) => name.startsWith("quickcrm-") && name !== CACHE && name !== PAGES)
        .map((name) => caches.delete(name)),
    );
    await self.clients.claim();
  })());
  // Kept pages name the old version's files: fetch them again with the new ones; and keep
  // the agenda and the records of recent captures from the start.
  event.waitUntil(refreshKept().then(keepAgenda).then(keepRecent).catch(() => {}));
});

// --- Kept pages -----------------------------------------------------------------------
async function keepPage(url, response) {
  if (!usable(response)) return;
  const headers = new Headers(response.headers);
  headers.set(KEPT_AT, String(Date.now()));
  const body = await response.blob();
  const pages = await caches.open(PAGES);
  await pages.put(url, new Response(body, { status: response.status, headers }));
  if (url === AGENDA) await keepLinked(await body.text());
}

const keptAt = (response) => Number(response?.headers.get(KEPT_AT) || 0);

async function keptCopy(url) {
  const copy = await (await caches.open(PAGES)).match(url, { ignoreVary: true });
  return copy && Date.now() - keptAt(copy) < KEEP_MS ? copy : null;
}

// The records a page links to (the agenda's people, recent captures) are kept too.
async function keepLinked(html) {
  const urls = new Set();
  for (const match of html.matchAll(/href="([^"#?]+)"/g)) {
    const url = new URL(match[1], self.location).href;
    if (isRecord(url)) urls.add(url);
    if (urls.size >= MAX_LINKED) break;
  }
  const pages = await caches.open(PAGES);
  for (const url of urls) {
    const copy = await pages.match(url, { ignoreVary: true });
    if (copy && Date.now() - keptAt(copy) < FRESH_MS) continue;
    try {
      await keepPage(url, await fetch(url, { credentials: "same-origin" }));
    } catch (error) {
      return; // the network went: the rest another time
    }
  }
  await forgetOld();
}

async function forgetOld() {
  const pages = await caches.open(PAGES);
  const keys = await pages.keys();
  const dated = await Promise.all(keys.map(async (key) => [key, keptAt(await pages.match(key, { ignoreVary: true }))]));
  dated.sort((a, b) => b[1] - a[1]);
  await Promise.all(dated.filter(([, at], i) => i >= MAX_KEPT || Date.now() - at >= KEEP_MS)
    .map(([key]) => pages.delete(key)));
}

async function refreshKept() {
  const pages = await caches.open(PAGES);
  for (const key of await pages.keys()) {
    try {
      await keepPage(key.url, await fetch(key.url, { credentials: "same-origin" }));
    } catch (error) {
      return;
    }
  }
}

// Opening the app keeps the agenda as it is now (and, through it, the people on it).
async function keepAgenda() {
  const copy = await (await caches.open(PAGES)).match(AGENDA, { ignoreVary: true });
  if (copy && Date.now() - keptAt(copy) < FRESH_MS) return;
  await keepPage(AGENDA, await fetch(AGENDA, { credentials: "same-origin" }));
}

async function keepRecent() {
  const cached = await (await caches.open(CACHE)).match(PAGE, { ignoreVary: true });
  if (cached) await keepLinked(await cached.text());
}

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// A page the phone did not keep says so under its own address.
function notKept(url) {
  const path = escapeHtml(new URL(url).pathname);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Not available offline · QuickCRM</title>
<link rel="stylesheet" href="${escapeHtml(STYLE)}"></head>
<body><main id="main" class="offline-page">
<p class="connection offline" role="status">Offline</p>
<h1>Not available offline</h1>
<p>This phone has no network, and <code>${path}</code> was not kept on it. Pages you opened
in the last ${KEEP_DAYS} days, your agenda and the people on it can be read offline.</p>
<p><a class="button primary" href="${escapeHtml(QUICKCRM.page)}">Capture a lead</a>
<a class="button" href="${escapeHtml(QUICKCRM.agenda)}">Agenda</a></p>
</main></body></html>`;
  return new Response(html, {
    status: 503,
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Content-Security-Policy": "default-src 'self'; script-src 'none'",
      "Cache-Control": "no-store",
    },
  });
}

// --- Answering ------------------------------------------------------------------------
async function openCapturePage(event) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(PAGE, { ignoreVary: true });
  const refresh = (async () => {
    const response = await fetchShellPage();
    await cachePage(response.clone());
    await keepLinked(await response.text());
    await keepAgenda();
  })().catch(() => {});
  if (cached) {
    event.waitUntil(refresh);
    return cached;
  }
  try {
    const response = await fetch(event.request);
    event.waitUntil(refresh);
    return response;
  } catch (error) {
    return notKept(event.request.url);
  }
}

async function openPage(event) {
  const request = event.request;
  const url = request.url.split("#")[0];
  try {
    const response = await fetch(request);
    if (keepable(url) && usable(response)) event.waitUntil(keepPage(url, response.clone()));
    return response;
  } catch (error) {
    return (await keptCopy(url)) || notKept(url);
  }
}

async function shellFile(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request, { ignoreVary: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

async function forgetEverything() {
  await (await caches.open(CACHE)).delete(PAGE);
  await caches.delete(PAGES);
}

// Signing out of this phone ends its notifications too: they would show the rep's
// follow-ups to whoever has the phone next. The server learns it from the push service
// (410), and removes its copy at the next push.
async function stopNotifications() {
  const subscription = await self.registration.pushManager?.getSubscription();
  if (subscription) await subscription.unsubscribe();
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method === "POST" && (request.url === SIGN_OUT || request.url.startsWith(SIGN_IN))) {
    // Signing out or in forgets the phone's copy of the pages (they show one rep's leads).
    // Captures and actions still waiting stay in IndexedDB until their rep signs in again.
    const forget = request.url === SIGN_OUT
      ? Promise.all([forgetEverything(), stopNotifications()])
      : forgetEverything();
    event.respondWith(forget.catch(() => {}).then(() => fetch(request)));
    return;
  }
  // Posts (captures, Done) and htmx fragments always go to the server untouched.
  if (request.method !== "GET" || request.headers.has("HX-Request")) return;
  const sameOrigin = new URL(request.url).origin === self.location.origin;
  if (request.mode === "navigate" && sameOrigin) {
    event.respondWith(request.url === PAGE ? openCapturePage(event) : openPage(event));
  } else if (SHELL.has(request.url) && request.url !== PAGE) {
    event.respondWith(shellFile(request));
  }
});

// --- Notifications (web push, docs/web-push.md) ---------------------------------------
// The server's morning list: {title, body, url, tag}, encrypted for this phone alone
// (quickcrm/domain/push.py). Tapping it opens the agenda, in a window of the app already
// open if there is one.
self.addEventListener("push", (event) => {
  let message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch (error) {
    // Not ours to read: still a notification (browsers require one for every push).
  }
  const url = new URL(message.url || QUICKCRM.agenda, self.location);
  const open = url.origin === self.location.origin ? url.href : AGENDA;
  event.waitUntil(self.registration.showNotification(message.title || "QuickCRM", {
    body: message.body || "Your follow-ups for today",
    tag: message.tag || "quickcrm",
    icon: QUICKCRM.icon,
    data: { url: open },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = event.notification.data?.url || AGENDA;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const mine = windows.find((client) => new URL(client.url).origin === self.location.origin);
    if (mine) {
      await mine.focus();
      return mine.navigate(url).catch(() => self.clients.openWindow(url));
    }
    return self.clients.openWindow(url);
  })());
});
