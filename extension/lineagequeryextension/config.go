package lineagequeryextension // import "github.com/eventlineage/lineage/extension/lineagequeryextension"

import (
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/confmap"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

// TraceIDPlaceholder is the part of Config.TraceURLTemplate replaced by a trace id.
const TraceIDPlaceholder = "{trace_id}"

// Config configures the lineage_query extension: an HTTP server answering lineage queries
// (JSON API under /api/v1) and, optionally, serving the web UI at /.
type Config struct {
	// ServerConfig is the collector's HTTP server configuration: endpoint, tls, auth (through an
	// authenticator extension such as bearertokenauth), cors, response_headers, timeouts.
	confighttp.ServerConfig `mapstructure:",squash"`

	// Storage names the lineage_storage extension whose store is queried. Required.
	Storage component.ID `mapstructure:"storage"`

	// TraceURLTemplate is a link to a trace in a tracing UI, with {trace_id} where the trace id
	// goes, e.g. http://localhost:16686/trace/{trace_id}. Empty: no trace links.
	TraceURLTemplate string `mapstructure:"trace_url_template"`

	// MaxLineageDepth is the default and largest depth (edges from the start event) of a lineage
	// or audit query (1..lineagestore.MaxLineageDepth).
	MaxLineageDepth int `mapstructure:"max_lineage_depth"`

	// MaxLineageEvents is the default and largest number of events of a lineage graph or audit
	// trail (1..lineagestore.MaxLineageEvents).
	MaxLineageEvents int `mapstructure:"max_lineage_events"`

	// UI configures the web UI served at /.
	UI UIConfig `mapstructure:"ui"`
}

// UIConfig configures the web UI.
type UIConfig struct {
	// Enabled serves the UI at / next to the API (default true).
	Enabled bool `mapstructure:"enabled"`
}

var _ confmap.Validator = (*Config)(nil)

// Validate checks the extension's own settings; confmap validates the embedded HTTP server
// settings itself.
func (c *Config) Validate() error {
	var errs []error
	if c.NetAddr.Endpoint == "" {
		errs = append(errs, errors.New("endpoint: required (e.g. \""+DefaultEndpoint+"\")"))
	}
	if c.Storage == (component.ID{}) {
		errs = append(errs, errors.New("storage: required: the id of a lineage_storage extension (e.g. lineage_storage)"))
	}
	if c.TraceURLTemplate != "" && !strings.Contains(c.TraceURLTemplate, TraceIDPlaceholder) {
		errs = append(errs, fmt.Errorf("trace_url_template: must contain %s (or be empty for no trace links), got %q", TraceIDPlaceholder, c.TraceURLTemplate))
	}
	if c.MaxLineageDepth < 1 || c.MaxLineageDepth > lineagestore.MaxLineageDepth {
		errs = append(errs, fmt.Errorf("max_lineage_depth: must be from 1 to %d, got %d", lineagestore.MaxLineageDepth, c.MaxLineageDepth))
	}
	if c.MaxLineageEvents < 1 || c.MaxLineageEvents > lineagestore.MaxLineageEvents {
		errs = append(errs, fmt.Errorf("max_lineage_events: must be from 1 to %d, got %d", lineagestore.MaxLineageEvents, c.MaxLineageEvents))
	}
	return errors.Join(errs...)
}
