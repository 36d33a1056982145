package web

import (
	"io"
	"net/http"
	"testing"

	"vakt/hub"
)

// The operator page is mounted under /operator/ without a session; the rest
// of the app still wants one.
func TestOperatorMountedWithoutSession(t *testing.T) {
	s := startSystem(t, testConfig(t), func(_ *hub.Options, w *Options) {
		if w != nil {
			w.Operator = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, r.Method+" "+r.URL.Path)
			})
		}
	})
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/operator/tok123", "GET /operator/tok123"},
		{"GET", "/operator/tok123/clips/a.mp4", "GET /operator/tok123/clips/a.mp4"},
		{"POST", "/operator/tok123/x", "POST /operator/tok123/x"},
	} {
		req, _ := http.NewRequest(tc.method, s.srv.URL+tc.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || string(b) != tc.want {
			t.Errorf("%s %s: %d %q", tc.method, tc.path, res.StatusCode, b)
		}
	}
	res, err := http.Get(s.srv.URL + "/api/v1/events")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("events without a session: %d", res.StatusCode)
	}
}
