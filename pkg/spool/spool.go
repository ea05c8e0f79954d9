// Package spool is a bounded, append-only store of records on local disk.
// The edge writes hits to it while Kafka cannot take them and deletes a
// segment once Kafka has acknowledged every record in it.
//
// A spool is a directory of segment files named by a sequence number
// (00000000000000000001.seg, ...). Each record in a segment is framed as a
// 4-byte big-endian payload length, the 4-byte CRC-32C (Castagnoli) of the
// payload, then the payload. Append writes a batch with one write and one
// fsync. Records are read back a whole segment at a time, oldest first.
package spool

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// MaxRecordBytes is the largest payload Append accepts. The reader treats a
// longer length prefix as corruption, so a damaged header never makes it
// allocate more than this.
const MaxRecordBytes = 1 << 20

const (
	headerLen  = 8
	segmentExt = ".seg"
	lockName   = "LOCK"
)

var (
	// ErrFull is returned by Append when the records do not fit under
	// Options.MaxBytes. The records before the first one that did not fit
	// were written.
	ErrFull = errors.New("spool is full")
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("spool is closed")
	// ErrTooLarge is returned by Append for a record over MaxRecordBytes.
	ErrTooLarge = fmt.Errorf("record is longer than %d bytes", MaxRecordBytes)
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Options bounds a spool.
type Options struct {
	// MaxBytes is the maximum total size of all segment files, headers
	// included.
	MaxBytes int64
	// SegmentBytes is the size at which the segment being written is
	// sealed and a new one started. A segment can exceed it by at most one
	// Append batch.
	SegmentBytes int64
}

// Segment is the content of one sealed segment file.
type Segment struct {
	ID      uint64
	Records [][]byte
	// CorruptBytes counts the bytes after the last intact record: a record
	// torn by a crash during a write or damaged on disk. They are skipped.
	CorruptBytes int64
}

type segmentFile struct {
	id   uint64
	size int64
}

// Spool is safe for concurrent use. Reading (Next, Remove) is meant for one
// goroutine at a time: Next returns the oldest sealed segment again until
// Remove deletes it.
type Spool struct {
	dir  string
	opts Options
	lock *os.File

	mu sync.Mutex
	// sealed lists the segments that no longer grow, oldest first.
	sealed []segmentFile
	// active is the segment Append writes to. It is nil until the first
	// Append after Open or after a seal.
	active        *os.File
	activeID      uint64
	activeSize    int64
	activeRecords int
	nextID        uint64
	totalBytes    int64
	closed        bool
}

// Open opens or creates the spool in dir. Segments left by an earlier process
// become sealed segments that Next returns first. Only one process may open a
// directory at a time: a second Open fails while the first holds the lock.
func Open(dir string, opts Options) (*Spool, error) {
	if opts.MaxBytes <= 0 || opts.SegmentBytes <= 0 {
		return nil, fmt.Errorf("opening spool %s: MaxBytes and SegmentBytes must be positive", dir)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating spool directory: %w", err)
	}

	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}

	s := &Spool{dir: dir, opts: opts, lock: lock, nextID: 1}
	if err := s.loadSegments(); err != nil {
		lock.Close()
		return nil, err
	}
	return s, nil
}

func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("opening spool lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking spool %s: another process is using it: %w", dir, err)
	}
	return f, nil
}

func (s *Spool) loadSegments() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("listing spool %s: %w", s.dir, err)
	}

	for _, e := range entries {
		id, ok := parseSegmentName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return fmt.Errorf("reading spool segment %s: %w", e.Name(), err)
		}

		s.nextID = max(s.nextID, id+1)
		if info.Size() == 0 {
			// An empty segment contains nothing to send.
			if err := os.Remove(filepath.Join(s.dir, e.Name())); err != nil {
				return fmt.Errorf("removing empty spool segment: %w", err)
			}
			continue
		}
		s.sealed = append(s.sealed, segmentFile{id: id, size: info.Size()})
		s.totalBytes += info.Size()
	}

	slices.SortFunc(s.sealed, func(a, b segmentFile) int { return cmp.Compare(a.id, b.id) })
	return nil
}

func parseSegmentName(name string) (uint64, bool) {
	base, ok := strings.CutSuffix(name, segmentExt)
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseUint(base, 10, 64)
	return id, err == nil
}

func (s *Spool) segmentPath(id uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d%s", id, segmentExt))
}

// Append writes records in order and fsyncs them before it returns. When the
// spool cannot hold them all it writes the ones that fit and returns their
// count with ErrFull. On a write or fsync error the records of this call
// may be partly on disk. The reader skips a torn tail, and the caller should
// treat all records of the call as not stored.
func (s *Spool) Append(records [][]byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.closed {
		return 0, ErrClosed
	}

	n, size := s.countFitting(records)
	if n == 0 {
		if len(records) > 0 && len(records[0]) > MaxRecordBytes {
			return 0, ErrTooLarge
		}
		return 0, ErrFull
	}
	if err := s.write(records[:n], size); err != nil {
		return 0, err
	}

	if n < len(records) {
		if len(records[n]) > MaxRecordBytes {
			return n, ErrTooLarge
		}
		return n, ErrFull
	}
	return n, nil
}

