package connectconfig

import (
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testdata/connect-dc1.json is GET /connectors?expand=info of the harness' dc1 Connect worker
// during a multicluster run (e2e/config/connectors).
func TestParseRealResponse(t *testing.T) {
	body, err := os.ReadFile("testdata/connect-dc1.json")
	require.NoError(t, err)
	cs, err := Parse(body)
	require.NoError(t, err)
	crm, ok := cs["crm-accounts-source"]
	require.True(t, ok, "connectors: %v", cs)
	assert.Equal(t, "source", crm.Type)
	require.Len(t, crm.Transforms, 5)
	assert.Equal(t, "org.apache.kafka.connect.transforms.ValueToKey", crm.Transforms[0].Type)
	for _, tr := range crm.Transforms {
		assert.NotEmpty(t, tr.Alias)
	}
}

func TestParseErrors(t *testing.T) {
	_, err := Parse([]byte(`[1,2]`))
	assert.ErrorContains(t, err, "connectors response")
	cs, err := Parse([]byte(`{"a":{"info":{"name":"a","type":"sink","config":{"transforms":"x, y","transforms.x.type":"X"}}},"b":{"status":{}}}`))
	assert.ErrorContains(t, err, `connector "a": transform "y" has no type`)
	assert.Equal(t, []Transform{{"x", "X"}}, cs["a"].Transforms, "the rest of the chain is kept")
	assert.NotContains(t, cs, "b", "no info: skipped")
}

func TestConnectorOfThread(t *testing.T) {
	for thread, want := range map[string]string{
		"task-thread-crm-accounts-source-0": "crm-accounts-source",
		"task-thread-mm2-dc1-to-dc2-12":     "mm2-dc1-to-dc2",
		"task-thread-x-y":                   "",
		"task-thread--0":                    "",
		"main":                              "",
	} {
		got, ok := ConnectorOfThread(thread)
		assert.Equal(t, want != "", ok, thread)
		assert.Equal(t, want, got, thread)
	}
}

// A failing endpoint keeps what was read before; the next good read replaces it.
func TestPollerKeepsConnectorsAcrossFailures(t *testing.T) {
	var fail atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		assert.Equal(t, "/connectors", r.URL.Path)
		assert.Equal(t, "info", r.URL.Query().Get("expand"))
		_, _ = w.Write([]byte(`{"sink":{"info":{"name":"sink","type":"sink","config":{"connector.class":"FileStreamSink","transforms":"m","transforms.m.type":"Mask"}}}}`))
	}))
	defer srv.Close()
	p := NewPoller([]string{srv.URL + "/"}, time.Hour, 5*time.Second, zap.NewNop())
	p.Start()
	defer p.Shutdown()
	require.Eventually(t, func() bool { _, ok := p.Lookup("task-thread-sink-0"); return ok }, 5*time.Second, 10*time.Millisecond)
	fail.Store(true)
	p.Refresh(t.Context())
	c, ok := p.Lookup("task-thread-sink-3")
	require.True(t, ok)
	assert.Equal(t, Connector{Name: "sink", Type: "sink", Class: "FileStreamSink", Transforms: []Transform{{"m", "Mask"}}}, c)
	assert.Equal(t, int64(1), p.Failures())
	_, ok = p.Lookup("task-thread-other-0")
	assert.False(t, ok)
}

// FuzzParse: arbitrary bodies never panic; every transform parsed has an alias and a type.
func FuzzParse(f *testing.F) {
	if body, err := os.ReadFile("testdata/connect-dc1.json"); err == nil {
		f.Add(body)
	}
	f.Add([]byte(`{"a":{"info":{"config":{"transforms":"x","transforms.x.type":"X"}}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		cs, _ := Parse(body)
		for _, c := range cs {
			for _, tr := range c.Transforms {
				if tr.Alias == "" || tr.Type == "" {
					t.Fatalf("incomplete transform %+v", tr)
				}
			}
		}
	})
}
