package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrDamaged means the file is a database, but damaged: truncated, zeroed or
// overwritten pages, broken references. Errors matching it also match ErrNotDatabase.
var ErrDamaged = errors.New("database file is damaged")

// Layout of a bbolt file, as far as the structural check needs it. bbolt writes its
// pages in the machine's byte order.
const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	pageHeaderSize   = 16
	elementSize      = 16 // leaf and branch page elements alike
	flagBranch       = 0x01
	flagLeaf         = 0x02
	flagMeta         = 0x04
	flagFreelist     = 0x10
	flagBucketLeaf   = 0x01
	noFreelist       = ^uint64(0)
	metaChecksumFrom = 56 // the checksum covers the meta's first 56 bytes
	maxProblems      = 5  // problems named in a message; the rest are counted
)

var (
	ne               = binary.NativeEndian
	errBadMetaHeader = errors.New("the page header is damaged")
)

// CheckResult is what Check found.
type CheckResult struct {
	// Size is the file's size in bytes, Pages its number of pages in use (the high
	// water mark of the newest valid meta page), PageSize the page size.
	Size     int64
	Pages    uint64
	PageSize int
	// Problems lists every inconsistency found; empty means the file is sound.
	Problems []string
}

// Check runs a full consistency check of the database file at path without
// writing to it: the file's size and both meta pages, a walk of every page reachable
// from the root and the freelist (bounds, page ids, types, element bounds, no page
// referenced twice), then bbolt's own check (tx.Check: key order, unreachable and
// double-freed pages). Damaged data never makes Check panic or crash.
//
// The error is nil for a sound file. It matches ErrDamaged (and ErrNotDatabase) for a
// damaged or foreign file, ErrLocked when a running hub holds the file, and
// fs.ErrNotExist when there is no file. The CheckResult lists the problems found.
func Check(path string, timeout time.Duration) (CheckResult, error) {
	res, err := check(path, timeout)
	if err != nil {
		return res, err
	}
	if len(res.Problems) > 0 {
		return res, &openError{path: path, msg: "damaged: " + summary(res.Problems),
			errs: []error{ErrDamaged, ErrNotDatabase}}
	}
	return res, nil
}

// summary joins the first problems into one line.
func summary(p []string) string {
	s := strings.Join(p[:min(len(p), maxProblems)], "; ")
	if len(p) > maxProblems {
		s += fmt.Sprintf("; and %d more", len(p)-maxProblems)
	}
	return s
}

func check(path string, timeout time.Duration) (res CheckResult, err error) {
	f, err := os.Open(path)
	if err != nil {
		return res, fmt.Errorf("storage: check %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return res, fmt.Errorf("storage: check %s: %w", path, err)
	}
	res.Size = fi.Size()
	w := walker{f: f, size: fi.Size(), seen: map[uint64]bool{}}
	w.walk()
	res.Problems, res.Pages, res.PageSize = w.problems, w.pgid, w.pageSize
	if len(res.Problems) > 0 {
		return res, nil
	}
	// The structure is sound: bbolt can now read every page without leaving the file.
	probs, err := boltCheck(path, timeout)
	res.Problems = append(res.Problems, probs...)
	return res, err
}

// boltCheck opens the file read-only and runs bbolt's consistency check.
func boltCheck(path string, timeout time.Duration) (problems []string, err error) {
	if timeout <= 0 {
		timeout = defaultOpenTimeout
	}
	defer func() {
		if r := recover(); r != nil {
			problems = append(problems, fmt.Sprintf("bbolt failed reading the file: %v", r))
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: true})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, &openError{path: path, msg: ErrLocked.Error(), errs: []error{ErrLocked, err}}
		}
		return []string{err.Error()}, nil
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for e := range tx.Check() {
			problems = append(problems, e.Error())
		}
		return nil
	})
	if err != nil {
		problems = append(problems, err.Error())
	}
	return problems, nil
}

// walker reads a bbolt file page by page with every offset checked, so that no
// damage can lead it outside the file or around in circles.
type walker struct {
	f        io.ReaderAt
	size     int64
	pageSize int
	pgid     uint64 // high water mark: pages [0, pgid) are in use
	seen     map[uint64]bool
	problems []string
}

func (w *walker) bad(format string, args ...any) {
	w.problems = append(w.problems, fmt.Sprintf(format, args...))
}

