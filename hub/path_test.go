package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// disk is a journal and durable outbox in memory that can stall (every commit
// waits until released) and fail (every commit and write returns an error), as an
// SD card or a full disk would.
type disk struct {
	mu      sync.Mutex
	events  []Event
	reports []Report // the durable outbox
	state   State
	commits int
	fail    error
	hold    chan struct{}
}

func (d *disk) Commit(b Batch) ([]Event, []Report, error) {
	d.mu.Lock()
	hold := d.hold
	d.mu.Unlock()
	if hold != nil {
		<-hold
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return nil, nil, d.fail
	}
	for i, e := range b.Events {
		if e.Seq == 0 || len(d.events) > 0 && e.Seq <= d.events[len(d.events)-1].Seq {
			return nil, nil, fmt.Errorf("event %d: seq %d out of order", i, e.Seq)
		}
	}
	for _, r := range b.Reports {
		r.Event = b.Events[r.Event].Seq
		d.reports = append(d.reports, r)
	}
	d.events = append(d.events, b.Events...)
	d.state = b.State
	d.commits++
	return b.Events, b.Reports, nil
}

func (d *disk) Sequences() (uint64, uint64, error) { return 0, 0, nil }

func (d *disk) Outbox(limit int) ([]Report, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return nil, d.fail
	}
	return slices.Clone(d.reports), nil
}

func (d *disk) OutboxLen() (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.reports), nil
}

func (d *disk) AckReport(seq uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return d.fail
	}
	d.reports = slices.DeleteFunc(d.reports, func(r Report) bool { return r.Seq == seq })
	return nil
}

func (d *disk) stall() {
	d.mu.Lock()
	d.hold = make(chan struct{})
	d.mu.Unlock()
}

func (d *disk) release() {
	d.mu.Lock()
	close(d.hold)
	d.hold = nil
	d.mu.Unlock()
}

func (d *disk) setFail(err error) {
	d.mu.Lock()
	d.fail = err
	d.mu.Unlock()
}

// types lists the stored event types, zone activity left out.
func (d *disk) types() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ts []string
	for _, e := range d.events {
		if e.Type != EvZoneOpen && e.Type != EvZoneClosed {
			ts = append(ts, string(e.Type))
		}
	}
	return ts
}

// codes renders reports as qualifier*1000+code.
func codes(rs []Report) []int {
	var cs []int
	for _, r := range rs {
		cs = append(cs, r.Qualifier*1000+int(r.Code))
	}
	return cs
}

type wakes struct {
	mu sync.Mutex
	n  int
}

func (w *wakes) Wake() { w.mu.Lock(); w.n++; w.mu.Unlock() }

func startDisk(t *testing.T, d *disk, o Outputs, q *ReportQueue, w Waker) (*Hub, func()) {
	t.Helper()
	h := New(Options{Config: hubConfig(t), Journal: d, Outputs: o, Reports: q, Waker: w, Location: time.UTC,
		Verifier: &Verifier{}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.Run(ctx); close(done) }()
	synctest.Wait()
	return h, func() { cancel(); <-done }
}

// A second alarm's outputs switch while the commit of the first is stalled: Post
// never waits for the disk. In the synctest bubble, a Post that waited for the
// stalled journal would deadlock the bubble and fail the test, and the fake clock
// shows that no time passed.
func TestSecondAlarmWhileCommitStalled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, o := &disk{}, &memOutputs{}
		h, stop := startDisk(t, d, o, nil, nil)
		defer stop()
		ctx := context.Background()
		d.stall()
		if err := h.Post(ctx, Sensor{Zone: "leak", Signal: SigOpen}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the writer is now stuck in the first commit
		t0 := time.Now()
		if err := h.Post(ctx, Sensor{Zone: "smoke", Signal: SigOpen}); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(t0); waited != 0 {
			t.Errorf("the second alarm waited %s", waited)
		}
		want := []string{"sounder-on", "siren-on", "strobe-on"}
		if got := o.list(); !slices.Equal(got, want) {
			t.Errorf("outputs while the commit is stalled: %v, want %v", got, want)
		}
		if got := d.types(); !slices.Equal(got, []string{"restart"}) {
			t.Errorf("stored while stalled: %v", got)
		}
		time.Sleep(3 * time.Second)
		d.release()
		synctest.Wait()
		if got, want := d.types(), []string{"restart", "alarm", "alarm"}; !slices.Equal(got, want) {
			t.Errorf("stored after the stall: %v, want %v", got, want)
		}
		if got := codes(d.reports); !slices.Equal(got, []int{1305, 1154, 1110}) {
			t.Errorf("reports %v", got)
		}
	})
}

