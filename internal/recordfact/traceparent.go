package recordfact // import "github.com/eventlineage/lineage/internal/recordfact"

import (
	"encoding/hex"
	"errors"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// ErrMalformedTraceparent is returned by ParseTraceparent for a value that is not a W3C
// traceparent.
var ErrMalformedTraceparent = errors.New("malformed traceparent")

// ParseTraceparent validates a W3C Trace Context traceparent header value
// ("00-<32 hex trace id>-<16 hex span id>-<2 hex flags>") and returns its ids and sampled flag.
// As the specification asks, version ff and all-zero ids are invalid, hex must be lowercase,
// version 00 must be exactly 55 characters, and a higher version may carry more fields after a
// dash, which are ignored.
func ParseTraceparent(v string) (pcommon.TraceID, pcommon.SpanID, bool, error) {
	var tid pcommon.TraceID
	var sid pcommon.SpanID
	const size = 55
	if len(v) < size || v[2] != '-' || v[35] != '-' || v[52] != '-' {
		return tid, sid, false, ErrMalformedTraceparent
	}
	var version, flags [1]byte
	if !lowerHex(v[0:2]) || !lowerHex(v[3:35]) || !lowerHex(v[36:52]) || !lowerHex(v[53:55]) {
		return tid, sid, false, ErrMalformedTraceparent
	}
	// The slices were checked to be even-length lowercase hex, so decoding cannot fail.
	_, _ = hex.Decode(version[:], []byte(v[0:2]))
	_, _ = hex.Decode(tid[:], []byte(v[3:35]))
	_, _ = hex.Decode(sid[:], []byte(v[36:52]))
	_, _ = hex.Decode(flags[:], []byte(v[53:55]))
	switch {
	case version[0] == 0xff:
		return pcommon.TraceID{}, pcommon.SpanID{}, false, ErrMalformedTraceparent
	case version[0] == 0 && len(v) != size:
		return pcommon.TraceID{}, pcommon.SpanID{}, false, ErrMalformedTraceparent
	case len(v) > size && v[size] != '-':
		return pcommon.TraceID{}, pcommon.SpanID{}, false, ErrMalformedTraceparent
	case tid.IsEmpty() || sid.IsEmpty():
		return pcommon.TraceID{}, pcommon.SpanID{}, false, ErrMalformedTraceparent
	}
	return tid, sid, flags[0]&1 == 1, nil
}

func lowerHex(s string) bool {
	for i := range len(s) {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
