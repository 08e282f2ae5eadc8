package lineageexporter

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/eventlineage/lineage/extension/lineagestorageextension"
	"github.com/eventlineage/lineage/internal/lineagestore"
)

var storageID = component.MustNewID("lineage_storage")

// startStorage starts a real lineage_storage extension (its store opened) with the sha256 key hash.
func startStorage(t testing.TB, mutate func(*lineagestorageextension.Config)) component.Component {
	f := lineagestorageextension.NewFactory()
	cfg := f.CreateDefaultConfig().(*lineagestorageextension.Config)
	cfg.KeyHash.Algorithm = "sha256"
	mutate(cfg)
	require.NoError(t, cfg.Validate())
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	return ext
}

// host offers extensions to the components started with it, as the collector's service does.
type host struct {
	component.Host
	exts map[component.ID]component.Component
}

func newHost(exts map[component.ID]component.Component) component.Host {
	return host{Host: componenttest.NewNopHost(), exts: exts}
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.exts }

func storeOf(t testing.TB, ext component.Component) lineagestore.Store {
	p, ok := ext.(lineagestore.Provider)
	require.True(t, ok)
	return p.LineageStore()
}

// startExporters creates and starts the traces and logs exporters of cfg through the factory.
func startExporters(t testing.TB, cfg *Config, h component.Host, set exporter.Settings) (exporter.Traces, exporter.Logs) {
	f := NewFactory()
	require.NoError(t, cfg.Validate())
	te, err := f.CreateTraces(context.Background(), set, cfg)
	require.NoError(t, err)
	le, err := f.CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, te.Start(context.Background(), h))
	require.NoError(t, le.Start(context.Background(), h))
	return te, le
}

// nopSettings are the exporter's settings with the id "lineage" (the nop settings' own id has a
// random name: a persistent queue, stored under the exporter's id, would not survive a restart).
func nopSettings() exporter.Settings {
	set := exportertest.NewNopSettings(componentType)
	set.ID = component.NewID(componentType)
	return set
}

// snapshot reads what a store holds about each record: the event, its touchpoints and its input
// edges, as comparable strings (times in UTC: backends return them in different locations).
func snapshot(t testing.TB, s lineagestore.Store, records []lineagestore.RecordID) map[string][]string {
	out, err := readSnapshot(s, records)
	require.NoError(t, err)
	return out
}

func readSnapshot(s lineagestore.Store, records []lineagestore.RecordID) (map[string][]string, error) {
	ctx := context.Background()
	out := make(map[string][]string, len(records))
	for _, r := range records {
		d, err := s.Event(ctx, r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r, err)
		}
		e := d.Event
		lines := []string{fmt.Sprintf("event name=%s key=%s ts=%s produced=%s trace=%s producer=%s tomb=%t",
			e.ClusterName, e.KeyHash, e.Timestamp.UTC(), e.ProducedAt.UTC(), e.TraceID, e.Producer, e.Tombstone)}
		for _, tp := range d.Touchpoints {
			lines = append(lines, fmt.Sprintf("tp %s/%s parent=%s %s %q %s %s-%s cluster=%s connector=%s store=%s/%s rule=%s",
				tp.TraceID, tp.SpanID, tp.ParentSpanID, tp.Service, tp.Operation, tp.Kind, tp.Start.UTC(), tp.End.UTC(),
				tp.ClusterName, tp.Connector, tp.StateStore, tp.StoreOperation, tp.Rule))
		}
		for _, in := range d.Inputs {
			lines = append(lines, fmt.Sprintf("in %s rule=%s %s link=%t", in.From, in.Rule, in.Derivation, in.Link))
		}
		slices.Sort(lines[1:])
		out[r.String()] = lines
	}
	return out, nil
}
