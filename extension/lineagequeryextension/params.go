package lineagequeryextension // import "github.com/eventlineage/lineage/extension/lineagequeryextension"

import (
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

// Bounds of parameter values. Kafka limits topic names to 249 characters of [a-zA-Z0-9._-];
// cluster ids (22 characters) and names, and service names, are short; record keys are bounded
// so that one query string stays far below net/http's 1 MiB header limit.
const (
	maxTopicLen     = 249
	maxNameLen      = 255
	maxKeyLen       = 64 << 10
	maxKeyHashLen   = 128
	maxPageTokenLen = 1024
	// DefaultEventLimit and DefaultOutlierLimit are the default page sizes.
	DefaultEventLimit   = 50
	DefaultOutlierLimit = 100
	// DefaultOutlierFactor and DefaultOutlierMinMS are the defaults of the relative outlier test.
	DefaultOutlierFactor = 3
	DefaultOutlierMinMS  = 10
	// DefaultTimeRange is the range of a topology or outlier query without from.
	DefaultTimeRange = time.Hour
	// MaxTimeRange bounds a topology or outlier query: both aggregate every touchpoint of the range.
	MaxTimeRange = 31 * 24 * time.Hour
	// maxMS bounds millisecond parameters (about 11.6 days; no hop waits longer and is useful).
	maxMS = 1e9
	// maxFactor bounds the outlier factor.
	maxFactor = 1e6
)

// minTime and maxTime bound time parameters: every time in between has a 4-digit year, as
// RFC 3339 (and JSON encoding of the answer) requires.
var (
	minTime = time.Unix(0, 0).UTC()
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)
)

// paramError is an invalid parameter (query or path); it is answered with 400.
type paramError struct {
	param string
	msg   string
}

func (e *paramError) Error() string {
	if e.param == "" {
		return e.msg
	}
	return "parameter " + quoteValue(e.param) + ": " + e.msg
}

func badParam(param, format string, args ...any) error {
	return &paramError{param: param, msg: fmt.Sprintf(format, args...)}
}

// quoteValue shows a rejected value, shortened: the message must stay small for any input.
func quoteValue(v string) string {
	const show = 64
	if len(v) > show {
		cut := show
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		return strconv.Quote(v[:cut]) + "..."
	}
	return strconv.Quote(v)
}

// query is the query string of one request, checked against the parameters its route accepts.
// A parameter with an empty value counts as absent (forms send empty fields).
type query map[string]string

// parseQuery reads a raw query string. It rejects malformed encoding, parameters the route does
// not accept (ignore lists names consumed elsewhere, e.g. the authenticator's request_params)
// and repeated parameters.
func parseQuery(raw string, accepted, ignore []string) (query, error) {
	values, err := url.ParseQuery(raw)
	if err != nil {
		return nil, &paramError{msg: "malformed query string: " + err.Error()}
	}
	q := query{}
	for _, name := range slices.Sorted(maps.Keys(values)) {
		if slices.Contains(ignore, name) {
			continue
		}
		if !slices.Contains(accepted, name) {
			if len(accepted) == 0 {
				return nil, badParam(name, "unknown parameter: this route takes no query parameters")
			}
			return nil, badParam(name, "unknown parameter (accepted: %s)", strings.Join(accepted, ", "))
		}
		vs := values[name]
		if len(vs) > 1 {
			return nil, badParam(name, "given %d times, expected at most once", len(vs))
		}
		if vs[0] != "" {
			q[name] = vs[0]
		}
	}
	return q, nil
}

// name reads a cluster or service name: 1..maxNameLen characters of valid UTF-8 without
// control characters or '/'.
func (q query) name(param string) (string, error) {
	v, ok := q[param]
	if !ok {
		return "", nil
	}
	return v, checkName(param, v)
}

func checkName(param, v string) error {
	if v == "" || len(v) > maxNameLen || !utf8.ValidString(v) ||
		strings.ContainsFunc(v, func(r rune) bool { return r == '/' || unicode.IsControl(r) }) {
		return badParam(param, "expected 1 to %d bytes of UTF-8 without '/' or control characters, got %s", maxNameLen, quoteValue(v))
	}
	return nil
}

// checkTopic applies Kafka's rules for topic names.
func checkTopic(param, v string) error {
	ok := v != "" && len(v) <= maxTopicLen && v != "." && v != ".." &&
		!strings.ContainsFunc(v, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
		})
	if !ok {
		return badParam(param, "expected a Kafka topic name (1 to %d characters of a-z, A-Z, 0-9, '.', '_', '-'; not \".\" or \"..\"), got %s", maxTopicLen, quoteValue(v))
	}
	return nil
}

// parseDigits reads a non-negative decimal integer of ASCII digits only (no sign, no spaces)
// up to limit.
func parseDigits(param, v string, limit int64) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > limit || strings.TrimLeft(v, "0123456789") != "" {
		return 0, badParam(param, "expected an integer from 0 to %d, got %s", limit, quoteValue(v))
	}
	return n, nil
}

