package sqlstore

import (
	"errors"
	"testing"
)

// FuzzPageToken: every string a client sends as page token either decodes to a token this store
// issues (and encodes back to the same string) or fails with ErrBadPageToken.
func FuzzPageToken(f *testing.F) {
	f.Add(encodePageToken(1764151200000000000, 42))
	f.Add(encodePageToken(0, 0))
	f.Add("")
	f.Add("AQ")
	f.Add("!!!!")
	f.Fuzz(func(t *testing.T, tok string) {
		sortAt, id, err := decodePageToken(tok)
		if err != nil {
			if !errors.Is(err, ErrBadPageToken) {
				t.Fatalf("%q: %v does not wrap ErrBadPageToken", tok, err)
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
