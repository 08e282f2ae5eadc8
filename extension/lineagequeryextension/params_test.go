package lineagequeryextension

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

// parsed is what every parser of a route makes of one query string (and record path).
type parsed struct {
	events   lineagestore.EventQuery
	eventErr error
	record   lineagestore.RecordID
	recErr   error
	lineage  lineagestore.LineageQuery
	linErr   error
	outliers lineagestore.OutlierQuery
	outErr   error
	from, to time.Time
	rangeErr error
}

var fuzzNow = time.Date(2026, 11, 26, 11, 0, 0, 0, time.UTC)

func parseAll(t *testing.T, raw, cluster, topic, partition, offset string) parsed {
	h := fixtureHasher(t)
	var p parsed
	parse := func(params []string, fn func(q query) error) error {
		q, err := parseQuery(raw, params, nil)
		if err != nil {
			return err
		}
		return fn(q)
	}
	p.eventErr = parse(eventQueryParams, func(q query) (err error) { p.events, err = parseEventQuery(q, h); return })
	p.record, p.recErr = parseRecordID(cluster, topic, partition, offset)
	p.linErr = parse(lineageParams, func(q query) (err error) { p.lineage, err = parseLineageQuery(q, p.record, 20, 2000); return })
	p.outErr = parse(outlierParams, func(q query) (err error) { p.outliers, err = parseOutlierQuery(q, fuzzNow); return })
	p.rangeErr = parse([]string{"from", "to"}, func(q query) (err error) { p.from, p.to, err = q.boundedRange(fuzzNow); return })
	return p
}

// checkParsed asserts what an accepted query guarantees the store, and that every rejection is a
// parameter error (a 400, never a 500).
func checkParsed(t *testing.T, p parsed) {
	for _, err := range []error{p.eventErr, p.recErr, p.linErr, p.outErr, p.rangeErr} {
		var pe *paramError
		if err != nil && !errors.As(err, &pe) {
			t.Fatalf("rejection is not a parameter error: %v", err)
		}
		if err != nil && len(err.Error()) > 600 {
			t.Fatalf("error message of %d bytes: %.100s", len(err.Error()), err)
		}
	}
	if p.eventErr == nil {
		e := p.events
		require.True(t, e.Limit >= 1 && e.Limit <= lineagestore.MaxPageSize, "limit %d", e.Limit)
		require.False(t, e.Partition != nil && e.Topic == "", "partition without topic")
		require.False(t, e.Offset != nil && e.Partition == nil, "offset without partition")
		require.True(t, e.Partition == nil || *e.Partition >= 0)
		require.True(t, e.Offset == nil || *e.Offset >= 0)
		require.True(t, e.From.IsZero() || e.To.IsZero() || e.From.Before(e.To))
		require.LessOrEqual(t, len(e.Topic), maxTopicLen)
		require.LessOrEqual(t, len(e.Cluster), maxNameLen)
		require.LessOrEqual(t, len(e.PageToken), maxPageTokenLen)
	}
	if p.recErr == nil {
		require.NoError(t, p.record.Validate())
		again, err := lineagestore.ParseRecordID(p.record.String())
		require.NoError(t, err, "an accepted record id is a valid record id")
		require.Equal(t, p.record, again)
	}
	if p.linErr == nil {
		l := p.lineage
		require.Contains(t, []lineagestore.Direction{lineagestore.Upstream, lineagestore.Downstream, lineagestore.Both}, l.Direction)
		require.True(t, l.MaxDepth >= 1 && l.MaxDepth <= 20 && l.MaxEvents >= 1 && l.MaxEvents <= 2000)
	}
	if p.outErr == nil {
		o := p.outliers
		require.True(t, o.ThresholdMS > 0 || o.Factor >= 1, "no test left: %+v", o)
		require.True(t, o.Limit >= 1 && o.Limit <= lineagestore.MaxPageSize)
		require.True(t, o.From.Before(o.To) && o.To.Sub(o.From) <= MaxTimeRange)
	}
	if p.rangeErr == nil {
		require.True(t, p.from.Before(p.to) && p.to.Sub(p.from) <= MaxTimeRange)
		require.Equal(t, 4, len(strconv.Itoa(p.to.Year())), "JSON-encodable times")
	}
}

