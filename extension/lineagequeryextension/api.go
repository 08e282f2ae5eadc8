package lineagequeryextension // import "github.com/eventlineage/lineage/extension/lineagequeryextension"

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

// openAPIDocument describes every route below; a test keeps the two in step.
//
//go:embed openapi.json
var openAPIDocument []byte

// api answers the HTTP JSON API from a lineage store.
type api struct {
	cfg      *Config
	provider lineagestore.Provider
	logger   *zap.Logger
	version  string
	// ui serves the web UI at /, nil when disabled.
	ui http.Handler
	// ignoredParams are query parameters consumed before the API (the authenticator's request_params).
	ignoredParams []string
	now           func() time.Time
}

// route is one API route: its path pattern (net/http ServeMux syntax, the same as the OpenAPI
// document's path templates), the query parameters it accepts and its handler.
type route struct {
	pattern string
	params  []string
	handle  func(a *api, w http.ResponseWriter, r *http.Request, q query) error
}

const recordPath = "/api/v1/events/{cluster}/{topic}/{partition}/{offset}"

// routes lists the API. Every route answers GET (and HEAD) only.
var routes = []route{
	{"/api/v1/events", eventQueryParams, (*api).events},
	{recordPath, nil, (*api).event},
	{recordPath + "/lineage", lineageParams, (*api).lineage},
	{recordPath + "/audit", append([]string{"format"}, lineageParams...), (*api).audit},
	{"/api/v1/topology", []string{"from", "to"}, (*api).topology},
	{"/api/v1/outliers", outlierParams, (*api).outliers},
	{"/api/v1/config", nil, (*api).config},
	{"/api/v1/openapi.json", nil, (*api).openAPI},
}

// handler returns the API's request router: the routes, JSON 404s for every other path under
// /api/ and the web UI (or, when it is disabled, a 404) for the rest.
func (a *api) handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.Handle(rt.pattern, a.serve(rt))
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no API route %s (see /api/v1/openapi.json)", r.URL.Path))
	})
	if a.ui != nil {
		mux.Handle("/", a.ui)
	} else {
		mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, http.StatusNotFound, "the web UI is disabled (lineage_query::ui::enabled: false); the API is under /api/v1")
		})
	}
	return mux
}

// serve checks the method and the query string, runs the route's handler under the request
// timeout and turns its error into a JSON error answer.
func (a *api) serve(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed: %s answers GET only", r.Method, rt.pattern))
			return
		}
		q, err := parseQuery(r.URL.RawQuery, rt.params, a.ignoredParams)
		if err == nil {
			if a.cfg.WriteTimeout > 0 {
				// A store query may not outlive the answer it is for.
				ctx, cancel := context.WithTimeout(r.Context(), a.cfg.WriteTimeout)
				defer cancel()
				r = r.WithContext(ctx)
			}
			err = rt.handle(a, w, r, q)
		}
		if err != nil {
			a.writeFailure(w, r, err)
		}
	})
}

func (a *api) store() (lineagestore.Store, error) {
	if s := a.provider.LineageStore(); s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("%w: the storage extension is not started", lineagestore.ErrUnavailable)
}

// writeFailure answers an error: invalid parameters 400, unknown events 404, an unreachable or
// slow store 503, anything else 500 without details (those go to the log).
func (a *api) writeFailure(w http.ResponseWriter, r *http.Request, err error) {
	var pe *paramError
	var nf *notFoundError
	var netErr *net.OpError
	switch {
	case errors.As(err, &pe):
		writeError(w, http.StatusBadRequest, pe.Error())
	case errors.Is(err, lineagestore.ErrBadPageToken):
		writeError(w, http.StatusBadRequest, `parameter "page_token": expected the next_page_token of a previous answer to the same query`)
	case errors.Is(err, lineagestore.ErrInvalid):
		// The store's own input checks (e.g. a name over its length bound): the message is the
		// caller's input described, not an internal detail.
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.As(err, &nf):
		writeError(w, http.StatusNotFound, nf.Error())
	case errors.Is(r.Context().Err(), context.Canceled):
		// The client went away; nobody reads an answer.
		a.logger.Debug("lineage query abandoned by the client", zap.String("path", r.URL.Path), zap.Error(err))
	case errors.Is(err, context.DeadlineExceeded):
		a.logger.Warn("lineage query timed out", zap.String("path", r.URL.Path), zap.Error(err))
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("the lineage store did not answer within %s", a.cfg.WriteTimeout))
	case errors.Is(err, lineagestore.ErrUnavailable), errors.Is(err, sql.ErrConnDone), errors.Is(err, driver.ErrBadConn), errors.As(err, &netErr):
		a.logger.Warn("lineage store unavailable", zap.String("path", r.URL.Path), zap.Error(err))
		writeError(w, http.StatusServiceUnavailable, "the lineage store is unavailable; try again later")
	default:
		a.logger.Error("lineage query failed", zap.String("path", r.URL.Path), zap.String("query", r.URL.RawQuery), zap.Error(err))
		writeError(w, http.StatusInternalServerError, "internal error; the collector log has the details")
	}
}

// notFoundError names the event that is not stored.
type notFoundError struct{ id lineagestore.RecordID }

func (e *notFoundError) Error() string { return "event " + e.id.String() + " not found" }

// errorBody is the body of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	body, _ := json.Marshal(errorBody{Error: msg}) // a struct of one string always encodes
	writeBody(w, status, "application/json", body)
}

