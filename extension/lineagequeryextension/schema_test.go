package lineagequeryextension

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// openAPI is the part of an OpenAPI 3.0 document the tests read.
type openAPI struct {
	Paths      map[string]map[string]operation `json:"paths"`
	Components struct {
		Schemas    map[string]schema    `json:"schemas"`
		Parameters map[string]parameter `json:"parameters"`
		Responses  map[string]response  `json:"responses"`
	} `json:"components"`
}

type operation struct {
	OperationID string              `json:"operationId"`
	Summary     string              `json:"summary"`
	Description string              `json:"description"`
	Parameters  []parameter         `json:"parameters"`
	Responses   map[string]response `json:"responses"`
}

type parameter struct {
	Ref         string          `json:"$ref"`
	Name        string          `json:"name"`
	In          string          `json:"in"`
	Required    bool            `json:"required"`
	Description string          `json:"description"`
	Schema      schema          `json:"schema"`
	Example     json.RawMessage `json:"example"`
}

type response struct {
	Ref         string `json:"$ref"`
	Description string `json:"description"`
	Content     map[string]struct {
		Schema schema `json:"schema"`
	} `json:"content"`
}

// schema is the subset of OpenAPI 3.0 schema objects the document uses. Unknown keywords make
// parsing fail (DisallowUnknownFields), so the checker cannot silently ignore a constraint.
type schema struct {
	Ref                  string            `json:"$ref"`
	Type                 string            `json:"type"`
	Format               string            `json:"format"`
	Properties           map[string]schema `json:"properties"`
	Required             []string          `json:"required"`
	AdditionalProperties *bool             `json:"additionalProperties"`
	Items                *schema           `json:"items"`
	Enum                 []any             `json:"enum"`
	Pattern              string            `json:"pattern"`
	MinLength            *int              `json:"minLength"`
	MaxLength            *int              `json:"maxLength"`
	Minimum              *float64          `json:"minimum"`
	Maximum              *float64          `json:"maximum"`
	Default              any               `json:"default"`
	Description          string            `json:"description"`
}

func loadOpenAPI() (*openAPI, error) {
	var doc struct {
		OpenAPI string          `json:"openapi"`
		Info    json.RawMessage `json:"info"`
		openAPI
	}
	dec := json.NewDecoder(bytes.NewReader(openAPIDocument))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	return &doc.openAPI, nil
}

func (d *openAPI) param(p parameter) parameter {
	if name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/"); ok {
		return d.Components.Parameters[name]
	}
	return p
}

func (d *openAPI) response(r response) response {
	if name, ok := strings.CutPrefix(r.Ref, "#/components/responses/"); ok {
		return d.Components.Responses[name]
	}
	return r
}

// validate checks a JSON value (decoded with UseNumber) against s.
func (d *openAPI) validate(s schema, v any, at string) error {
	if s.Ref != "" {
		name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/")
		ref, found := d.Components.Schemas[name]
		if !ok || !found {
			return fmt.Errorf("%s: unresolvable $ref %q", at, s.Ref)
		}
		return d.validate(ref, v, at)
	}
	if len(s.Enum) > 0 && !slices.Contains(s.Enum, any(fmt.Sprint(v))) {
		return fmt.Errorf("%s: %v is not one of %v", at, v, s.Enum)
	}
	switch s.Type {
	case "object":
		o, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %T", at, v)
		}
		for _, r := range s.Required {
			if _, ok := o[r]; !ok {
				return fmt.Errorf("%s: required property %q is missing", at, r)
			}
		}
		for k, pv := range o {
			ps, ok := s.Properties[k]
			if !ok {
				if s.AdditionalProperties != nil && !*s.AdditionalProperties {
					return fmt.Errorf("%s: undocumented property %q", at, k)
				}
				continue
			}
			if err := d.validate(ps, pv, at+"."+k); err != nil {
				return err
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: want an array, got %T", at, v)
		}
		for i, e := range a {
			if err := d.validate(*s.Items, e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want a string, got %T", at, v)
		}
		if s.Format == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				return fmt.Errorf("%s: %q is not a date-time", at, str)
			}
		}
		if s.Pattern != "" && !regexp.MustCompile(s.Pattern).MatchString(str) {
			return fmt.Errorf("%s: %q does not match %s", at, str, s.Pattern)
		}
		n := utf8.RuneCountInString(str)
		if s.MinLength != nil && n < *s.MinLength || s.MaxLength != nil && n > *s.MaxLength {
			return fmt.Errorf("%s: %q has a length out of bounds", at, str)
		}
	case "integer", "number":
		num, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%s: want a %s, got %T", at, s.Type, v)
		}
		f, err := num.Float64()
		if err != nil {
			return fmt.Errorf("%s: %w", at, err)
		}
		if s.Type == "integer" {
			if _, err := num.Int64(); err != nil {
				return fmt.Errorf("%s: %s is not an integer", at, num)
			}
		}
		if s.Minimum != nil && f < *s.Minimum || s.Maximum != nil && f > *s.Maximum {
			return fmt.Errorf("%s: %s is out of bounds", at, num)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: want a boolean, got %T", at, v)
		}
	default:
		return fmt.Errorf("%s: schema type %q is not supported by the checker", at, s.Type)
	}
	return nil
}

// validateBody validates a JSON answer.
func (d *openAPI) validateBody(s schema, body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("answer is not JSON: %w", err)
	}
	return d.validate(s, v, "$")
}

// matchPath returns the documented path template a request path falls under, "" when none.
func (d *openAPI) matchPath(path string) string {
	segs := strings.Split(path, "/")
	for tmpl := range d.Paths {
		ts := strings.Split(tmpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		match := true
		for i := range ts {
			if !strings.HasPrefix(ts[i], "{") && ts[i] != segs[i] {
				match = false
				break
			}
		}
		if match {
			return tmpl
		}
	}
	return ""
}

// resolvable checks that every $ref under s names a schema and every type is one the checker
// knows.
func (d *openAPI) resolvable(s schema, at string) error {
	if s.Ref != "" {
		name, _ := strings.CutPrefix(s.Ref, "#/components/schemas/")
		ref, ok := d.Components.Schemas[name]
		if !ok {
			return fmt.Errorf("%s: unresolvable $ref %q", at, s.Ref)
		}
		return d.resolvable(ref, at+"->"+name)
	}
	switch s.Type {
	case "object":
		for k, p := range s.Properties {
			if err := d.resolvable(p, at+"."+k); err != nil {
				return err
			}
		}
	case "array":
		if s.Items == nil {
			return fmt.Errorf("%s: array without items", at)
		}
		return d.resolvable(*s.Items, at+"[]")
	case "string", "integer", "number", "boolean":
	default:
		return fmt.Errorf("%s: schema type %q is not supported by the checker", at, s.Type)
	}
	return nil
}