type meta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	pgid     uint64
	txid     uint64
}

// readMeta returns the meta stored in the page at off, or why it is not valid.
func (w *walker) readMeta(off int64, want uint64) (meta, error) {
	b := make([]byte, pageHeaderSize+64)
	if _, err := w.f.ReadAt(b, off); err != nil {
		return meta{}, errors.New("missing")
	}
	m := b[pageHeaderSize:]
	// bbolt asserts (panics) on a meta page whose header is wrong, even when it
	// uses the other meta page.
	if id, flags := ne.Uint64(b), ne.Uint16(b[8:]); id != want || flags != flagMeta {
		return meta{}, errBadMetaHeader
	}
	h := fnv.New64a()
	_, _ = h.Write(m[:metaChecksumFrom])
	switch {
	case ne.Uint32(m[0:]) != boltMagic:
		return meta{}, errors.New("no bbolt magic number")
	case ne.Uint32(m[4:]) != boltVersion:
		return meta{}, fmt.Errorf("version %d", ne.Uint32(m[4:]))
	case ne.Uint64(m[metaChecksumFrom:]) != h.Sum64():
		return meta{}, errors.New("checksum mismatch")
	}
	return meta{pageSize: ne.Uint32(m[8:]), root: ne.Uint64(m[16:]), freelist: ne.Uint64(m[32:]),
		pgid: ne.Uint64(m[40:]), txid: ne.Uint64(m[48:])}, nil
}

func (w *walker) walk() {
	if w.size == 0 {
		w.bad("the file is empty (0 bytes)")
		return
	}
	m0, err0 := w.readMeta(0, 0)
	var m1 meta
	err1 := errors.New("missing")
	sizes := []int64{int64(m0.pageSize)}
	if err0 != nil {
		sizes = []int64{4096, 8192, 16384, 32768, 65536, int64(os.Getpagesize())}
	}
	for _, ps := range sizes {
		if m1, err1 = w.readMeta(ps, 1); err1 == nil {
			break
		}
	}
	var m meta
	switch {
	case err0 != nil && err1 != nil:
		w.bad("not a bbolt file, or both meta pages are damaged (meta 0: %v; meta 1: %v)", err0, err1)
		return
	case err0 == nil && (err1 != nil || m0.txid >= m1.txid):
		m = m0
	default:
		m = m1
	}
	if errors.Is(err0, errBadMetaHeader) || errors.Is(err1, errBadMetaHeader) {
		w.bad("a meta page is damaged (meta 0: %v; meta 1: %v)", errString(err0), errString(err1))
		return
	}
	if err0 == nil && err1 == nil && m0.pageSize != m1.pageSize {
		w.bad("the meta pages disagree on the page size (%d, %d)", m0.pageSize, m1.pageSize)
		return
	}
	if m.pageSize < 512 || m.pageSize > 1<<20 || m.pageSize&(m.pageSize-1) != 0 {
		w.bad("meta page: page size %d is not valid", m.pageSize)
		return
	}
	w.pageSize, w.pgid = int(m.pageSize), m.pgid
	if m.pgid < 3 || m.pgid > uint64(w.size)/uint64(m.pageSize) {
		w.bad("the file is truncated: it has %d bytes, but its meta page says %d pages of %d bytes (%d bytes)",
			w.size, m.pgid, m.pageSize, m.pgid*uint64(m.pageSize))
		return
	}
	w.seen[0], w.seen[1] = true, true
	if m.freelist != noFreelist {
		w.freelist(m.freelist)
	}
	w.tree(m.root, "root")
}

