// Package e2e holds the browser tests of the dashboard: the real stack (synth
// source, file sink, jobs.Manager, server) in-process on a 127.0.0.1
// listener, driven through headless Chromium with chromedp.
//
// The tests need /usr/bin/chromium (Debian's "chromium" package); without it
// they fail and say to run scripts/install-chromium.sh, which `make test`
// runs first. Screenshots of every page at 1280×800 and 390×844 are written
// to artifacts/e2e/ (or $E2E_ARTIFACTS) for a person to look at.
package e2e
