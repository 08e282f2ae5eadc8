package sqlstore

import (
	"errors"
	"fmt"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

// ErrConnect is wrapped by OpenPostgres' error when the server did not accept a connection
// (unreachable, refused, authentication): unlike a malformed DSN or a newer schema, it may pass.
var ErrConnect = errors.New("cannot connect")

type invalidError struct{ error }

func (e invalidError) Is(target error) bool { return target == lineagestore.ErrInvalid }
func (e invalidError) Unwrap() error        { return e.error }

func invalid(err error) error { return invalidError{err} }

// maxNameBytes bounds the indexed text of an event, a touchpoint or a cluster (ids, topic,
// service, key hash): a PostgreSQL b-tree entry holds at most ~2.7 kB, and no real name comes
// near (Kafka topics: 249 characters). Unindexed text (operation, rule, ...) is not bounded.
const maxNameBytes = 1024

// checkNames reports the first of the name/value pairs longer than maxNameBytes.
func checkNames(kv ...string) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if len(kv[i+1]) > maxNameBytes {
			return fmt.Errorf("%s is %d bytes long, longer than %d", kv[i], len(kv[i+1]), maxNameBytes)
		}
	}
	return nil
}

func checkRecord(r lineagestore.RecordID) error {
	if err := r.Validate(); err != nil {
		return err
	}
	return checkNames("cluster", r.Cluster, "topic", r.Topic)
}
