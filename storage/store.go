package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout version this package writes into the meta bucket.
// Version 2 keeps the adapters' bindings of zones and outputs next to the
// configuration instead of inside it; version 3 adds the index of events by type.
const SchemaVersion = 3

// Bucket names.
var (
	bucketConfig   = []byte("config")
	bucketState    = []byte("state")
	bucketEvents   = []byte("events")
	bucketOutbox   = []byte("outbox")
	bucketRetained = []byte("retained")
	bucketMeta     = []byte("meta")
	// Indexes of the event log, maintained in the same transaction as the log.
	bucketByClass = []byte("events_by_class") // flag(1) + seq(8) -> timeKey(12)
	bucketByTime  = []byte("events_by_time")  // timeKey(12) + seq(8) -> flag(1)
	bucketByType  = []byte("events_by_type")  // typePrefix(type) + seq(8) -> nothing
)

var allBuckets = [][]byte{bucketConfig, bucketState, bucketEvents, bucketOutbox,
	bucketRetained, bucketMeta, bucketByClass, bucketByTime, bucketByType}

// Keys of single values.
var (
	keyConfig          = []byte("config")
	keyBindings        = []byte("bindings")
	keyState           = []byte("current")
	keySchema          = []byte("schema")
	keyRoutineCount    = []byte("events_routine")
	keyMandatoryCount  = []byte("events_mandatory")
	defaultOpenTimeout = time.Second
)

// bbolt remaps the file when it outgrows its memory map, and a remap waits for every
// running read transaction, such as a snapshot being written to a slow SD card. A
// generous initial map means no remap (and no commit waiting for a snapshot) until the
// file reaches it; the file itself still grows in steps of allocSize.
const (
	initialMmapSize = 64 << 20 << (strconv.IntSize / 64 * 2) // 256 MiB, 64 MiB on 32-bit
	allocSize       = 1 << 20
)

// Errors that Open may wrap; test for them with errors.Is.
var (
	// ErrLocked means another process (or another Store in this process) holds the
	// database file open. It is returned together with bbolt's ErrTimeout.
	ErrLocked = errors.New("database is locked by another process")
	// ErrNotDatabase means the file exists but is not a database this package can use:
	// it is corrupt, not a bbolt file, another program's bbolt file, or written by a
	// newer version. The file is left unchanged.
	ErrNotDatabase = errors.New("not a Vakt database")
)

// Options configure Open.
type Options struct {
	// Timeout is how long Open waits for the file lock held by another process.
	// Zero means one second.
	Timeout time.Duration
	// NoSync skips fsync after each commit. It makes a power cut lose committed data:
	// for tests and benchmarks only.
	NoSync bool
}

// Store is the hub's database: domain config, the latest state, the event log, the
// outbox for the monitoring centre and retained MQTT messages, in one bbolt file.
// All methods are safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string

	mu      sync.Mutex
	damaged map[string]struct{}
}

// maxDamagedKeys bounds the memory used to remember damaged records.
const maxDamagedKeys = 1000

type openError struct {
	path string
	msg  string
	errs []error
}

func (e *openError) Error() string   { return "storage: open " + e.path + ": " + e.msg }
func (e *openError) Unwrap() []error { return e.errs }

