package lineagestore // import "github.com/eventlineage/lineage/internal/lineagestore"

import (
	"fmt"

	"go.opentelemetry.io/collector/component"
)

// KeyHasher hashes record keys the way the kafka_records receiver does, so that a key typed into
// the query API or read from a span finds the events whose record facts carry its hash.
type KeyHasher interface {
	// HashKey returns the lowercase hex hash of key.
	HashKey(key []byte) string
}

// Provider is what the lineage_storage extension offers the components that name it: the store
// and the key hasher configured next to it.
type Provider interface {
	LineageStore() Store
	KeyHasher() KeyHasher
}

// FromHost finds the Provider extension id among the host's extensions. Components call it in
// Start: extensions start before pipelines.
func FromHost(host component.Host, id component.ID) (Provider, error) {
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("lineage storage extension %q is not configured (add it under extensions: and service::extensions)", id)
	}
	p, ok := ext.(Provider)
	if !ok {
		return nil, fmt.Errorf("extension %q is not a lineage storage extension (%T)", id, ext)
	}
	return p, nil
}