// writeJSON encodes v completely before answering, so that an encoding error is a clean 500.
func writeJSON(w http.ResponseWriter, v any) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return fmt.Errorf("encoding the answer: %w", err)
	}
	writeBody(w, http.StatusOK, "application/json", buf.Bytes())
	return nil
}

func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType+"; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body) // a write error means the client is gone
}

// pathRecord reads the record id of a /api/v1/events/{cluster}/{topic}/{partition}/{offset} path.
func pathRecord(r *http.Request) (lineagestore.RecordID, error) {
	return parseRecordID(r.PathValue("cluster"), r.PathValue("topic"), r.PathValue("partition"), r.PathValue("offset"))
}

// notFound turns the store's ErrNotFound into the answer naming the event of the path. The
// store resolves a cluster given by its readable name itself.
func notFound(id lineagestore.RecordID, err error) error {
	if errors.Is(err, lineagestore.ErrNotFound) {
		return &notFoundError{id: id}
	}
	return err
}

func (a *api) events(w http.ResponseWriter, r *http.Request, q query) error {
	s, err := a.store()
	if err != nil {
		return err
	}
	eq, err := parseEventQuery(q, a.provider.KeyHasher())
	if err != nil {
		return err
	}
	page, err := s.FindEvents(r.Context(), eq)
	if err != nil {
		return err
	}
	page.Events = orEmpty(page.Events)
	return writeJSON(w, page)
}

func (a *api) event(w http.ResponseWriter, r *http.Request, _ query) error {
	s, err := a.store()
	if err != nil {
		return err
	}
	id, err := pathRecord(r)
	if err != nil {
		return err
	}
	d, err := s.Event(r.Context(), id)
	if err != nil {
		return notFound(id, err)
	}
	d.Touchpoints, d.Inputs, d.Outputs = orEmpty(d.Touchpoints), orEmpty(d.Inputs), orEmpty(d.Outputs)
	return writeJSON(w, d)
}

// graph runs the lineage query of a lineage or audit request.
func (a *api) graph(r *http.Request, q query) (lineagestore.Graph, error) {
	s, err := a.store()
	if err != nil {
		return lineagestore.Graph{}, err
	}
	id, err := pathRecord(r)
	if err != nil {
		return lineagestore.Graph{}, err
	}
	lq, err := parseLineageQuery(q, id, a.cfg.MaxLineageDepth, a.cfg.MaxLineageEvents)
	if err != nil {
		return lineagestore.Graph{}, err
	}
	g, err := s.Lineage(r.Context(), lq)
	if err != nil {
		return g, notFound(id, err)
	}
	g.Nodes, g.Edges = orEmpty(g.Nodes), orEmpty(g.Edges)
	for i := range g.Nodes {
		g.Nodes[i].Touchpoints = orEmpty(g.Nodes[i].Touchpoints)
	}
	return g, nil
}

func (a *api) lineage(w http.ResponseWriter, r *http.Request, q query) error {
	g, err := a.graph(r, q)
	if err != nil {
		return err
	}
	return writeJSON(w, g)
}

func (a *api) topology(w http.ResponseWriter, r *http.Request, q query) error {
	s, err := a.store()
	if err != nil {
		return err
	}
	from, to, err := q.boundedRange(a.now())
	if err != nil {
		return err
	}
	t, err := s.Topology(r.Context(), lineagestore.TopologyQuery{From: from, To: to})
	if err != nil {
		return err
	}
	t.Nodes, t.Edges = orEmpty(t.Nodes), orEmpty(t.Edges)
	return writeJSON(w, t)
}

// outlierList is the answer of GET /api/v1/outliers.
type outlierList struct {
	Outliers []lineagestore.Outlier `json:"outliers"`
}

func (a *api) outliers(w http.ResponseWriter, r *http.Request, q query) error {
	s, err := a.store()
	if err != nil {
		return err
	}
	oq, err := parseOutlierQuery(q, a.now())
	if err != nil {
		return err
	}
	list, err := s.Outliers(r.Context(), oq)
	if err != nil {
		return err
	}
	return writeJSON(w, outlierList{Outliers: orEmpty(list)})
}

// uiConfig is the answer of GET /api/v1/config: what the web UI needs to know.
type uiConfig struct {
	TraceURLTemplate string `json:"trace_url_template"`
	MaxLineageDepth  int    `json:"max_lineage_depth"`
	MaxLineageEvents int    `json:"max_lineage_events"`
	Version          string `json:"version"`
}

func (a *api) config(w http.ResponseWriter, _ *http.Request, _ query) error {
	return writeJSON(w, uiConfig{
		TraceURLTemplate: a.cfg.TraceURLTemplate,
		MaxLineageDepth:  a.cfg.MaxLineageDepth,
		MaxLineageEvents: a.cfg.MaxLineageEvents,
		Version:          a.version,
	})
}

func (a *api) openAPI(w http.ResponseWriter, _ *http.Request, _ query) error {
	writeBody(w, http.StatusOK, "application/json", openAPIDocument)
	return nil
}

// orEmpty makes a nil slice an empty one: the API answers [] rather than null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// uiURL is where the server listens, for the log line at start.
func uiURL(tls bool, endpoint string, addr net.Addr) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return scheme + "+" + addr.Network() + "://" + addr.String()
	}
	host, _, err := net.SplitHostPort(endpoint)
	if err != nil || host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified() {
		host = "localhost"
	}
	return fmt.Sprintf("%s://%s/", scheme, net.JoinHostPort(strings.Trim(host, "[]"), fmt.Sprint(tcp.Port)))
}