// page reads the page id with its overflow pages; nil after noting a problem.
func (w *walker) page(id uint64, where string) (flags uint16, count int, b []byte) {
	if id < 2 || id >= w.pgid {
		w.bad("%s: page %d is outside the file's pages 2–%d", where, id, w.pgid-1)
		return 0, 0, nil
	}
	if w.seen[id] {
		w.bad("%s: page %d is referenced twice", where, id)
		return 0, 0, nil
	}
	h := make([]byte, pageHeaderSize)
	if _, err := w.f.ReadAt(h, int64(id)*int64(w.pageSize)); err != nil {
		w.bad("%s: page %d: %v", where, id, err)
		return 0, 0, nil
	}
	if got := ne.Uint64(h); got != id {
		w.bad("%s: page %d has the id %d (zeroed or overwritten)", where, id, got)
		return 0, 0, nil
	}
	overflow := uint64(ne.Uint32(h[12:]))
	if id+overflow >= w.pgid {
		w.bad("%s: page %d with %d overflow pages goes past the file's pages", where, id, overflow)
		return 0, 0, nil
	}
	for i := id; i <= id+overflow; i++ {
		if w.seen[i] {
			w.bad("%s: page %d is referenced twice", where, i)
			return 0, 0, nil
		}
		w.seen[i] = true
	}
	b = make([]byte, (overflow+1)*uint64(w.pageSize))
	if _, err := w.f.ReadAt(b, int64(id)*int64(w.pageSize)); err != nil {
		w.bad("%s: page %d: %v", where, id, err)
		return 0, 0, nil
	}
	return ne.Uint16(h[8:]), int(ne.Uint16(h[10:])), b
}

func (w *walker) freelist(id uint64) {
	flags, count, b := w.page(id, "freelist")
	if b == nil {
		return
	}
	if flags != flagFreelist {
		w.bad("freelist: page %d has type %#x, not freelist", id, flags)
		return
	}
	data := b[pageHeaderSize:]
	if count == 0xFFFF {
		if len(data) < 8 {
			w.bad("freelist: page %d is too short", id)
			return
		}
		n := ne.Uint64(data)
		data = data[8:]
		if n > uint64(len(data)/8) {
			w.bad("freelist: page %d claims %d free pages, more than it holds", id, n)
			return
		}
		count = int(n)
	}
	if count > len(data)/8 {
		w.bad("freelist: page %d claims %d free pages, more than it holds", id, count)
		return
	}
	for i := range count {
		if p := ne.Uint64(data[i*8:]); p < 2 || p >= w.pgid {
			w.bad("freelist: free page %d is outside the file's pages", p)
			return
		}
	}
}

// tree walks the B+tree of a bucket stored from page id.
func (w *walker) tree(id uint64, where string) {
	flags, count, b := w.page(id, where)
	if b != nil {
		w.node(flags, count, b, id, where)
	}
}

// node checks the elements of a branch or leaf page (b starts with its header) and
// walks what they refer to.
func (w *walker) node(flags uint16, count int, b []byte, id uint64, where string) {
	if flags != flagBranch && flags != flagLeaf {
		w.bad("%s: page %d has type %#x, not a branch or leaf page", where, id, flags)
		return
	}
	if pageHeaderSize+count*elementSize > len(b) {
		w.bad("%s: page %d claims %d elements, more than it holds", where, id, count)
		return
	}
	for i := range count {
		e := pageHeaderSize + i*elementSize
		el := b[e : e+elementSize]
		var pos, ksize, vsize uint64
		if flags == flagBranch {
			pos, ksize = uint64(ne.Uint32(el)), uint64(ne.Uint32(el[4:]))
		} else {
			pos, ksize, vsize = uint64(ne.Uint32(el[4:])), uint64(ne.Uint32(el[8:])), uint64(ne.Uint32(el[12:]))
		}
		if uint64(e)+pos+ksize+vsize > uint64(len(b)) {
			w.bad("%s: page %d: element %d lies outside the page", where, id, i)
			return
		}
		if flags == flagBranch {
			w.tree(ne.Uint64(el[8:]), where)
			continue
		}
		if ne.Uint32(el)&flagBucketLeaf == 0 {
			continue
		}
		key := b[uint64(e)+pos : uint64(e)+pos+ksize]
		val := b[uint64(e)+pos+ksize : uint64(e)+pos+ksize+vsize]
		name := fmt.Sprintf("%s/%q", where, key)
		if where == "root" {
			name = fmt.Sprintf("bucket %q", key)
		}
		if len(val) < 16 {
			w.bad("%s: the bucket header is too short", name)
			continue
		}
		if root := ne.Uint64(val); root != 0 {
			w.tree(root, name)
			continue
		}
		// An inline bucket: its page follows the header inside the value.
		inline := val[16:]
		if len(inline) < pageHeaderSize {
			w.bad("%s: the inline bucket is too short", name)
			continue
		}
		w.node(ne.Uint16(inline[8:]), int(ne.Uint16(inline[10:])), inline, id, name)
	}
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}