// intIn reads an integer from lo to hi, def when absent.
func (q query) intIn(param string, lo, hi, def int) (int, error) {
	v, ok := q[param]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi || strings.TrimLeft(v, "0123456789") != "" {
		return 0, badParam(param, "expected an integer from %d to %d, got %s", lo, hi, quoteValue(v))
	}
	return n, nil
}

// floatIn reads a decimal number from lo to hi, def when absent.
func (q query) floatIn(param string, lo, hi, def float64) (float64, error) {
	v, ok := q[param]
	if !ok {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= lo && f <= hi) || strings.ContainsAny(v, "xXpP_") {
		return 0, badParam(param, "expected a decimal number from %g to %g, got %s", lo, hi, quoteValue(v))
	}
	return f, nil
}

// hex reads n lowercase hex digits (n: 0 allows any even length from 2 to maxKeyHashLen).
func (q query) hex(param string, n int, what string) (string, error) {
	v, ok := q[param]
	if !ok {
		return "", nil
	}
	lenOK := len(v) == n || n == 0 && len(v) >= 2 && len(v) <= maxKeyHashLen && len(v)%2 == 0
	if !lenOK || strings.TrimLeft(v, "0123456789abcdef") != "" {
		return "", badParam(param, "expected %s, got %s", what, quoteValue(v))
	}
	return v, nil
}

// oneOf reads one of the allowed values, def when absent.
func (q query) oneOf(param, def string, allowed ...string) (string, error) {
	v, ok := q[param]
	if !ok {
		return def, nil
	}
	if !slices.Contains(allowed, v) {
		return "", badParam(param, "expected one of %s, got %s", strings.Join(allowed, ", "), quoteValue(v))
	}
	return v, nil
}

// time reads an RFC 3339 time or integer unix milliseconds (UTC); the zero time when absent.
func (q query) time(param string) (time.Time, error) {
	v, ok := q[param]
	if !ok {
		return time.Time{}, nil
	}
	var t time.Time
	if strings.TrimLeft(v, "0123456789") == "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms > maxTime.UnixMilli() {
			return time.Time{}, badTime(param, v)
		}
		t = time.UnixMilli(ms)
	} else {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return time.Time{}, badTime(param, v)
		}
	}
	t = t.UTC()
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, badTime(param, v)
	}
	return t, nil
}

func badTime(param, v string) error {
	return badParam(param, "expected an RFC 3339 time (e.g. 2026-11-26T10:00:00Z) or integer unix milliseconds, from %s to %s, got %s",
		minTime.Format(time.RFC3339), maxTime.Format(time.RFC3339), quoteValue(v))
}

// timeRange reads from and to (from inclusive, to exclusive). Either may be absent; when both
// are present, from must be before to.
func (q query) timeRange() (from, to time.Time, err error) {
	if from, err = q.time("from"); err != nil {
		return
	}
	if to, err = q.time("to"); err != nil {
		return
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		err = badParam("to", "must be after from (%s), got %s", from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
	}
	return
}

// boundedRange reads a range for the aggregating queries: to defaults to now, from to
// DefaultTimeRange before to, and the range is at most MaxTimeRange.
func (q query) boundedRange(now time.Time) (from, to time.Time, err error) {
	if from, to, err = q.timeRange(); err != nil {
		return
	}
	if to.IsZero() {
		to = now.UTC()
		if !from.IsZero() && !from.Before(to) {
			return from, to, badParam("from", "must be before to (default now, %s), got %s", to.Format(time.RFC3339Nano), from.Format(time.RFC3339Nano))
		}
	}
	if from.IsZero() {
		from = to.Add(-DefaultTimeRange)
	}
	if to.Sub(from) > MaxTimeRange {
		return from, to, badParam("from", "the range from %s to %s is longer than the maximum of %s",
			from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano), MaxTimeRange)
	}
	return
}

// eventQueryParams are the parameters of GET /api/v1/events.
var eventQueryParams = []string{"cluster", "topic", "partition", "offset", "key", "key_hash", "trace_id", "service", "from", "to", "limit", "page_token"}

