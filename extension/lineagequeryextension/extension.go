package lineagequeryextension // import "github.com/eventlineage/lineage/extension/lineagequeryextension"

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensioncapabilities"
	"go.uber.org/zap"

	"github.com/eventlineage/lineage/internal/lineagestore"
	"github.com/eventlineage/lineage/internal/webui"
)

// queryExtension serves the lineage query API (and the web UI) over HTTP.
type queryExtension struct {
	cfg    *Config
	set    extension.Settings
	server *http.Server
	// served is closed when the server's Serve returned.
	served chan struct{}
}

var _ extensioncapabilities.Dependent = (*queryExtension)(nil)

func newExtension(cfg *Config, set extension.Settings) *queryExtension {
	return &queryExtension{cfg: cfg, set: set}
}

// Dependencies makes the collector start the storage extension (and the authenticator) first.
func (e *queryExtension) Dependencies() []component.ID {
	deps := []component.ID{e.cfg.Storage}
	if auth := e.cfg.Auth.Get(); auth != nil {
		deps = append(deps, auth.Config.AuthenticatorID)
	}
	return deps
}

// Start finds the store, listens (failing at once when the port is taken) and serves.
func (e *queryExtension) Start(ctx context.Context, host component.Host) error {
	provider, err := lineagestore.FromHost(host, e.cfg.Storage)
	if err != nil {
		return fmt.Errorf("lineage_query: storage: %w", err)
	}
	a := &api{
		cfg:      e.cfg,
		provider: provider,
		logger:   e.set.Logger,
		version:  e.set.BuildInfo.Version,
		now:      time.Now,
	}
	if e.cfg.UI.Enabled {
		a.ui = webui.Handler()
	}
	if auth := e.cfg.Auth.Get(); auth != nil {
		a.ignoredParams = auth.RequestParameters
	}
	ln, err := e.cfg.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("lineage_query: cannot listen on %s (is another process using the port? set lineage_query::endpoint to a free address): %w",
			e.cfg.NetAddr.Endpoint, err)
	}
	e.server, err = e.newServer(ctx, host, a)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("lineage_query: %w", err)
	}
	e.set.Logger.Info("lineage UI and API at "+uiURL(e.cfg.TLS.HasValue(), e.cfg.NetAddr.Endpoint, ln.Addr()),
		zap.String("storage", e.cfg.Storage.String()), zap.Bool("ui", a.ui != nil))
	e.served = make(chan struct{})
	go func() {
		defer close(e.served)
		if err := e.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	}()
	return nil
}

// newServer wraps the API in the collector's HTTP server (auth, CORS, response headers,
// telemetry). With authentication and the UI, the UI's files are served through the same server
// without authentication: they hold no data, and the page must load before the user can give it
// a token (a browser does not send one when it navigates).
func (e *queryExtension) newServer(ctx context.Context, host component.Host, a *api) (*http.Server, error) {
	jsonErrors := confighttp.WithErrorHandler(func(w http.ResponseWriter, _ *http.Request, msg string, status int) {
		writeError(w, status, msg)
	})
	server, err := e.cfg.ToServer(ctx, host.GetExtensions(), e.set.TelemetrySettings, a.handler(), jsonErrors)
	if err != nil || a.ui == nil || !e.cfg.Auth.HasValue() {
		return server, err
	}
	public := e.cfg.ServerConfig
	public.Auth = configoptional.None[confighttp.AuthConfig]()
	ui, err := public.ToServer(ctx, host.GetExtensions(), e.set.TelemetrySettings, a.ui, jsonErrors)
	if err != nil {
		return nil, err
	}
	split := http.NewServeMux()
	split.Handle("/api/", server.Handler)
	split.Handle("/", ui.Handler)
	server.Handler = split
	return server, nil
}

// Shutdown lets running requests finish until ctx ends, then closes every connection.
func (e *queryExtension) Shutdown(ctx context.Context) error {
	if e.server == nil {
		return nil
	}
	err := e.server.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, e.server.Close())
	}
	<-e.served
	return err
}
