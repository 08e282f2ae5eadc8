package lineageprocessor // import "github.com/eventlineage/lineage/processor/lineageprocessor"

import (
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/eventlineage/lineage/internal/connectconfig"
)

// Attributes written on the spans of a Kafka Connect task thread whose connector is known from
// the Connect REST API (Config.Connect).
const (
	attrConnector      = "kafka.connect.connector"
	attrConnectorClass = "kafka.connect.connector.class"
	// attrTransforms lists the connector's single message transforms, "alias=class", in order:
	// what the configuration says every record went through — the agent sees none of it.
	attrTransforms = "kafka.connect.transforms"
	// attrTransformsFrom marks attrTransforms as read from the configuration, not measured.
	attrTransformsFrom = "kafka.connect.transforms.derived_from"
)

// newConnectPoller returns the poller of cfg's Connect endpoints, or nil without endpoints.
func newConnectPoller(cfg *Config, p *lineageProcessor) *connectconfig.Poller {
	if len(cfg.Connect.URLs) == 0 {
		return nil
	}
	return connectconfig.NewPoller(cfg.Connect.URLs, cfg.Connect.RefreshInterval, cfg.Connect.Timeout, p.logger)
}

// describeConnector writes what the configuration says about the connector of a span on a
// Connect task thread.
func (p *lineageProcessor) describeConnector(span ptrace.Span, info *spanInfo) {
	if p.connect == nil || !isTaskThread(info.thread) {
		return
	}
	c, ok := p.connect.Lookup(info.thread)
	if !ok {
		return
	}
	a := span.Attributes()
	a.PutStr(attrConnector, c.Name)
	if c.Class != "" {
		a.PutStr(attrConnectorClass, c.Class)
	}
	if len(c.Transforms) == 0 {
		return
	}
	ts := a.PutEmptySlice(attrTransforms)
	ts.EnsureCapacity(len(c.Transforms))
	for _, t := range c.Transforms {
		ts.AppendEmpty().SetStr(t.String())
	}
	a.PutStr(attrTransformsFrom, derivedFromConfig)
}
