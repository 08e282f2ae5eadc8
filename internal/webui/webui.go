// Package webui serves the lineage web UI: the single-page app built from web/ (TypeScript,
// bundled by esbuild with `make ui`) and embedded here, so the collector binary carries the whole
// product and nothing is fetched from elsewhere at run time. The lineage_query extension mounts
// Handler at / next to its API under /api/.
package webui // import "github.com/eventlineage/lineage/internal/webui"

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// dist is the built UI (`make ui` writes it; committed so that `go build` needs no Node.js).
//
//go:embed dist
var dist embed.FS

// ContentSecurityPolicy allows the page its own scripts, styles, images and API calls and nothing
// else: no external origin, no inline script or style element, no framing, no plugins.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Cache policies: assets/ files are named by their content hash, so they never change under
// their name; everything else (index.html, favicon) is revalidated with its ETag.
const (
	cacheImmutable   = "public, max-age=31536000, immutable"
	cacheRevalidate  = "no-cache"
	assetsPrefix     = "assets/"
	indexFile        = "index.html"
	apiPrefix        = "/api/"
	notFoundJSONBody = `{"error":"not found"}` + "\n"
)

// contentTypes by extension: explicit, so the answer does not depend on the host's MIME tables.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".json": "application/json",
	".txt":  "text/plain; charset=utf-8",
}

type file struct {
	body        []byte
	contentType string
	etag        string
	cache       string
}

type handler struct {
	files map[string]file // by path relative to dist
}

// Handler serves the UI: the files of dist by path, and index.html for every other GET path
// outside /api/ (the app's own routes, e.g. /events/dc1/transactions/0/5). A missing file with
// an extension is a 404, not the page, so a stale script reference fails loudly.
func Handler() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed directive guarantees dist exists
	}
	h, err := newHandler(sub)
	if err != nil {
		panic(err) // the embedded files are fixed at build time; TestEmbeddedUI reads them all
	}
	return h
}

func newHandler(root fs.FS) (*handler, error) {
	h := &handler{files: map[string]file{}}
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			ct = http.DetectContentType(body)
		}
		sum := sha256.Sum256(body)
		cache := cacheRevalidate
		if strings.HasPrefix(p, assetsPrefix) {
			cache = cacheImmutable
		}
		h.files[p] = file{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, cache: cache}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := h.files[indexFile]; !ok {
		return nil, fs.ErrNotExist
	}
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := path.Clean("/" + r.URL.Path)
	if p == "/api" || strings.HasPrefix(p, apiPrefix) {
		// The API owns /api/; a path it does not serve is an API 404, never the page.
		hdr.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(notFoundJSONBody))
		return
	}
	name := strings.TrimPrefix(p, "/")
	f, ok := h.files[name]
	if !ok || name == "" {
		if path.Ext(name) != "" && name != indexFile {
			http.NotFound(w, r)
			return
		}
		f = h.files[indexFile]
	}
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("Cache-Control", f.cache)
	hdr.Set("ETag", f.etag)
	// ServeContent answers If-None-Match (304), Range and HEAD; no modification time is known.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}
