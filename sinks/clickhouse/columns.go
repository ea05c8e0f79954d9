package clickhouse

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	chcolumn "github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

// valueFuncs maps each inserted column of a table to the function that reads
// its value from one row. Each value must have the Go type that buildColumn
// expects for the column's kind: string, time.Time, bool, float64, uint16,
// uint32, uint64, int32, int64 or []string.
type valueFuncs[R any] map[string]func(*R) any

// columnReader reads one column from every row at once and returns a slice
// of the Go type that the column's kind expects (see valueFuncs).
type columnReader[R any] func(rows []R) (any, error)

// columnReaders maps each inserted column of a table to its reader.
type columnReaders[R any] map[string]columnReader[R]

// readColumn returns the columnReader that calls fn on every row. Unlike a
// valueFuncs entry it does not box each value in an interface, which costs
// an allocation for each string, time.Time and float64 value.
func readColumn[R, T any](fn func(*R) T) columnReader[R] {
	return func(rows []R) (any, error) {
		out := make([]T, len(rows))
		for i := range rows {
			out[i] = fn(&rows[i])
		}
		return out, nil
	}
}

// buildColumns turns rows into one slice per column of t.insertColumns, in
// that order, ready for Batch.Column(i).Append. Column-wise appends avoid the
// per-row reflection of Batch.Append.
func buildColumns[R any](t *tableSpec, rows []R, get valueFuncs[R], splitTime bool) ([]any, error) {
	return buildColumnsFrom(t, rows, get.readers(t), splitTime)
}

// readers returns a columnReader for each function of get that reads a
// column of t.
func (get valueFuncs[R]) readers(t *tableSpec) columnReaders[R] {
	readers := columnReaders[R]{}
	for _, c := range t.columns {
		if fn, ok := get[c.name]; ok {
			readers[c.name] = boxedReader(c, fn)
		}
	}
	return readers
}

// buildColumnsFrom is buildColumns with a reader per column.
func buildColumnsFrom[R any](t *tableSpec, rows []R, readers columnReaders[R], splitTime bool) ([]any, error) {
	var out []any
	for _, c := range t.columns {
		if c.defaultExpr != "" {
			continue
		}
		read, ok := readers[c.name]
		if !ok {
			return nil, fmt.Errorf("column %s.%s has no value function", t.name, c.name)
		}

		values, err := read(rows)
		if err != nil {
			return nil, fmt.Errorf("column %s.%s: %w", t.name, c.name, err)
		}
		cols, err := buildColumn(c, values, splitTime)
		if err != nil {
			return nil, fmt.Errorf("column %s.%s: %w", t.name, c.name, err)
		}
		out = append(out, cols...)
	}
	return out, nil
}

// boxedReader returns the columnReader that calls fn on every row and checks
// that each value has the Go type of the column's kind.
func boxedReader[R any](c column, fn func(*R) any) columnReader[R] {
	return func(rows []R) (any, error) {
		switch c.kind {
		case kindTime, kindDateTime:
			return collect[R, time.Time](rows, fn)
		case kindString, kindLowCardinality:
			return collect[R, string](rows, fn)
		case kindBool:
			return collect[R, bool](rows, fn)
		case kindFloat64:
			return collect[R, float64](rows, fn)
		case kindUInt16:
			return collect[R, uint16](rows, fn)
		case kindUInt32:
			return collect[R, uint32](rows, fn)
		case kindUInt64:
			return collect[R, uint64](rows, fn)
		case kindInt32:
			return collect[R, int32](rows, fn)
		case kindInt64:
			return collect[R, int64](rows, fn)
		case kindStringArray:
			return collect[R, []string](rows, fn)
		}
		return nil, fmt.Errorf("unknown column kind %d", c.kind)
	}
}

