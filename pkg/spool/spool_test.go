package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func openTest(tb testing.TB, dir string, maxBytes, segmentBytes int64) *Spool {
	tb.Helper()
	s, err := Open(dir, Options{MaxBytes: maxBytes, SegmentBytes: segmentBytes})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func records(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "%s-%03d", prefix, i)
	}
	return out
}

func TestAppendNextRemove(t *testing.T) {
	s := openTest(t, t.TempDir(), 1<<20, 1<<20)

	n, err := s.Append(records("a", 3))
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	n, err = s.Append(records("b", 2))
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	seg, ok, err := s.Next()
	require.NoError(t, err)
	require.True(t, ok)
	want := append(records("a", 3), records("b", 2)...)
	assert.Equal(t, want, seg.Records)
	assert.Zero(t, seg.CorruptBytes)

	again, ok, err := s.Next()
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, seg.ID, again.ID, "Next must return the same segment until Remove")

	require.NoError(t, s.Remove(seg.ID))
	_, ok, err = s.Next()
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Zero(t, s.Bytes())
}

func TestSegmentsSealAtSize(t *testing.T) {
	// Each framed record is 8 + 5 bytes, so a 26-byte segment takes two.
	s := openTest(t, t.TempDir(), 1<<20, 26)
	for i := range 5 {
		_, err := s.Append([][]byte{fmt.Appendf(nil, "rec-%d", i)})
		require.NoError(t, err)
	}

	var got []string
	for {
		seg, ok, err := s.Next()
		require.NoError(t, err)
		if !ok {
			break
		}
		for _, r := range seg.Records {
			got = append(got, string(r))
		}
		require.NoError(t, s.Remove(seg.ID))
	}
	assert.Equal(t, []string{"rec-0", "rec-1", "rec-2", "rec-3", "rec-4"}, got)
}

func TestAppendFull(t *testing.T) {
	// Room for exactly two framed 7-byte records.
	s := openTest(t, t.TempDir(), 2*(headerLen+7), 1<<20)

	n, err := s.Append(records("x", 3))
	require.ErrorIs(t, err, ErrFull)
	assert.Equal(t, 2, n)

	n, err = s.Append(records("y", 1))
	require.ErrorIs(t, err, ErrFull)
	assert.Zero(t, n)

	seg, ok, err := s.Next()
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, s.Remove(seg.ID))

	n, err = s.Append(records("z", 1))
	require.NoError(t, err, "removing a segment must free its space")
	assert.Equal(t, 1, n)
}

func TestAppendTooLarge(t *testing.T) {
	s := openTest(t, t.TempDir(), 4<<20, 4<<20)

	n, err := s.Append([][]byte{make([]byte, MaxRecordBytes+1)})
	require.ErrorIs(t, err, ErrTooLarge)
	assert.Zero(t, n)
}

func TestReopenKeepsSegments(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{MaxBytes: 1 << 20, SegmentBytes: 1 << 20})
	require.NoError(t, err)
	_, err = s.Append(records("a", 4))
	require.NoError(t, err)
	size := s.Bytes()
	require.NoError(t, s.Close())

	s = openTest(t, dir, 1<<20, 1<<20)
	assert.Equal(t, size, s.Bytes())
	_, err = s.Append(records("b", 1))
	require.NoError(t, err)

	seg, ok, err := s.Next()
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, records("a", 4), seg.Records, "segments of the earlier process come first")
	require.NoError(t, s.Remove(seg.ID))

	seg, ok, err = s.Next()
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, records("b", 1), seg.Records)
}

func TestOpenLocksDirectory(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir, 1<<20, 1<<20)

	_, err := Open(dir, Options{MaxBytes: 1 << 20, SegmentBytes: 1 << 20})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "another process")
}

func TestTornTailSkipped(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{MaxBytes: 1 << 20, SegmentBytes: 1 << 20})
	require.NoError(t, err)
	_, err = s.Append(records("a", 3))
	require.NoError(t, err)
	require.NoError(t, s.Close())

	// A crash during a write leaves part of a record at the end.
	matches, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	require.NoError(t, err)
	require.Len(t, matches, 1)
	f, err := os.OpenFile(matches[0], os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte{0, 0, 0, 9, 1, 2})
	require.NoError(t, err)
	require.NoError(t, f.Close())

	s = openTest(t, dir, 1<<20, 1<<20)
	seg, ok, err := s.Next()
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, records("a", 3), seg.Records)
	assert.Equal(t, int64(6), seg.CorruptBytes)
}

func TestChecksumMismatchStopsSegment(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{MaxBytes: 1 << 20, SegmentBytes: 1 << 20})
	require.NoError(t, err)
	_, err = s.Append(records("a", 3))
	require.NoError(t, err)
	require.NoError(t, s.Close())

	matches, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	require.NoError(t, err)
	data, err := os.ReadFile(matches[0])
	require.NoError(t, err)
	recordLen := headerLen + len("a-000")
	data[recordLen+headerLen] ^= 0xff // flip a payload byte of the second record
	require.NoError(t, os.WriteFile(matches[0], data, 0o640))

	s = openTest(t, dir, 1<<20, 1<<20)
	seg, ok, err := s.Next()
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, records("a", 1), seg.Records)
	assert.Equal(t, int64(2*recordLen), seg.CorruptBytes)
}

func TestEmptySegmentsRemovedOnOpen(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "00000000000000000007.seg")
	require.NoError(t, os.WriteFile(empty, nil, 0o640))

	s := openTest(t, dir, 1<<20, 1<<20)
	_, ok, err := s.Next()
	require.NoError(t, err)
	assert.False(t, ok)
	assert.NoFileExists(t, empty)

	_, err = s.Append(records("a", 1))
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(dir, "00000000000000000008.seg"), "ids continue after the highest seen")
}

func TestClosedSpool(t *testing.T) {
	s, err := Open(t.TempDir(), Options{MaxBytes: 1 << 20, SegmentBytes: 1 << 20})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	_, err = s.Append(records("a", 1))
	require.ErrorIs(t, err, ErrClosed)
	_, _, err = s.Next()
	require.ErrorIs(t, err, ErrClosed)
}