// A command's answer follows its commit: Input does not return while the commit of
// its records is stalled.
func TestInputAnswersAfterCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, o := &disk{}, &memOutputs{}
		h, stop := startDisk(t, d, o, nil, nil)
		defer stop()
		d.stall()
		answered := make(chan error, 1)
		go func() {
			answered <- h.Do(context.Background(), Request{Kind: CmdArm, Mode: ModeAway,
				Cred: Credential{Code: "111111"}, Via: ViaKeypad})
		}()
		synctest.Wait()
		select {
		case err := <-answered:
			t.Fatalf("answered (%v) before the commit", err)
		default:
		}
		d.release()
		synctest.Wait()
		if err := <-answered; err != nil {
			t.Fatal(err)
		}
		if got := d.types(); !slices.Equal(got, []string{"restart", "arming"}) {
			t.Errorf("stored %v", got)
		}
	})
}

// When the disk fails, the alarm goes out from memory: the report reaches the
// uplink's queue, a storage fault is raised (and reported), nothing is cancelled
// that was not queued, and everything is written when the disk works again, less
// what the centre already acknowledged.
func TestDiskFullReportsFromMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, o, w := &disk{}, &memOutputs{}, &wakes{}
		q := NewReportQueue(d)
		h, stop := startDisk(t, d, o, q, w)
		defer stop()
		ctx := context.Background()
		enospc := errors.New("write vakt.db: no space left on device")
		d.setFail(enospc)
		if err := h.Do(ctx, Request{Kind: CmdPanic, Cred: Credential{Code: "111111"}, Via: ViaKeypad}); err != nil {
			t.Fatalf("panic refused: %v", err)
		}
		synctest.Wait()
		queued, err := q.Outbox(0)
		if err != nil {
			t.Fatal(err)
		}
		if got := codes(queued); !slices.Equal(got, []int{1120, 1300}) {
			t.Fatalf("queued for the centre while the disk is full: %v, want panic then system trouble", got)
		}
		s := h.Snapshot()
		if !s.State.Faults[FaultID{Kind: FaultStorage}] || !strings.Contains(s.StorageError, "no space") {
			t.Errorf("faults %v storage error %q", s.State.Faults, s.StorageError)
		}
		if !slices.Contains(s.Ready[ModeAway], Reason{Reason: "storage_failed", Fault: "storage"}) {
			t.Errorf("ready reasons %v", s.Ready[ModeAway])
		}
		w.mu.Lock()
		if w.n == 0 {
			t.Error("the uplink was not woken")
		}
		w.mu.Unlock()
		// The centre acknowledges the panic; then the user disarms.
		if err := q.AckReport(queued[0].Seq); err != nil {
			t.Fatal(err)
		}
		if err := h.Do(ctx, Request{Kind: CmdDisarm, Cred: Credential{Code: "111111"}, Via: ViaKeypad}); err != nil {
			t.Fatal(err)
		}
		queued, _ = q.Outbox(0)
		if got := codes(queued); !slices.Equal(got, []int{1300, 1406}) {
			t.Fatalf("queued after the disarm: %v", got)
		}
		if got := d.types(); !slices.Equal(got, []string{"restart"}) {
			t.Fatalf("stored while the disk is full: %v", got)
		}
		// Space comes back: the next retry writes everything, in order.
		d.setFail(nil)
		time.Sleep(defaultStorageRetry + time.Second)
		synctest.Wait()
		want := []string{"restart", "panic", "fault", "alarm_cancel", "fault_restore"}
		if got := d.types(); !slices.Equal(got, want) {
			t.Errorf("stored after recovery: %v, want %v", got, want)
		}
		queued, _ = q.Outbox(0)
		if got := codes(queued); !slices.Equal(got, []int{1305, 1300, 1406, 3300}) {
			t.Errorf("outbox after recovery: %v (the acknowledged panic must not come back)", got)
		}
		if n := q.Held(); n != 0 {
			t.Errorf("%d reports still held", n)
		}
		if s := h.Snapshot(); s.StorageError != "" || s.State.Faults[FaultID{Kind: FaultStorage}] {
			t.Errorf("storage still failed: %q %v", s.StorageError, s.State.Faults)
		}
	})
}

