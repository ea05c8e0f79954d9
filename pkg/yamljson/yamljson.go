// Package yamljson decodes YAML documents into structs that carry JSON tags,
// so that seed files can use the same key names as the JSON contracts.
package yamljson

import (
	"bytes"
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"
)

// Unmarshal decodes the YAML document in data into v through JSON, so that
// v's json tags name the keys. With strict set, unknown keys are an error
// that names the key.
func Unmarshal(data []byte, v any, strict bool) error {
	var tree any
	if err := yaml.Unmarshal(data, &tree); err != nil {
		return err
	}

	js, err := json.Marshal(normalize(tree))
	if err != nil {
		return fmt.Errorf("converting YAML to JSON: %w", err)
	}

	dec := json.NewDecoder(bytes.NewReader(js))
	if strict {
		dec.DisallowUnknownFields()
	}
	return dec.Decode(v)
}

// normalize turns the map[string]any and []any trees that yaml.v3 produces
// into values encoding/json accepts, converting non-string keys to strings.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			t[k] = normalize(val)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, val := range t {
			m[fmt.Sprint(k)] = normalize(val)
		}
		return m
	case []any:
		for i, val := range t {
			t[i] = normalize(val)
		}
		return t
	default:
		return v
	}
}
