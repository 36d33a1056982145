package uplink

import (
	"log/slog"
	"slices"
	"testing"
	"time"
)

// countingSeqs is a SeqStore in memory that records every save.
type countingSeqs struct {
	last  int
	saves []int
}

func (c *countingSeqs) LoadSeq(string) (int, error) { return c.last, nil }
func (c *countingSeqs) SaveSeq(_ string, n int) error {
	c.last = n
	c.saves = append(c.saves, n)
	return nil
}

// Sequence numbers are reserved a block at a time: one save per 100 messages,
// each naming the block's last number before its first is used, across the wrap
// after 9999; a restart goes on after the saved number.
func TestSeqReservedInBlocks(t *testing.T) {
	st := &countingSeqs{last: 9850}
	l := newLink(path("primary", "127.0.0.1:1"), nil, clock{now: time.Now, after: time.After}, nil, st, slog.New(slog.DiscardHandler))
	var got []int
	for range 250 {
		got = append(got, l.nextSeq())
	}
	var want []int
	for n := 9851; n <= 9999; n++ {
		want = append(want, n)
	}
	for n := 1; n <= 101; n++ {
		want = append(want, n)
	}
	if !slices.Equal(got, want) {
		t.Errorf("numbers %v\nwant %v", got, want)
	}
	if wantSaves := []int{9950, 51, 151}; !slices.Equal(st.saves, wantSaves) {
		t.Errorf("saves %v, want %v", st.saves, wantSaves)
	}
	l = newLink(path("primary", "127.0.0.1:1"), nil, clock{now: time.Now, after: time.After}, nil, st, slog.New(slog.DiscardHandler))
	if n := l.nextSeq(); n != 152 {
		t.Errorf("after a restart: %d, want 152", n)
	}
}

// Two links on one directory (the hub and `vakt uplink test` while it runs) never
// use the same number: each block is reserved after whatever the file says was
// taken, under the file's lock.
func TestSeqBlocksShared(t *testing.T) {
	dir := SeqDir(t.TempDir())
	newL := func() *link {
		return newLink(path("primary", "127.0.0.1:1"), nil, clock{now: time.Now, after: time.After}, nil, dir, slog.New(slog.DiscardHandler))
	}
	hub, cli := newL(), newL()
	var got []int
	take := func(l *link, n int) {
		for range n {
			got = append(got, l.nextSeq())
		}
	}
	take(hub, 1)   // the hub reserves 1–100
	take(cli, 2)   // the test command reserves 101–200 and uses 101, 102
	take(hub, 100) // the hub uses 2–100, then reserves after 200
	take(cli, 1)   // 103, still in its block
	var want []int
	want = append(want, 1, 101, 102)
	for n := 2; n <= 100; n++ {
		want = append(want, n)
	}
	want = append(want, 201, 103)
	if !slices.Equal(got, want) {
		t.Errorf("numbers %v\nwant %v", got, want)
	}
	if n, err := dir.LoadSeq("primary"); err != nil || n != 300 {
		t.Errorf("file says %d (%v), want 300", n, err)
	}
}