// Events kept in memory while the disk fails are bounded: the oldest routine ones
// go first and are counted; alarm events and those with reports are kept.
func TestDiskFullBoundsMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, o := &disk{}, &memOutputs{}
		q := NewReportQueue(d)
		h, stop := startDisk(t, d, o, q, nil)
		defer stop()
		ctx := context.Background()
		d.setFail(errors.New("input/output error"))
		if err := h.Input(ctx, Sensor{Zone: "smoke", Signal: SigOpen}); err != nil {
			t.Fatal(err)
		}
		for i := range maxPending {
			sig := SigOpen
			if i%2 == 1 {
				sig = SigClose
			}
			if err := h.Post(ctx, Sensor{Zone: "window", Signal: sig}); err != nil {
				t.Fatal(err)
			}
			if i%1000 == 0 {
				synctest.Wait()
			}
		}
		synctest.Wait()
		d.setFail(nil)
		time.Sleep(defaultStorageRetry + time.Second)
		synctest.Wait()
		d.mu.Lock()
		defer d.mu.Unlock()
		if n := len(d.events); n > maxPending+10 {
			t.Errorf("%d events written, more than the bound %d", n, maxPending)
		}
		var alarm, restore *Event
		for i, e := range d.events {
			switch e.Type {
			case EvAlarm:
				alarm = &d.events[i]
			case EvFaultRestore:
				restore = &d.events[i]
			}
		}
		if alarm == nil || alarm.Zone != "smoke" {
			t.Error("the fire alarm event was dropped")
		}
		if restore == nil || !strings.Contains(restore.Detail, "events could not be kept") {
			t.Errorf("the loss is not told: %+v", restore)
		}
		if got := codes(d.reports); !slices.Equal(got, []int{1305, 1110, 1300, 3300}) {
			t.Errorf("reports %v", got)
		}
	})
}

// Many goroutines posting at once (a hundred devices on the broker): every input is
// applied exactly once and in each device's order, whoever applies it.
func TestConcurrentPostsAllApplied(t *testing.T) {
	cfg := hubConfig(t)
	const devices, each = 50, 400
	for i := range devices {
		cfg.Zones = append(cfg.Zones, Zone{ID: fmt.Sprintf("pir%d", i), Name: "PIR", Number: 100 + i, Type: ZoneInstant})
	}
	d := &disk{}
	h := New(Options{Config: cfg, Journal: d, Outputs: &memOutputs{}, Location: time.UTC})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.Run(ctx); close(done) }()
	var wg sync.WaitGroup
	for i := range devices {
		wg.Go(func() {
			for k := range each {
				sig := SigOpen
				if k%2 == 1 {
					sig = SigClose
				}
				if err := h.Post(ctx, Sensor{Zone: fmt.Sprintf("pir%d", i), Signal: sig}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := h.Input(ctx, Tick{}); err != nil { // after every earlier input's commit
		t.Fatal(err)
	}
	cancel()
	<-done
	d.mu.Lock()
	defer d.mu.Unlock()
	per := map[string][]EventType{}
	for _, e := range d.events {
		if strings.HasPrefix(e.Zone, "pir") {
			per[e.Zone] = append(per[e.Zone], e.Type)
		}
	}
	for i := range devices {
		got := per[fmt.Sprintf("pir%d", i)]
		if len(got) != each {
			t.Errorf("pir%d: %d events, want %d", i, len(got), each)
			continue
		}
		for k, typ := range got {
			if want := []EventType{EvZoneOpen, EvZoneClosed}[k%2]; typ != want {
				t.Errorf("pir%d: event %d is %s, want %s", i, k, typ, want)
				break
			}
		}
	}
}

// An acknowledged report whose deletion the disk refused is deleted at the next good
// commit, not offered to the uplink meanwhile, and not sent again.
func TestRefusedDeletionRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, o := &disk{}, &memOutputs{}
		q := NewReportQueue(d)
		h, stop := startDisk(t, d, o, q, nil)
		defer stop()
		ctx := context.Background()
		if err := h.Do(ctx, Request{Kind: CmdPanic, Cred: Credential{Code: "111111"}, Via: ViaKeypad}); err != nil {
			t.Fatal(err)
		}
		queued, _ := q.Outbox(0)
		if got := codes(queued); !slices.Equal(got, []int{1305, 1120}) {
			t.Fatalf("queued %v", got)
		}
		if err := q.AckReport(queued[0].Seq); err != nil { // the restart report
			t.Fatal(err)
		}
		d.setFail(errors.New("read-only file system"))
		if err := q.AckReport(queued[1].Seq); err != nil {
			t.Fatal(err)
		}
		d.setFail(nil)
		if got, _ := q.Outbox(0); len(got) != 0 {
			t.Errorf("an acknowledged report is offered again: %v", codes(got))
		}
		// The next good commit deletes it from the disk.
		if err := h.Input(ctx, Sensor{Zone: "window", Signal: SigOpen}); err != nil {
			t.Fatal(err)
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		if got := codes(d.reports); len(got) != 0 {
			t.Errorf("still in the durable outbox: %v", got)
		}
	})
}
