// Package config loads a YAML configuration file into a struct that already
// holds the defaults, then applies environment variable overrides.
//
// Every field with a yaml tag can be overridden by an environment variable
// named CLICKSTREAM_ followed by the tags of its path joined by underscores
// and upper-cased: kafka.brokers is CLICKSTREAM_KAFKA_BROKERS and
// enrich.geoip.city is CLICKSTREAM_ENRICH_GEOIP_CITY. Lists are
// comma-separated and durations use Go syntax ("1s", "250ms").
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts the name of every override variable.
const EnvPrefix = "CLICKSTREAM_"

// testEnvPrefix marks variables that tests read; they are not overrides.
const testEnvPrefix = EnvPrefix + "TEST_"

// FileEnv names the configuration file to load; it is not an override.
const FileEnv = EnvPrefix + "CONFIG"

// Load decodes the YAML file at path into dst, a pointer to a struct filled
// with defaults, and applies the overrides found in environ (as returned by
// os.Environ). An empty path skips the file. Unknown keys in the file and
// unknown CLICKSTREAM_ variables are errors that name them.
func Load(path string, dst any, environ []string) error {
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reading configuration: %w", err)
		}
		if err := Decode(data, dst); err != nil {
			return fmt.Errorf("configuration %s: %w", path, err)
		}
	}
	return ApplyEnv(dst, environ)
}

// Decode decodes YAML data into dst, rejecting unknown keys. A value that
// does not fit its field, or an unknown or repeated key, is a *KeyError
// naming the dotted key and its line, such as `worker.flushInterval:
// invalid duration "5 seconds", ... (line 35)`. Several errors are
// joined with errors.Join. A YAML syntax error is returned as yaml.v3 words it, with
// the line but no key, because the document has no node tree to search.
func Decode(data []byte, dst any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(dst)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}

	var typeErr *yaml.TypeError
	if !errors.As(err, &typeErr) {
		return err
	}
	var root yaml.Node
	if perr := yaml.Unmarshal(data, &root); perr != nil {
		return err
	}
	return keyErrors(&root, typeErr.Errors)
}

// ApplyEnv sets the fields of dst named by CLICKSTREAM_ variables in environ.
func ApplyEnv(dst any, environ []string) error {
	fields := map[string]reflect.Value{}
	collect(reflect.ValueOf(dst).Elem(), EnvPrefix, fields)

	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || strings.HasPrefix(name, testEnvPrefix) || name == FileEnv {
			continue
		}
		field, ok := fields[name]
		if !ok {
			return fmt.Errorf("environment variable %s: no configuration key has this name", name)
		}
		if err := set(field, value); err != nil {
			return fmt.Errorf("environment variable %s: %w", name, err)
		}
	}
	return nil
}

// EnvNames returns the override variable names dst accepts, for help text.
func EnvNames(dst any) []string {
	fields := map[string]reflect.Value{}
	collect(reflect.ValueOf(dst).Elem(), EnvPrefix, fields)
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	return names
}

func collect(v reflect.Value, prefix string, out map[string]reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		name := prefix + strings.ToUpper(tag)
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeOf(time.Time{}) {
			collect(fv, name+"_", out)
			continue
		}
		out[name] = fv
	}
}

var durationType = reflect.TypeOf(time.Duration(0))

func set(field reflect.Value, value string) error {
	if field.Type() == durationType {
		d, err := time.ParseDuration(value)
		if err != nil {
			return fmt.Errorf("invalid duration %q, expected Go syntax such as 500ms or 1h", value)
		}
		field.SetInt(int64(d))
		return nil
	}

	switch field.Kind() {
	case reflect.String:
		field.SetString(value)
	case reflect.Bool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return fmt.Errorf("invalid boolean %q, expected true or false", value)
		}
		field.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(value, 10, field.Type().Bits())
		if err != nil {
			return fmt.Errorf("invalid integer %q", value)
		}
		field.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(value, 10, field.Type().Bits())
		if err != nil {
			return fmt.Errorf("invalid unsigned integer %q", value)
		}
		field.SetUint(n)
	case reflect.Float32, reflect.Float64:
		x, err := strconv.ParseFloat(value, field.Type().Bits())
		if err != nil {
			return fmt.Errorf("invalid number %q", value)
		}
		field.SetFloat(x)
	case reflect.Slice:
		return setSlice(field, value)
	default:
		return fmt.Errorf("type %s cannot be set from the environment; set it in the YAML file", field.Type())
	}
	return nil
}

func setSlice(field reflect.Value, value string) error {
	var parts []string
	if strings.TrimSpace(value) != "" {
		parts = strings.Split(value, ",")
	}
	out := reflect.MakeSlice(field.Type(), len(parts), len(parts))
	for i, p := range parts {
		if err := set(out.Index(i), strings.TrimSpace(p)); err != nil {
			return fmt.Errorf("item %d: %w", i, err)
		}
	}
	field.Set(out)
	return nil
}
