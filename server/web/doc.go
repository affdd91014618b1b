// Package web is the dashboard of "ora2gcs serve": static HTML, CSS and
// JavaScript embedded in the binary (no CDN, no build step, works offline)
// and a Fiber handler that serves them.
//
// The files hold no data: the browser fetches everything from the HTTP API
// with the API key the user signs in with (kept in sessionStorage and sent as
// "Authorization: Bearer" on every call, never in a URL). So the assets are
// served without auth, with a strict Content-Security-Policy (default-src
// 'self', no inline script or style), X-Content-Type-Options nosniff and
// revalidated caching (ETag, Cache-Control: no-cache).
//
// Layout: static/index.html is the page at "/", every other file of static/
// is served under "/ui/" (static/app.js at /ui/app.js).
package web
