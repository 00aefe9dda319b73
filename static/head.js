// Loaded in <head>, before the page is drawn (no defer): app.css hides what only works
// with script (.js / html:not(.js)) without a flash. A file, not inline script: the
// Content-Security-Policy runs only the app's own files (docs/security.md, "In the browser").
document.documentElement.classList.add("js");
