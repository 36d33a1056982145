package main

import (
	"reflect"
	"testing"
	"time"

	"vakt/ui/notify"
)

// The notify section: read whole, and every mistake in the error, without the
// URL (a webhook's path is its secret).
func TestBootNotify(t *testing.T) {
	f, err := parseBoot([]byte(`notify:
  name: Villa
  app_url: https://vakt.lan:8443
  trouble_after: 10m
  targets:
    - {name: phone, url: "http://ntfy.lan/vakt-alarm", format: ntfy, headers: {Authorization: "Bearer tk_x"}}
    - {name: ha, url: "http://ha.lan:8123/api/webhook/vakt-secret", events: [alarm, "class:fault", armed, disarmed]}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := notify.Config{Name: "Villa", AppURL: "https://vakt.lan:8443", TroubleAfter: 10 * time.Minute, Targets: []notify.Target{
		{Name: "phone", URL: "http://ntfy.lan/vakt-alarm", Format: "ntfy", Headers: map[string]string{"Authorization": "Bearer tk_x"}},
		{Name: "ha", URL: "http://ha.lan:8123/api/webhook/vakt-secret", Events: []string{"alarm", "class:fault", "armed", "disarmed"}},
	}}
	if !reflect.DeepEqual(f.Notify, want) {
		t.Errorf("notify %+v\nwant %+v", f.Notify, want)
	}
	_, err = parseBoot([]byte(`notify:
  targets:
    - {name: ha, url: "ftp://ha.lan/api/webhook/vakt-secret", format: xml, events: [silent_panic]}
`))
	const wantErr = `notify.targets[0]: url: scheme "ftp" is not http or https` + "\n" +
		`notify.targets[0]: format "xml" is not json or ntfy` + "\n" +
		`notify.targets[0]: events: "silent_panic" is silent and never notified`
	if err == nil || err.Error() != wantErr {
		t.Errorf("error %v\nwant %s", err, wantErr)
	}
	if _, err := parseBoot([]byte("notify:\n  targets:\n    - {name: a, url: 'http://x', retries: 3}\n")); err == nil {
		t.Error("an unknown key was accepted")
	}
}
