package lineagequeryextension

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The document and the router describe the same API: the same routes, each with the same query
// parameters, GET only; the documented examples are accepted; every documented response
// references resolve. (Answers are validated against the documented schemas by every call of
// apiClient in the other tests.)
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc, err := loadOpenAPI()
	require.NoError(t, err)

	var patterns []string
	for _, rt := range routes {
		patterns = append(patterns, rt.pattern)
	}
	require.ElementsMatch(t, patterns, slices.Collect(maps.Keys(doc.Paths)), "routes served vs documented paths")

	c := newTestAPI(t, testConfig(), openFixtureStore(t))
	for _, rt := range routes {
		t.Run(rt.pattern, func(t *testing.T) {
			ops := doc.Paths[rt.pattern]
			require.Equal(t, []string{"get"}, slices.Collect(maps.Keys(ops)), "only GET is served")
			op := ops["get"]
			path := rt.pattern
			var documented []string
			examples := map[string]string{}
			for _, p := range op.Parameters {
				p = doc.param(p)
				require.NotEmpty(t, p.Name, "unresolvable parameter %+v", p)
				switch p.In {
				case "path":
					require.True(t, p.Required)
					require.Contains(t, path, "{"+p.Name+"}")
					path = strings.Replace(path, "{"+p.Name+"}", exampleText(t, p.Example), 1)
				case "query":
					documented = append(documented, p.Name)
					if p.Example != nil {
						examples[p.Name] = exampleText(t, p.Example)
					}
				default:
					t.Fatalf("parameter %s in %s", p.Name, p.In)
				}
			}
			require.NotContains(t, path, "{", "every path parameter is documented")
			assert.ElementsMatch(t, rt.params, documented, "accepted vs documented query parameters")

			for _, code := range slices.Sorted(maps.Keys(op.Responses)) {
				r := doc.response(op.Responses[code])
				require.NotEmpty(t, r.Content, "response %s", code)
				for mt, media := range r.Content {
					require.NoError(t, doc.resolvable(media.Schema, code+" "+mt))
				}
			}

			// The path examples name a stored event; each documented example is accepted.
			status, _, body := c.get(path)
			require.Equal(t, http.StatusOK, status, "%s: %s", path, body)
			for _, name := range documented {
				ex, ok := examples[name]
				if !ok {
					continue // page_token: only a previous answer has one
				}
				q := url.Values{name: {ex}}
				for _, dep := range prerequisites[name] {
					q.Set(dep, examples[dep])
				}
				status, _, body := c.get(path + "?" + q.Encode())
				assert.Equal(t, http.StatusOK, status, "%s?%s: %s", path, q.Encode(), body)
			}
		})
	}
}

// prerequisites are the parameters another needs (offset needs partition needs topic).
var prerequisites = map[string][]string{"partition": {"topic"}, "offset": {"topic", "partition"}}

func exampleText(t *testing.T, raw json.RawMessage) string {
	var v any
	require.NoError(t, json.Unmarshal(raw, &v), "example %s", raw)
	if s, ok := v.(string); ok {
		return s
	}
	return string(raw)
}

// The checker rejects what the document forbids (a checker that accepts everything would make
// the schema checks of the other tests meaningless).
func TestSchemaChecker(t *testing.T) {
	doc, err := loadOpenAPI()
	require.NoError(t, err)
	rec := `{"cluster":"c","topic":"t","partition":0,"offset":1}`
	event := doc.Components.Schemas["Event"]
	require.NoError(t, doc.validateBody(event, []byte(`{"record":`+rec+`,"produced_at":"2026-11-26T10:00:00Z","trace_id":"`+traceTx1+`"}`)))
	for body, msg := range map[string]string{
		`[]`:                           "want an object",
		`{}`:                           `required property "record" is missing`,
		`{"record":` + rec + `,"x":1}`: `undocumented property "x"`,
		`{"record":{"cluster":"c","topic":"t","partition":-1,"offset":1}}`:  "out of bounds",
		`{"record":{"cluster":"c","topic":"t","partition":0.5,"offset":1}}`: "not an integer",
		`{"record":` + rec + `,"produced_at":"yesterday"}`:                  "not a date-time",
		`{"record":` + rec + `,"trace_id":"ABC"}`:                           "does not match",
		`{"record":` + rec + `,"tombstone":"yes"}`:                          "want a boolean",
		`{"record":{"cluster":1,"topic":"t","partition":0,"offset":1}}`:     "want a string",
	} {
		assert.ErrorContains(t, doc.validateBody(event, []byte(body)), msg, body)
	}
	assert.ErrorContains(t, doc.validateBody(doc.Components.Schemas["Graph"],
		[]byte(`{"start":`+rec+`,"direction":"sideways","nodes":[],"edges":[],"truncated":false}`)), "is not one of")
	assert.ErrorContains(t, doc.validateBody(doc.Components.Schemas["EventPage"], []byte(`{"events":null}`)), "want an array")
}