// Open opens the database file at path, creating the file and its buckets when they
// do not exist. It is called once at start-up, before the hub runs; the Store is then
// shared by every component until Close.
//
// Errors: if another process holds the file, Open waits opt.Timeout and then returns
// an error matching both ErrLocked and bbolt's ErrTimeout. If the file is not a usable
// database (corrupt, not a bbolt file, another program's file, a newer schema), it
// returns an error matching ErrNotDatabase and leaves the file as it was. Other errors
// are I/O errors from opening or initialising the file.
func Open(path string, opt Options) (*Store, error) {
	timeout := opt.Timeout
	if timeout <= 0 {
		timeout = defaultOpenTimeout
	}
	// A file that exists is checked before it is opened for writing: bbolt would
	// otherwise initialise an empty file as a new database, and panic (or worse) on
	// damaged pages later, in the middle of an alarm.
	if _, err := os.Stat(path); err == nil {
		if _, err := Check(path, timeout); err != nil {
			if errors.Is(err, ErrDamaged) {
				var oe *openError
				if errors.As(err, &oe) {
					oe.msg = "not a valid database file (" + oe.msg + "; left unchanged)"
				}
			}
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, NoSync: opt.NoSync,
		InitialMmapSize: initialMmapSize})
	if err != nil {
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			return nil, &openError{path: path, msg: ErrLocked.Error(), errs: []error{ErrLocked, err}}
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
			errors.Is(err, berrors.ErrVersionMismatch):
			return nil, &openError{path: path,
				msg:  "not a valid database file (corrupt, or not a bbolt file; left unchanged): " + err.Error(),
				errs: []error{ErrNotDatabase, err}}
		}
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	db.AllocSize = allocSize
	version, err := checkSchema(db)
	if err != nil {
		_ = db.Close()
		return nil, &openError{path: path, msg: err.Error() + " (left unchanged)", errs: []error{ErrNotDatabase}}
	}
	if err := db.Update(func(tx *bolt.Tx) error { return initBuckets(tx, version) }); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("storage: open %s: create buckets: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if version > 0 && version < SchemaVersion {
		// The file as it was stays in a snapshot: a migration that went wrong
		// can be undone with a restore.
		if _, err := s.Snapshot(time.Now(), "before-migration"); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("storage: open %s: before the migration from schema %d: %w", path, version, err)
		}
		if err := db.Update(func(tx *bolt.Tx) error { return migrate(tx, version) }); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("storage: open %s: migrate from schema %d: %w", path, version, err)
		}
	}
	return s, nil
}

// checkSchema refuses files that hold another program's buckets or a schema newer than
// this package knows, before anything is written to them. It returns the file's
// schema version: 0 for a new file, 1 for a file of this package's buckets without
// a version.
func checkSchema(db *bolt.DB) (version int, err error) {
	err = db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			// A new, empty file is fine; buckets of someone else are not.
			return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
				if !slices.ContainsFunc(allBuckets, func(b []byte) bool { return bytes.Equal(b, name) }) {
					return fmt.Errorf("the file holds bucket %q of another program", name)
				}
				version = 1
				return nil
			})
		}
		version = 1
		v := meta.Get(keySchema)
		if v == nil {
			return nil
		}
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 {
			return fmt.Errorf("schema version %q is not valid", v)
		}
		if n > SchemaVersion {
			return fmt.Errorf("schema version %d is newer than this program supports (%d)", n, SchemaVersion)
		}
		version = n
		return nil
	})
	return version, err
}

// initBuckets creates missing buckets; a new file (version 0) gets the schema
// version, an older one gets it from its migration.
func initBuckets(tx *bolt.Tx, version int) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("bucket %s: %w", name, err)
		}
	}
	if version == 0 {
		return tx.Bucket(bucketMeta).Put(keySchema, []byte(strconv.Itoa(SchemaVersion)))
	}
	return nil
}

// Close closes the file. It is called once at shutdown, after every component that
// uses the Store has stopped; it waits for running transactions to finish. Calling
// it again is harmless.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("storage: close %s: %w", s.path, err)
	}
	return nil
}

// Path returns the path of the database file, for logs and diagnostics.
func (s *Store) Path() string { return s.path }

// Damaged reports the stored records that reads skipped since Open because they failed
// to decode (a damaged event or outbox entry does not break a whole query: it is left
// out and remembered here). n is the number of distinct damaged records seen (it stops
// counting at 1000); keys names them as "bucket/seq", e.g. "events/42", sorted. A
// non-zero n means the file is damaged: health checks and metrics should show it.
func (s *Store) Damaged() (n int, keys []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.damaged {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return len(s.damaged), keys
}

func (s *Store) noteDamaged(bucket []byte, key []byte) {
	name := string(bucket) + "/"
	if len(key) == 8 {
		name += strconv.FormatUint(binary.BigEndian.Uint64(key), 10)
	} else {
		name += strconv.Quote(string(key))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.damaged == nil {
		s.damaged = map[string]struct{}{}
	}
	if len(s.damaged) < maxDamagedKeys {
		s.damaged[name] = struct{}{}
	}
}

// seqKey encodes a sequence number as a big-endian key, so keys sort by number.
func seqKey(seq uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, seq)
	return k
}

func getUint(b *bolt.Bucket, key []byte) uint64 {
	v := b.Get(key)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func putUint(b *bolt.Bucket, key []byte, n uint64) error {
	return b.Put(key, seqKey(n))
}