// buildColumn returns the slice of one column, or two for a time column in
// the split layout: the DateTime seconds and the UInt16 milliseconds.
// values must be a slice of the Go type of the column's kind.
func buildColumn(c column, values any, splitTime bool) ([]any, error) {
	switch c.kind {
	case kindTime:
		times, err := expect[time.Time](values)
		if err != nil {
			return nil, err
		}
		if !splitTime {
			return []any{clampTimes(times)}, nil
		}
		secs, millis := splitTimes(times)
		return []any{secs, millis}, nil
	case kindDateTime:
		times, err := expect[time.Time](values)
		if err != nil {
			return nil, err
		}
		return []any{clampTimes(times)}, nil
	case kindString, kindLowCardinality:
		return one(expect[string](values))
	case kindBool:
		return one(expect[bool](values))
	case kindFloat64:
		return one(expect[float64](values))
	case kindUInt16:
		return one(expect[uint16](values))
	case kindUInt32:
		return one(expect[uint32](values))
	case kindUInt64:
		return one(expect[uint64](values))
	case kindInt32:
		return one(expect[int32](values))
	case kindInt64:
		return one(expect[int64](values))
	case kindStringArray:
		return one(expect[[]string](values))
	}
	return nil, fmt.Errorf("unknown column kind %d", c.kind)
}

// expect returns values as a []T, or an error naming both types.
func expect[T any](values any) ([]T, error) {
	out, ok := values.([]T)
	if !ok {
		return nil, fmt.Errorf("values are %T, expected %T", values, out)
	}
	return out, nil
}

func one[T any](values []T, err error) ([]any, error) {
	if err != nil {
		return nil, err
	}
	return []any{values}, nil
}

// collect calls fn on every row and checks that each value is a T.
func collect[R, T any](rows []R, fn func(*R) any) ([]T, error) {
	out := make([]T, len(rows))
	for i := range rows {
		v, ok := fn(&rows[i]).(T)
		if !ok {
			var want T
			return nil, fmt.Errorf("row %d: value is %T, expected %T", i, fn(&rows[i]), want)
		}
		out[i] = v
	}
	return out, nil
}

// presizeString grows the byte buffer of col, a column of a new batch, to
// the total length of values in one allocation when col is a String column.
// The driver's String column (proto.ColStr of ch-go v0.75) appends each
// value to one buffer, and append grows a large slice by about a quarter at
// a time. For 5000 values the column allocated about five times its final
// size and copied most of it again. Appending one value of the total length
// and then calling Reset, which keeps the buffer's capacity, avoids that.
func presizeString(col chcolumn.Interface, values []string) {
	c, ok := col.(*chcolumn.String)
	if !ok || c.Rows() != 0 {
		return
	}
	total := 0
	for _, v := range values {
		total += len(v)
	}
	if total == 0 {
		return
	}
	// String.AppendRow of clickhouse-go v2.51 returns an error only for a
	// value of another type than string, []byte or their pointers, so the
	// error of this string is ignored.
	_ = c.AppendRow(nulString(total))
	c.Reset()
}

// nulBytes is a string of NUL bytes that nulString slices. A longer
// request replaces it, so inserts of similar size share one string.
var nulBytes atomic.Pointer[string]

// nulString returns a string of n NUL bytes.
func nulString(n int) string {
	if s := nulBytes.Load(); s != nil && len(*s) >= n {
		return (*s)[:n]
	}
	s := strings.Repeat("\x00", n)
	nulBytes.Store(&s)
	return s
}

// epoch is the smallest time DateTime and DateTime64 columns hold here. The
// zero time.Time, which means "none" in this package, is stored as epoch.
var epoch = time.Unix(0, 0).UTC()

// clampTimes converts times to UTC and replaces those before 1970, the zero
// time included, with epoch. It modifies times in place.
func clampTimes(times []time.Time) []time.Time {
	for i, t := range times {
		if t.Before(epoch) {
			times[i] = epoch
		} else {
			times[i] = t.UTC()
		}
	}
	return times
}

// splitTimes splits millisecond times into whole seconds and the
// milliseconds of each second, the 18.16 layout.
func splitTimes(times []time.Time) ([]time.Time, []uint16) {
	clampTimes(times)
	millis := make([]uint16, len(times))
	for i, t := range times {
		millis[i] = uint16(t.Nanosecond() / int(time.Millisecond))
		times[i] = t.Truncate(time.Second)
	}
	return times, millis
}

// joinTime is the inverse of splitTimes for one value; epoch reads back as
// the zero time.
func joinTime(sec time.Time, millis uint16) time.Time {
	t := sec.UTC().Add(time.Duration(millis) * time.Millisecond)
	if t.Equal(epoch) {
		return time.Time{}
	}
	return t
}