// The parameter parsers never panic, reject with a parameter error, and accept consistently: the
// same input gives the same result, and an accepted event query written back as parameters parses
// to itself.
func FuzzParams(f *testing.F) {
	for _, s := range []string{
		"", "topic=transactions&partition=0&offset=5", "cluster=dc1&key=acct-1&limit=10",
		"key_hash=ab&trace_id=" + traceTx1, "from=2026-11-26T10:00:00Z&to=1795690800000",
		"direction=upstream&depth=3&max_events=100", "threshold_ms=500&factor=0&min_ms=1",
		"page_token=abc&service=withdrawal-processor", "topic=a&topic=b", "limit=%zz", "from=9999-12-31T23:59:59.999Z",
		"factor=1e308", "partition=007", "to=-1",
	} {
		f.Add(s, "dc1", "transactions", "0", "5")
	}
	f.Fuzz(func(t *testing.T, raw, cluster, topic, partition, offset string) {
		p := parseAll(t, raw, cluster, topic, partition, offset)
		checkParsed(t, p)
		assert.Equal(t, p, parseAll(t, raw, cluster, topic, partition, offset))
		if p.eventErr != nil {
			return
		}
		// Written back (with the key as its hash), the query parses to itself.
		e := p.events
		v := url.Values{}
		set := func(k, s string) {
			if s != "" {
				v.Set(k, s)
			}
		}
		set("cluster", e.Cluster)
		set("topic", e.Topic)
		if e.Partition != nil {
			set("partition", strconv.Itoa(int(*e.Partition)))
		}
		if e.Offset != nil {
			set("offset", strconv.FormatInt(*e.Offset, 10))
		}
		set("key_hash", e.KeyHash)
		set("trace_id", e.TraceID)
		set("service", e.Service)
		if !e.From.IsZero() {
			set("from", e.From.Format(time.RFC3339Nano))
		}
		if !e.To.IsZero() {
			set("to", e.To.Format(time.RFC3339Nano))
		}
		set("limit", strconv.Itoa(e.Limit))
		set("page_token", e.PageToken)
		q, err := parseQuery(v.Encode(), eventQueryParams, nil)
		require.NoError(t, err)
		again, err := parseEventQuery(q, fixtureHasher(t))
		require.NoError(t, err, "written back: %s", v.Encode())
		require.Equal(t, e, again)
	})
}

func TestTimeParameters(t *testing.T) {
	for v, want := range map[string]time.Time{
		"0":                         time.Unix(0, 0).UTC(),
		"1795000000123":             time.UnixMilli(1795000000123).UTC(),
		"2026-11-26T10:00:00Z":      fixtureT0,
		"2026-11-26T11:00:00+01:00": fixtureT0,
		"2026-11-26T10:00:00.5Z":    fixtureT0.Add(500 * time.Millisecond),
		"253402300799999":           maxTime,
	} {
		got, err := query{"from": v}.time("from")
		require.NoError(t, err, v)
		assert.True(t, want.Equal(got), "%s: %s", v, got)
		assert.Equal(t, time.UTC, got.Location())
	}
	for _, v := range []string{"253402300800000", "1969-12-31T23:59:59Z", "2026-11-26 10:00:00", "10:00", "-5", "1e12", "2026-13-01T00:00:00Z"} {
		_, err := query{"from": v}.time("from")
		assert.ErrorContains(t, err, `parameter "from": expected an RFC 3339 time`, v)
	}
}

func TestLongValuesAreShortenedInMessages(t *testing.T) {
	_, err := parseRecordID("dc1", strings.Repeat("t", 10_000), "0", "0")
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 400)
	assert.Contains(t, err.Error(), `, got "`+strings.Repeat("t", 64)+`"...`)
}
