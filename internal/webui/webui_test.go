package webui

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func get(t *testing.T, h http.Handler, method, target string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	return string(b)
}

// The embedded build: index.html names a hashed script and stylesheet that exist, with the right
// types and cache policies, and references nothing outside its own origin.
func TestEmbeddedUI(t *testing.T) {
	h := Handler()
	res := get(t, h, http.MethodGet, "/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Equal(t, "no-cache", res.Header.Get("Cache-Control"))
	assert.Equal(t, ContentSecurityPolicy, res.Header.Get("Content-Security-Policy"))
	assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
	page := body(t, res)
	assert.NotContains(t, page, "http://")
	assert.NotContains(t, page, "https://")
	assert.NotContains(t, page, "%APP_", "index.html still has build placeholders")

	refs := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(page, -1)
	require.Len(t, refs, 2, "one script and one stylesheet")
	for _, ref := range refs {
		a := get(t, h, http.MethodGet, ref[1])
		require.Equal(t, http.StatusOK, a.StatusCode, ref[1])
		assert.Equal(t, "public, max-age=31536000, immutable", a.Header.Get("Cache-Control"), ref[1])
		want := map[bool]string{true: "text/javascript; charset=utf-8", false: "text/css; charset=utf-8"}[strings.HasSuffix(ref[1], ".js")]
		assert.Equal(t, want, a.Header.Get("Content-Type"), ref[1])
		assert.NotEmpty(t, body(t, a))
	}
	fav := get(t, h, http.MethodGet, "/favicon.svg")
	assert.Equal(t, http.StatusOK, fav.StatusCode)
	assert.Equal(t, "image/svg+xml", fav.Header.Get("Content-Type"))
}

// The CSP names no other origin: every source is 'self', 'none' or data: for images.
func TestContentSecurityPolicyHasNoExternalOrigin(t *testing.T) {
	for _, d := range strings.Split(ContentSecurityPolicy, ";") {
		f := strings.Fields(d)
		require.NotEmpty(t, f)
		for _, src := range f[1:] {
			assert.Contains(t, []string{"'self'", "'none'", "data:"}, src, "directive %q", d)
		}
	}
	assert.NotContains(t, ContentSecurityPolicy, "unsafe")
}

func testHandler(t *testing.T) *handler {
	t.Helper()
	h, err := newHandler(fstest.MapFS{
		"index.html":         {Data: []byte("<!doctype html><title>x</title>")},
		"favicon.svg":        {Data: []byte("<svg xmlns='http://www.w3.org/2000/svg'/>")},
		"assets/main-AB.js":  {Data: []byte("console.log(1)")},
		"assets/app-CD.css":  {Data: []byte("body{}")},
		"assets/blob-EF.bin": {Data: []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}},
	})
	require.NoError(t, err)
	return h
}

func TestRoutes(t *testing.T) {
	h := testHandler(t)
	for _, tc := range []struct {
		target string
		status int
		ctype  string
		cache  string
		body   string
	}{
		{"/", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html><title>x</title>"},
		{"/index.html", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html><title>x</title>"},
		// client routes fall back to the page
		{"/events/dc1/transactions/0/5?view=impact", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html><title>x</title>"},
		{"/events/dc1/dc2.withdrawals-approved/1/7", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html><title>x</title>"},
		{"/flow", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html><title>x</title>"},
		{"/assets/main-AB.js", 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "console.log(1)"},
		{"/assets/app-CD.css", 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable", "body{}"},
		{"/assets/../assets/main-AB.js", 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "console.log(1)"},
		{"/assets/blob-EF.bin", 200, "image/png", "public, max-age=31536000, immutable", "\x89PNG\r\n\x1a\n"},
		// a missing file is a 404, never the page
		{"/assets/main-OLD.js", 404, "text/plain; charset=utf-8", "", "404 page not found\n"},
		{"/robots.txt", 404, "text/plain; charset=utf-8", "", "404 page not found\n"},
		// /api/ belongs to the API
		{"/api/v1/nothing", 404, "application/json", "", "{\"error\":\"not found\"}\n"},
		{"/api", 404, "application/json", "", "{\"error\":\"not found\"}\n"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			res := get(t, h, http.MethodGet, tc.target)
			assert.Equal(t, tc.status, res.StatusCode)
			assert.Equal(t, tc.ctype, res.Header.Get("Content-Type"))
			assert.Equal(t, tc.cache, res.Header.Get("Cache-Control"))
			assert.Equal(t, tc.body, body(t, res))
			assert.Equal(t, ContentSecurityPolicy, res.Header.Get("Content-Security-Policy"))
			assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
		})
	}
}

func TestConditionalHeadAndMethods(t *testing.T) {
	h := testHandler(t)
	first := get(t, h, http.MethodGet, "/assets/main-AB.js")
	etag := first.Header.Get("ETag")
	require.NotEmpty(t, etag)
	again := get(t, h, http.MethodGet, "/assets/main-AB.js", "If-None-Match", etag)
	assert.Equal(t, http.StatusNotModified, again.StatusCode)
	assert.Empty(t, body(t, again))
	// the page's ETag differs from the script's: each file has its own
	assert.NotEqual(t, etag, get(t, h, http.MethodGet, "/").Header.Get("ETag"))

	head := get(t, h, http.MethodHead, "/flow")
	assert.Equal(t, http.StatusOK, head.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", head.Header.Get("Content-Type"))
	assert.Empty(t, body(t, head))

	post := get(t, h, http.MethodPost, "/")
	assert.Equal(t, http.StatusMethodNotAllowed, post.StatusCode)
	assert.Equal(t, "GET, HEAD", post.Header.Get("Allow"))
}

func TestNewHandlerNeedsIndex(t *testing.T) {
	_, err := newHandler(fstest.MapFS{"assets/a.js": {Data: []byte("1")}})
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

// Any request path: no panic, and the answer is one of the embedded files, the page, or a 404.
func FuzzServePath(f *testing.F) {
	for _, s := range []string{"/", "/events/dc1/t/0/1", "/assets/main-AB.js", "/../../etc/passwd", "/api/v1/x", "//x", "/%2e%2e/", "/a.b/c"} {
		f.Add(s)
	}
	h, err := newHandler(fstest.MapFS{
		"index.html":        {Data: []byte("PAGE")},
		"assets/main-AB.js": {Data: []byte("SCRIPT")},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, p string) {
		req, err := http.NewRequest(http.MethodGet, "http://x/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Path = p
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch b := rec.Body.String(); {
		case rec.Code == http.StatusOK && (b == "PAGE" || b == "SCRIPT"):
		case rec.Code == http.StatusNotFound:
		default:
			t.Fatalf("path %q: %d %q", p, rec.Code, b)
		}
	})
}