// parseEventQuery turns the parameters of GET /api/v1/events into a store query; a raw key is
// hashed with h.
func parseEventQuery(q query, h lineagestore.KeyHasher) (lineagestore.EventQuery, error) {
	var eq lineagestore.EventQuery
	var err error
	if eq.Cluster, err = q.name("cluster"); err != nil {
		return eq, err
	}
	if topic, ok := q["topic"]; ok {
		if err := checkTopic("topic", topic); err != nil {
			return eq, err
		}
		eq.Topic = topic
	}
	if v, ok := q["partition"]; ok {
		if eq.Topic == "" {
			return eq, badParam("partition", "requires topic")
		}
		p, err := parseDigits("partition", v, math.MaxInt32)
		if err != nil {
			return eq, err
		}
		p32 := int32(p)
		eq.Partition = &p32
	}
	if v, ok := q["offset"]; ok {
		if eq.Partition == nil {
			return eq, badParam("offset", "requires partition")
		}
		o, err := parseDigits("offset", v, math.MaxInt64)
		if err != nil {
			return eq, err
		}
		eq.Offset = &o
	}
	if eq.KeyHash, err = q.hex("key_hash", 0, fmt.Sprintf("an even number (2 to %d) of lowercase hex digits", maxKeyHashLen)); err != nil {
		return eq, err
	}
	if key, ok := q["key"]; ok {
		switch {
		case eq.KeyHash != "":
			return eq, badParam("key", "give key or key_hash, not both")
		case len(key) > maxKeyLen:
			return eq, badParam("key", "expected at most %d bytes, got %d", maxKeyLen, len(key))
		}
		eq.KeyHash = h.HashKey([]byte(key))
	}
	if eq.TraceID, err = q.hex("trace_id", 32, "a trace id of 32 lowercase hex digits"); err != nil {
		return eq, err
	}
	if eq.TraceID != "" && strings.Trim(eq.TraceID, "0") == "" {
		return eq, badParam("trace_id", "the all-zero trace id is invalid")
	}
	if eq.Service, err = q.name("service"); err != nil {
		return eq, err
	}
	if eq.From, eq.To, err = q.timeRange(); err != nil {
		return eq, err
	}
	if eq.Limit, err = q.intIn("limit", 1, lineagestore.MaxPageSize, DefaultEventLimit); err != nil {
		return eq, err
	}
	if token, ok := q["page_token"]; ok {
		if len(token) > maxPageTokenLen || strings.ContainsFunc(token, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
			return eq, badParam("page_token", "expected the next_page_token of a previous answer, got %s", quoteValue(token))
		}
		eq.PageToken = token
	}
	return eq, nil
}

// parseRecordID reads the record path parameters {cluster}/{topic}/{partition}/{offset}.
func parseRecordID(cluster, topic, partition, offset string) (lineagestore.RecordID, error) {
	var id lineagestore.RecordID
	if err := checkName("cluster", cluster); err != nil {
		return id, err
	}
	if err := checkTopic("topic", topic); err != nil {
		return id, err
	}
	p, err := parseDigits("partition", partition, math.MaxInt32)
	if err != nil {
		return id, err
	}
	o, err := parseDigits("offset", offset, math.MaxInt64)
	if err != nil {
		return id, err
	}
	return lineagestore.RecordID{Cluster: cluster, Topic: topic, Partition: int32(p), Offset: o}, nil
}

// lineageParams are the parameters of the lineage route; the audit route adds format.
var lineageParams = []string{"direction", "depth", "max_events"}

// parseLineageQuery reads direction, depth and max_events, bounded by the configured maxima.
func parseLineageQuery(q query, start lineagestore.RecordID, maxDepth, maxEvents int) (lineagestore.LineageQuery, error) {
	lq := lineagestore.LineageQuery{Start: start}
	dir, err := q.oneOf("direction", string(lineagestore.Both),
		string(lineagestore.Upstream), string(lineagestore.Downstream), string(lineagestore.Both))
	if err != nil {
		return lq, err
	}
	lq.Direction = lineagestore.Direction(dir)
	if lq.MaxDepth, err = q.intIn("depth", 1, maxDepth, maxDepth); err != nil {
		return lq, err
	}
	if lq.MaxEvents, err = q.intIn("max_events", 1, maxEvents, maxEvents); err != nil {
		return lq, err
	}
	return lq, nil
}

// outlierParams are the parameters of GET /api/v1/outliers.
var outlierParams = []string{"from", "to", "threshold_ms", "factor", "min_ms", "limit"}

// parseOutlierQuery reads an outlier query; at least one of the two tests must be on.
func parseOutlierQuery(q query, now time.Time) (lineagestore.OutlierQuery, error) {
	var oq lineagestore.OutlierQuery
	var err error
	if oq.From, oq.To, err = q.boundedRange(now); err != nil {
		return oq, err
	}
	if oq.ThresholdMS, err = q.floatIn("threshold_ms", 0, maxMS, 0); err != nil {
		return oq, err
	}
	if oq.Factor, err = q.floatIn("factor", 0, maxFactor, DefaultOutlierFactor); err != nil {
		return oq, err
	}
	if oq.Factor > 0 && oq.Factor < 1 {
		return oq, badParam("factor", "expected 0 (no relative test) or at least 1, got %g", oq.Factor)
	}
	if oq.ThresholdMS == 0 && oq.Factor == 0 {
		return oq, badParam("factor", "with threshold_ms 0 (none) factor must be at least 1: no test would be left")
	}
	if oq.MinMS, err = q.floatIn("min_ms", 0, maxMS, DefaultOutlierMinMS); err != nil {
		return oq, err
	}
	if oq.Limit, err = q.intIn("limit", 1, lineagestore.MaxPageSize, DefaultOutlierLimit); err != nil {
		return oq, err
	}
	return oq, nil
}
