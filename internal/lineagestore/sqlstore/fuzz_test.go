package sqlstore

import (
	"errors"
	"testing"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

// FuzzPageToken: every string a client sends as page token either decodes to a token this store
// issues (and encodes back to the same string) or fails with lineagestore.ErrBadPageToken.
func FuzzPageToken(f *testing.F) {
	f.Add(encodePageToken(1764151200000000000, 42))
	f.Add(encodePageToken(0, 0))
	f.Add("")
	f.Add("AQ")
	f.Add("!!!!")
	f.Fuzz(func(t *testing.T, tok string) {
		sortAt, id, err := decodePageToken(tok)
		if err != nil {
			if !errors.Is(err, lineagestore.ErrBadPageToken) {
				t.Fatalf("%q: %v does not wrap lineagestore.ErrBadPageToken", tok, err)
			}
			return
		}
		if id < 0 {
			t.Fatalf("%q: negative key %d", tok, id)
		}
		if got := encodePageToken(sortAt, id); got != tok {
			t.Fatalf("%q decodes to (%d, %d) which encodes to %q", tok, sortAt, id, got)
		}
	})
}
