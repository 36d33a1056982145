package hub

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"testing/synctest"
	"time"
)

// Authenticate, the web login's check: the right PIN gives its user and records
// nothing; a duress code (recorded as a wrong PIN: a login cannot act on it
// silently, and the log must not tell it apart), a wrong code and a user outside
// its schedule are refused and recorded as a command's would be; an empty
// credential is refused unrecorded.
func TestHubAuthenticate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, j, _ := runHubWith(t, Options{Config: hubConfig(t), Verifier: &Verifier{}})
		ctx := context.Background()
		t0 := time.Now().UTC()
		gus := h.Snapshot().Config.Users[2]
		var got []string
		for _, r := range []Request{
			{Cred: Credential{Code: "111111"}, Via: ViaWeb, Device: "10.0.0.9"},
			{Cred: Credential{Code: "999111"}, Via: ViaWeb, Device: "10.0.0.9"},
			{Cred: Credential{Code: "000000"}, Via: ViaWeb, Device: "10.0.0.9"},
			{Via: ViaWeb, Device: "10.0.0.9"},
			{Trusted: &gus, Via: ViaWeb, Device: "10.0.0.7"},
		} {
			u, err := h.Authenticate(ctx, r)
			got = append(got, fmt.Sprintf("%s %s %v", u.ID, KindOf(err), err))
		}
		want := []string{
			"alice  <nil>",
			" bad_code wrong code",
			" bad_code wrong code",
			" bad_code a code is required",
			" denied user Gus may not operate the system now",
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("answers\n%q\nwant\n%q", got, want)
		}
		synctest.Wait()
		web := Actor{Device: "10.0.0.9", Via: ViaWeb}
		events, _, _ := j.stored()
		wantEvents := []Event{
			restartEvent(t0),
			{Seq: 2, Time: t0, Type: EvCodeRejected, Class: ClassTamper, State: Disarmed, Who: web, Detail: "wrong PIN"},
			{Seq: 3, Time: t0, Type: EvCodeRejected, Class: ClassTamper, State: Disarmed, Who: web, Detail: "wrong PIN"},
			{Seq: 4, Time: t0, Type: EvAccessDenied, Class: ClassArming, State: Disarmed,
				Who: Actor{UserID: "gus", UserName: "Gus", UserNum: 3, Device: "10.0.0.7", Via: ViaWeb}, Detail: "schedule: outside schedule or expired"},
		}
		if !reflect.DeepEqual(events, wantEvents) {
			t.Errorf("events\n%+v\nwant\n%+v", events, wantEvents)
		}
	})
}
