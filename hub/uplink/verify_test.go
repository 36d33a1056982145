package uplink

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"vakt/hub"
	"vakt/hub/uplink/receiver"
	"vakt/hub/uplink/sia"
)

// A new alarm report carries the verification URL as [V…] extended data, inside
// the encryption, and the same URL when it is sent again after a lost ACK;
// restores, cancels, tests and alarms without a link carry none.
func TestVerifyURLOnNewAlarmsOnly(t *testing.T) {
	e := newEnv(t, true)
	key := mustKey(t, "000102030405060708090A0B0C0D0E0F", sia.KeyHex)
	var mu sync.Mutex
	dropped := false
	respond := func(m sia.Message) receiver.Reply {
		mu.Lock()
		defer mu.Unlock()
		if m.ID == sia.IDADMCID && !dropped {
			dropped = true // the first report's ACK is lost: it goes again
			return receiver.ReplyNone
		}
		return receiver.ReplyDefault
	}
	rec := &recorder{}
	addr := e.recv(rec, "127.0.0.1:0", "", key, respond).TCPAddr().String()
	p := path("primary", addr)
	p.Key, p.KeyFormat = "000102030405060708090A0B0C0D0E0F", sia.KeyHex
	var asked []string
	verify := func(r hub.Report) string {
		mu.Lock()
		asked = append(asked, fmt.Sprintf("%d%03d/%d", r.Qualifier, r.Code, r.Zone))
		mu.Unlock()
		if r.Zone == 9 {
			return "" // no camera
		}
		return fmt.Sprintf("https://home.example.net:8443/operator/tok-%d-%d", r.Code, r.Zone)
	}
	e.commit(
		hub.Report{Code: 130, Qualifier: hub.QualNew, Partition: 1, Zone: 3, Alarm: true},
		hub.Report{Code: 130, Qualifier: hub.QualRestore, Partition: 1, Zone: 3},
		hub.Report{Code: 406, Qualifier: hub.QualNew, Partition: 1, Zone: 1},
		hub.Report{Code: 602, Qualifier: hub.QualNew, Partition: 1},
		hub.Report{Code: 110, Qualifier: hub.QualNew, Partition: 1, Zone: 5, Alarm: true},
		hub.Report{Code: 130, Qualifier: hub.QualNew, Partition: 1, Zone: 9, Alarm: true},
		hub.Report{Code: 380, Qualifier: hub.QualNew, Partition: 1, Zone: 4},
	)
	e.run(Config{Paths: []Path{p}}, WithVerifyURL(verify))
	e.until("7 reports delivered", 5*time.Minute, func() bool { return len(rec.reports()) >= 7 && e.queued() == 0 })
	var got []string
	for _, m := range rec.allFrames() {
		if m.ID == sia.IDNull {
			continue
		}
		s := m.Data
		for _, x := range m.XData {
			s += " [" + x.Name + x.Value + "]"
		}
		if !m.Encrypted {
			s += " PLAIN"
		}
		got = append(got, s)
	}
	want := []string{
		"#1234|1130 01 003 [Vhttps://home.example.net:8443/operator/tok-130-3]",
		"#1234|1130 01 003 [Vhttps://home.example.net:8443/operator/tok-130-3]", // sent again, the same
		"#1234|3130 01 003",
		"#1234|1406 01 001",
		"#1234|1602 01 000",
		"#1234|1110 01 005 [Vhttps://home.example.net:8443/operator/tok-110-5]",
		"#1234|1130 01 009",
		"#1234|1380 01 004",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("frames\n got %q\nwant %q", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if w := []string{"1130/3", "1130/3", "1110/5", "1130/9"}; fmt.Sprint(asked) != fmt.Sprint(w) {
		t.Errorf("asked for %v, want %v", asked, w)
	}
}

// A URL that cannot go in extended data is left out, with a log line.
func TestVerifyURLRefusedWhenUnfit(t *testing.T) {
	e := newEnv(t, true)
	u, err := New(Config{Paths: []Path{path("primary", "127.0.0.1:1")}}, nil, nil, e.log.With("side", "uplink"), WithVerifyURL(func(hub.Report) string { return "https://x/[a]" }))
	if err != nil {
		t.Fatal(err)
	}
	if x := u.verifyData(hub.Report{Code: 130, Qualifier: hub.QualNew, Alarm: true}); x != nil {
		t.Errorf("xdata %v", x)
	}
	if l := logged(e, "verification URL cannot go in extended data"); len(l) != 1 {
		t.Errorf("log %q", l)
	}
}
