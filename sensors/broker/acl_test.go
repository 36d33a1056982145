package broker

import (
	"slices"
	"strings"
	"testing"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
)

func TestCovers(t *testing.T) {
	for _, tc := range []struct {
		filter, sub string
		want        bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/b/c", false}, // mochi's ledger matcher says true here
		{"a/b", "a", false},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/+", "a", false},
		{"a/+", "a/+", true},
		{"a/+", "a/#", false},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"a/#", "a/+/c", true},
		{"a/#", "a/#", true},
		{"a/#", "b/a", false},
		{"#", "a/b", true},
		{"#", "#", true},
		{"#", "$SYS/broker/uptime", false},
		{"+/b", "$SYS/b", false},
		{"$SYS/#", "$SYS/broker/uptime", true},
		{"a/+/c", "a/b/c", true},
		{"a/+/c", "a/#", false},
		{"a/b/c", "a/+/c", false},
		{"vakt/command", "vakt/command/#", false},
		{"a//b", "a//b", true},
		{"a/+/b", "a//b", true},
		{"a/+", "a/", true},
		{"a/#", "a/", true},
		{"a", "a/", false},
		{"a/", "a", false},
		{"+", "a", true},
		{"+", "a/b", false},
		{"+/+", "/", true},
		{"#", "/", true},
	} {
		if got := covers(tc.filter, tc.sub); got != tc.want {
			t.Errorf("covers(%q, %q) = %t, want %t", tc.filter, tc.sub, got, tc.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { covers("zigbee2mqtt/+/set", "zigbee2mqtt/hall/set") }); n != 0 {
		t.Errorf("covers allocates %v times", n)
	}
}

// covers agrees with matching on the split levels, on every pair of filters built
// from a few levels.
func TestCoversAgreesWithSplitLevels(t *testing.T) {
	split := func(f, sub string) bool {
		if strings.HasPrefix(sub, "$") && (f == "#" || f == "+" || strings.HasPrefix(f, "+/")) {
			return false
		}
		fl, sl := strings.Split(f, "/"), strings.Split(sub, "/")
		for i, l := range fl {
			if l == "#" {
				return true
			}
			if i >= len(sl) || l == "+" && sl[i] == "#" || l != "+" && sl[i] != l {
				return false
			}
		}
		return len(sl) == len(fl)
	}
	var all []string
	var build func(prefix string, depth int)
	build = func(prefix string, depth int) {
		for _, l := range []string{"a", "b", "", "+", "#", "$s"} {
			f := l
			if depth > 0 {
				f = prefix + "/" + l
			}
			if checkFilter(f) == nil {
				all = append(all, f)
			}
			if depth < 2 && l != "#" {
				build(f, depth+1)
			}
		}
	}
	build("", 0)
	for _, f := range all {
		for _, sub := range all {
			if got, want := covers(f, sub), split(f, sub); got != want {
				t.Errorf("covers(%q, %q) = %t, levels say %t", f, sub, got, want)
			}
		}
	}
}

func TestACLAccessKinds(t *testing.T) {
	acc := buildAccess(Config{Users: []User{
		{Name: "u", Password: "p",
			Read:  []string{"r/#", "both/#", "x/#"},
			Write: []string{"w/#", "both/#", "x/cmd/+"}},
		{Name: "none", Password: "p"},
		{Name: "root", Password: "p", Admin: true, Read: []string{"ignored"}},
	}})
	// The ledger says what was configured.
	want := auth.Filters{"r/#": auth.ReadOnly, "w/#": auth.WriteOnly, "both/#": auth.ReadWrite, "x/#": auth.ReadOnly, "x/cmd/+": auth.WriteOnly}
	got := acc.ledger.Users["u"].ACL
	if len(got) != len(want) {
		t.Fatalf("ledger ACL = %v", got)
	}
	for f, a := range want {
		if got[f] != a {
			t.Errorf("ledger ACL[%q] = %v, want %v", f, got[f], a)
		}
	}

	h := &authHook{acc: acc}
	client := func(user string) *mqtt.Client {
		cl := &mqtt.Client{}
		cl.Properties.Username = []byte(user)
		return cl
	}
	for _, tc := range []struct {
		user, topic string
		write, want bool
	}{
		{"u", "r/a", false, true},
		{"u", "r/a", true, false},
		{"u", "w/a", true, true},
		{"u", "w/a", false, false},
		{"u", "both/a", true, true},
		{"u", "both/a", false, true},
		{"u", "x/cmd/1", true, true}, // write-only filter inside a read-only one
		{"u", "x/cmd/1", false, true},
		{"u", "x/other", true, false},
		{"u", "$share/g/r/#", false, true},
		{"u", "$share/g/w/#", false, false},
		{"u", "elsewhere", false, false},
		{"none", "r/a", false, false},
		{"none", "r/a", true, false},
		{"root", "anything/at/all", true, true},
		{"root", "$SYS/broker/uptime", false, true},
		{"stranger", "r/a", false, false},
		{"", "r/a", false, false}, // anonymous, not allowed
	} {
		// Run each check many times: map order must not matter.
		for i := 0; i < 20; i++ {
			if got := h.allowed(client(tc.user), tc.topic, tc.write); got != tc.want {
				t.Fatalf("user %q topic %q write=%t: %t, want %t", tc.user, tc.topic, tc.write, got, tc.want)
			}
		}
	}

	anon := &authHook{acc: buildAccess(Config{AllowAnonymous: true})}
	if !anon.allowed(client(""), "any/topic", true) {
		t.Fatal("allowed anonymous client may not write")
	}
}

func TestUnshare(t *testing.T) {
	for in, want := range map[string]string{
		"$share/g/a/b": "a/b",
		"$SHARE/g/#":   "#",
		"$share/g":     "$share/g",
		"a/b":          "a/b",
		"$sharex/g/a":  "$sharex/g/a",
	} {
		if got := unshare(in); got != want {
			t.Errorf("unshare(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCollectLarge: only messages of at least 64 KiB count, and every 4 MiB of
// them the sender's goroutine collects once.
func TestCollectLarge(t *testing.T) {
	var runs []int64
	h := &authHook{}
	h.gc = func() { runs = append(runs, h.large.Load()) }
	for range 1000 {
		h.collectLarge(largeMessage - 1) // small: never counted
	}
	for range 63 {
		h.collectLarge(largeMessage)
	}
	if len(runs) != 0 || h.large.Load() != 63*largeMessage {
		t.Fatalf("after 63 large messages: collections %v, counted %d", runs, h.large.Load())
	}
	h.collectLarge(largeMessage) // the 64th makes 4 MiB
	h.collectLarge(1 << 20)
	if !slices.Equal(runs, []int64{0}) || h.large.Load() != 1<<20 {
		t.Fatalf("after 4 MiB: collections %v, counted %d", runs, h.large.Load())
	}
	for range 3 {
		h.collectLarge(1 << 20)
	}
	if !slices.Equal(runs, []int64{0, 0}) || h.large.Load() != 0 {
		t.Fatalf("after 8 MiB: collections %v, counted %d", runs, h.large.Load())
	}
}