// countFitting returns how many leading records fit under MaxBytes and
// their framed size.
func (s *Spool) countFitting(records [][]byte) (int, int64) {
	free := s.opts.MaxBytes - s.totalBytes
	var size int64
	for i, r := range records {
		framed := int64(headerLen + len(r))
		if len(r) > MaxRecordBytes || size+framed > free {
			return i, size
		}
		size += framed
	}
	return len(records), size
}

func (s *Spool) write(records [][]byte, size int64) error {
	if s.active == nil {
		if err := s.openActive(); err != nil {
			return err
		}
	}

	buf := make([]byte, 0, size)
	for _, r := range records {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(r)))
		buf = binary.BigEndian.AppendUint32(buf, crc32.Checksum(r, castagnoli))
		buf = append(buf, r...)
	}

	if _, err := s.active.Write(buf); err != nil {
		s.abandonActive()
		return fmt.Errorf("writing spool segment %d: %w", s.activeID, err)
	}
	if err := s.active.Sync(); err != nil {
		s.abandonActive()
		return fmt.Errorf("syncing spool segment %d: %w", s.activeID, err)
	}

	s.activeSize += size
	s.activeRecords += len(records)
	s.totalBytes += size
	if s.activeSize >= s.opts.SegmentBytes {
		return s.sealActive()
	}
	return nil
}

func (s *Spool) openActive() error {
	id := s.nextID
	f, err := os.OpenFile(s.segmentPath(id), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("creating spool segment: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}

	s.nextID++
	s.active, s.activeID, s.activeSize, s.activeRecords = f, id, 0, 0
	return nil
}

// abandonActive seals the active segment after a failed write, so that a
// torn record is only ever at the end of a segment, where the reader stops.
func (s *Spool) abandonActive() {
	size := s.activeSize
	if info, err := s.active.Stat(); err == nil {
		size = info.Size()
	}
	s.totalBytes += size - s.activeSize
	s.activeSize = size
	_ = s.sealActive()
}

func (s *Spool) sealActive() error {
	err := s.active.Close()
	if s.activeSize > 0 {
		s.sealed = append(s.sealed, segmentFile{id: s.activeID, size: s.activeSize})
	} else {
		_ = os.Remove(s.segmentPath(s.activeID))
	}
	s.active, s.activeSize, s.activeRecords = nil, 0, 0
	if err != nil {
		return fmt.Errorf("closing spool segment %d: %w", s.activeID, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening spool directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing spool directory: %w", err)
	}
	return nil
}

// Next returns the records of the oldest segment, sealing the segment being
// written first when no sealed one exists. It returns ok false when the
// spool contains no records. It keeps returning the same segment until Remove
// deletes it.
func (s *Spool) Next() (seg Segment, ok bool, err error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Segment{}, false, ErrClosed
	}
	if len(s.sealed) == 0 && s.active != nil && s.activeRecords > 0 {
		if err := s.sealActive(); err != nil {
			s.mu.Unlock()
			return Segment{}, false, err
		}
	}
	if len(s.sealed) == 0 {
		s.mu.Unlock()
		return Segment{}, false, nil
	}
	id := s.sealed[0].id
	s.mu.Unlock()

	// Sealed files never change, so reading needs no lock and Append can
	// go on meanwhile.
	seg, err = readSegment(s.segmentPath(id), id)
	if err != nil {
		return Segment{}, false, err
	}
	return seg, true, nil
}

func readSegment(path string, id uint64) (Segment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Segment{}, fmt.Errorf("reading spool segment %d: %w", id, err)
	}

	seg := Segment{ID: id}
	for len(data) > 0 {
		record, rest, ok := decodeRecord(data)
		if !ok {
			seg.CorruptBytes = int64(len(data))
			break
		}
		seg.Records = append(seg.Records, record)
		data = rest
	}
	return seg, nil
}

func decodeRecord(data []byte) (record, rest []byte, ok bool) {
	if len(data) < headerLen {
		return nil, nil, false
	}
	n := binary.BigEndian.Uint32(data)
	sum := binary.BigEndian.Uint32(data[4:])
	if n > MaxRecordBytes || int(n) > len(data)-headerLen {
		return nil, nil, false
	}

	record = data[headerLen : headerLen+int(n)]
	if crc32.Checksum(record, castagnoli) != sum {
		return nil, nil, false
	}
	return record, data[headerLen+int(n):], true
}

// Remove deletes the sealed segment id, after its records were delivered.
// Removing a segment that is not sealed or no longer exists is an error.
func (s *Spool) Remove(id uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.closed {
		return ErrClosed
	}
	i := slices.IndexFunc(s.sealed, func(f segmentFile) bool { return f.id == id })
	if i < 0 {
		return fmt.Errorf("removing spool segment %d: not a sealed segment", id)
	}

	if err := os.Remove(s.segmentPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing spool segment %d: %w", id, err)
	}
	s.totalBytes -= s.sealed[i].size
	s.sealed = slices.Delete(s.sealed, i, i+1)
	return nil
}

// Bytes returns the total size of all segment files. It is zero when the
// spool holds no segments.
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.totalBytes
}

// Close closes the segment being written and releases the directory lock.
// The segments stay on disk for the next Open.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.closed {
		return nil
	}
	s.closed = true

	var err error
	if s.active != nil {
		err = s.sealActive()
	}
	if lerr := s.lock.Close(); lerr != nil && err == nil {
		err = fmt.Errorf("releasing spool lock: %w", lerr)
	}
	return err
}
