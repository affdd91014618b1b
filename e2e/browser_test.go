package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// waitTimeout bounds one wait for the page; a healthy run needs far less.
const waitTimeout = 25 * time.Second

// viewport is a screen size the layout must hold at.
type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

var viewports = []viewport{
	{"desktop", 1280, 800, false},
	{"phone", 390, 844, true},
}

// browser is one headless Chromium tab plus what the test watches in it.
type browser struct {
	t         *testing.T
	ctx       context.Context
	artifacts string
	shots     int

	mu       sync.Mutex
	problems []string // uncaught exceptions, CSP violations, console errors
	urls     []string // every URL the page requested
}

func newBrowser(t *testing.T, ctx context.Context) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("e2e: %s not found (%v): run scripts/install-chromium.sh (as root; it apt-get installs Debian's chromium) and test again", chromiumPath, err)
	}
	artifacts := os.Getenv("E2E_ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join("..", "artifacts", "e2e")
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() { bcancel(); acancel() })

	b := &browser{t: t, ctx: bctx, artifacts: artifacts}
	if err := chromedp.Listen(bctx, b.watch); err != nil {
		t.Fatalf("e2e: start %s: %v", chromiumPath, err)
	}
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(bctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	return b
}

// watch runs on chromedp's event loop: it only records.
func (b *browser) watch(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg += " " + d.Exception.Description
		}
		b.problems = append(b.problems, "uncaught exception: "+msg)
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
			b.problems = append(b.problems, fmt.Sprintf("console.%s called", ev.Type))
		}
	case *cdplog.EventEntryAdded:
		e := ev.Entry
		// Failed API calls (401, 409) show up as network errors; they are
		// part of the scenario. Anything else (CSP violations are
		// "security") is a problem.
		if e.Level == cdplog.EntryLevelError && e.Source != cdplog.EntrySourceNetwork {
			b.problems = append(b.problems, fmt.Sprintf("%s: %s (%s)", e.Source, e.Text, e.URL))
		}
	case *network.EventRequestWillBeSent:
		b.urls = append(b.urls, ev.Request.URL)
	}
}

func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

// fail stops the test with the page's text and a screenshot.
func (b *browser) fail(format string, args ...any) {
	b.t.Helper()
	text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 1500) : ''`))
	if buf, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot()); err == nil {
		_ = os.WriteFile(filepath.Join(b.artifacts, "failure.png"), buf, 0o644)
	}
	b.t.Fatalf("e2e: "+format+"\n--- page text ---\n%s", append(args, text)...)
}

// eval runs a JavaScript expression and decodes its value into T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fail("evaluate %s: %v", expr, err)
	}
	return v
}

// wait polls a JavaScript predicate until it is truthy.
func (b *browser) wait(what, expr string) {
	b.t.Helper()
	b.waitFor(what, expr, waitTimeout)
}

// waitFor is wait with its own bound, for a whole job to run.
func (b *browser) waitFor(what, expr string, timeout time.Duration) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		b.fail("waiting for %s (%s): %v", what, expr, err)
	}
}

// waitPage waits for the view of the named page with its content loaded.
func (b *browser) waitPage(name string) {
	b.t.Helper()
	b.wait("page "+name, fmt.Sprintf(`document.getElementById('view').dataset.page === %q && !document.querySelector('#view .loading')`, name))
}

func (b *browser) click(sel string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

func (b *browser) typeInto(sel, text string) {
	b.t.Helper()
	// Empty the field as a user would (select all, delete), so the page sees
	// input events, then type.
	eval[chromedp.Void](b, fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.value = ''; el.dispatchEvent(new Event('input', {bubbles: true})); })()`, sel))
	b.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ''`, sel))
}

// layout is what the page's geometry says about horizontal overflow.
type layout struct {
	ScrollWidth int    `json:"sw"`
	ClientWidth int    `json:"cw"`
	InnerWidth  int    `json:"iw"`
	Offender    string `json:"off"`
}

// shoot saves a screenshot of the page at every viewport and fails if the
// page body is wider than the screen (the sample table scrolls inside its own
// box and does not count). It leaves the desktop viewport set.
func (b *browser) shoot(name string) {
	b.t.Helper()
	b.shots++
	for _, vp := range viewports {
		opts := []chromedp.EmulateViewportOption{}
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile)
		}
		b.do("resize to "+vp.name, chromedp.EmulateViewport(vp.width, vp.height, opts...))
		eval[bool](b, `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`)
		l := eval[layout](b, `(() => {
			const d = document.documentElement, w = d.clientWidth;
			let off = '';
			for (const el of document.querySelectorAll('body *')) {
				if (el.closest('.sample-scroll, .table-wrap, .picker')) continue;
				const r = el.getBoundingClientRect();
				if (r.width && r.right > w + 1) { off = el.tagName + (el.id ? '#' + el.id : '') + '.' + el.className + ' right=' + Math.round(r.right); break; }
			}
			return {sw: d.scrollWidth, cw: w, iw: window.innerWidth, off: off};
		})()`)
		if l.ScrollWidth > int(vp.width)+1 || l.ClientWidth > int(vp.width)+1 {
			b.fail("%s at %dx%d: the page is %d px wide (client %d, inner %d); first element past the edge: %s",
				name, vp.width, vp.height, l.ScrollWidth, l.ClientWidth, l.InnerWidth, l.Offender)
		}
		buf, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			b.fail("screenshot %s: %v", name, err)
		}
		file := filepath.Join(b.artifacts, fmt.Sprintf("%02d-%s-%dx%d.png", b.shots, name, vp.width, vp.height))
		if err := os.WriteFile(file, buf, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.do("resize to desktop", chromedp.EmulateViewport(1280, 800))
}

// check fails the test if the page threw, broke its CSP, or sent the key in
// a URL.
func (b *browser) check() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Errorf("e2e: browser reported: %s", p)
	}
	for _, u := range b.urls {
		if strings.Contains(u, apiKey) {
			b.t.Errorf("e2e: the API key appears in a request URL")
		}
	}
	if len(b.urls) == 0 {
		b.t.Error("e2e: saw no request at all (network events not recorded)")
	}
}
