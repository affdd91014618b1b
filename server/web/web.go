package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy is sent with every dashboard file: scripts, styles,
// fetches and images only from the server itself; no framing, no plugins.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// AssetPrefix is the URL path prefix of the dashboard's assets.
const AssetPrefix = "/ui/"

// asset is one embedded file, read once.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Handler serves the embedded dashboard. It is safe for concurrent use.
type Handler struct {
	index  asset
	assets map[string]asset // by name below static/, e.g. "app.js"
}

// New reads the embedded files. It fails only if the binary was built
// without static/index.html.
func New() (*Handler, error) {
	h := &Handler{assets: make(map[string]asset)}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.assets[strings.TrimPrefix(p, "static/")] = asset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: read embedded files: %w", err)
	}
	idx, ok := h.assets["index.html"]
	if !ok {
		return nil, fmt.Errorf("web: index.html missing from the embedded files")
	}
	idx.contentType = "text/html; charset=utf-8"
	h.index = idx
	return h, nil
}

// Index serves the page (GET "/").
func (h *Handler) Index(c *fiber.Ctx) error {
	return send(c, h.index)
}

// Asset serves one file below /ui/ (route "/ui/*"); unknown names are
// fiber.ErrNotFound, which the server renders in its error shape.
func (h *Handler) Asset(c *fiber.Ctx) error {
	name := c.Params("*")
	a, ok := h.assets[name]
	if !ok || name == "index.html" {
		return fiber.ErrNotFound
	}
	return send(c, a)
}

// Names lists the served asset names (below /ui/), for tests.
func (h *Handler) Names() []string {
	out := make([]string, 0, len(h.assets))
	for n := range h.assets {
		if n != "index.html" {
			out = append(out, n)
		}
	}
	return out
}

func send(c *fiber.Ctx, a asset) error {
	SetHeaders(c)
	c.Set(fiber.HeaderETag, a.etag)
	c.Set(fiber.HeaderContentType, a.contentType)
	if match := c.Get(fiber.HeaderIfNoneMatch); match != "" && strings.Contains(match, a.etag) {
		return c.SendStatus(http.StatusNotModified)
	}
	return c.Send(a.body)
}

// SetHeaders sets the security and caching headers of a dashboard response.
// Cache-Control "no-cache" lets the browser keep a copy but revalidate it
// with its ETag, so an upgraded binary's files are picked up at once.
func SetHeaders(c *fiber.Ctx) {
	c.Set(fiber.HeaderContentSecurityPolicy, ContentSecurityPolicy)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set(fiber.HeaderCacheControl, "no-cache")
}
