// QuickCRM's service worker: keeps the capture page and its files on the phone, so the
// home-screen app opens with no network. Served from /sw.js (scope: the whole app) with
// QUICKCRM = {version, shell, page} prepended by the server; the version changes whenever
// any file of the shell changes, so a deployment installs a new cache next to the old one.
/* global QUICKCRM */
"use strict";

const CACHE = `quickcrm-${QUICKCRM.version}`;
const SHELL = new Set(QUICKCRM.shell.map((url) => new URL(url, self.location).href));
const PAGE = new URL(QUICKCRM.page, self.location).href;
const SIGN_OUT = new URL(QUICKCRM.signOut, self.location).href;
// On a network that answers nothing, show the phone's copy rather than a blank screen.
const PAGE_TIMEOUT_MS = 4000;

async function cachePage(cache, response) {
  // Only a real capture page: never a sign-in redirect or an error stored as the app.
  if (response.ok && !response.redirected && response.type === "basic") {
    await cache.put(PAGE, response);
  }
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    const files = [...SHELL].filter((url) => url !== PAGE);
    await cache.addAll(files);
    try {
      await cachePage(cache, await fetch(PAGE, { credentials: "same-origin" }));
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
      names.filter((name) => name.startsWith("quickcrm-") && name !== CACHE)
        .map((name) => caches.delete(name)),
    );
    await self.clients.claim();
  })());
});

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then(
      (value) => { clearTimeout(timer); resolve(value); },
      (error) => { clearTimeout(timer); reject(error); },
    );
  });
}

async function openPage(request) {
  const cache = await caches.open(CACHE);
  const network = fetch(request);
  try {
    const response = await withTimeout(network, PAGE_TIMEOUT_MS);
    if (request.url === PAGE) await cachePage(cache, response.clone());
    return response;
  } catch (error) {
    // Offline (or no answer): the capture page from the phone, whatever was asked for.
    const cached = await cache.match(PAGE, { ignoreVary: true });
    if (cached) return cached;
    return network;
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

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method === "POST" && request.url === SIGN_OUT) {
    // Signing out forgets the phone's copy of the page (it shows the rep's recent leads).
    // Captures still waiting to sync stay in IndexedDB until their rep signs in again.
    event.waitUntil(caches.open(CACHE).then((cache) => cache.delete(PAGE)));
    return;
  }
  // Posts (captures, sign-in) and htmx fragments always go to the server untouched.
  if (request.method !== "GET" || request.headers.has("HX-Request")) return;
  if (request.mode === "navigate" && new URL(request.url).origin === self.location.origin) {
    event.respondWith(openPage(request));
  } else if (SHELL.has(request.url) && request.url !== PAGE) {
    event.respondWith(shellFile(request));
  }
});
