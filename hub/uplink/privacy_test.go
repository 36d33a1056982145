package uplink

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"vakt/hub"
)

// A duress disarm queues a silent 121 report on top of the opening report that any
// disarm queues. The centre must get it; the hub's info log must not tell: the
// lines at info level and above are the same, but for times and addresses, as for
// the normal disarm.
func TestSilentReportNotInInfoLog(t *testing.T) {
	opening := hub.Report{Code: hub.CodeOpenClose, Qualifier: hub.QualNew, Partition: 1, Zone: 1}
	duress := hub.Report{Code: hub.CodeDuress, Qualifier: hub.QualNew, Partition: 1, Zone: 1, Alarm: true}
	run := func(reps ...hub.Report) (lines []string, codes []int) {
		e := newEnv(t, true)
		rec := &recorder{}
		addr := e.recv(rec, "127.0.0.1:0", "", nil, nil).TCPAddr().String()
		e.run(Config{Paths: []Path{path("primary", addr)}})
		e.commit(reps...)
		e.until("reports delivered", time.Minute, func() bool { return len(rec.reports()) >= len(reps) && e.queued() == 0 })
		for _, ev := range rec.reports() {
			codes = append(codes, ev.ContactID.Code)
		}
		noise := regexp.MustCompile(`(time|addr|rtt)=\S+`)
		for _, l := range strings.Split(e.logs.String(), "\n") {
			if strings.Contains(l, "side=receiver") || strings.Contains(l, "level=DEBUG") || l == "" {
				continue
			}
			lines = append(lines, noise.ReplaceAllString(l, "$1=…"))
		}
		return lines, codes
	}
	normal, normalCodes := run(opening)
	silent, silentCodes := run(duress, opening)
	if !slices.Equal(normalCodes, []int{int(hub.CodeOpenClose)}) || !slices.Equal(silentCodes, []int{int(hub.CodeDuress), int(hub.CodeOpenClose)}) {
		t.Errorf("the centre got %v and %v", normalCodes, silentCodes)
	}
	if !slices.Equal(normal, silent) {
		t.Errorf("info log differs:\nnormal:\n%s\nduress:\n%s", strings.Join(normal, "\n"), strings.Join(silent, "\n"))
	}
}
