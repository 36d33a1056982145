package web

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"vakt/hub"
)

// dirClips is a clip store of the files in a directory, known by name only.
type dirClips struct {
	dir   string
	names []string
}

func (d dirClips) Open(name string) (*os.File, error) {
	for _, n := range d.names {
		if n == name {
			return os.Open(filepath.Join(d.dir, n))
		}
	}
	return nil, fmt.Errorf("%q: %w", name, fs.ErrNotExist)
}

// A clip is served to users and tokens that may read, with Range requests, as
// video/mp4; a guest and the anonymous get nothing; a name the store does not
// know (a pruned clip, a path) is 404.
func TestClipServed(t *testing.T) {
	dir := t.TempDir()
	clip := bytes.Repeat([]byte("0123456789"), 1000)
	if err := os.WriteFile(filepath.Join(dir, "porch_1.mp4"), clip, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(t.TempDir(), "secret.mp4"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startSystem(t, testConfig(t), func(_ *hub.Options, w *Options) {
		if w != nil {
			w.Clips = dirClips{dir: dir, names: []string{"porch_1.mp4"}}
		}
	})
	get := func(c *client, path, rng string) (int, http.Header, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", s.srv.URL+path, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		if c == nil {
			c = s.client(t)
		}
		res, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, b
	}
	a := s.login(t, "alice", "alice-pass")
	code, h, body := get(a, "/api/v1/clips/porch_1.mp4", "")
	if code != 200 || h.Get("Content-Type") != "video/mp4" || !bytes.Equal(body, clip) || h.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("whole clip: %d %v %d bytes", code, h, len(body))
	}
	code, h, body = get(a, "/api/v1/clips/porch_1.mp4", "bytes=100-199")
	if code != http.StatusPartialContent || h.Get("Content-Range") != "bytes 100-199/10000" || !bytes.Equal(body, clip[100:200]) {
		t.Fatalf("range: %d %v %q", code, h, body)
	}
	for _, p := range []string{"/api/v1/clips/other.mp4", "/api/v1/clips/..%2Fsecret.mp4", "/api/v1/clips/%2E%2E%2F%2E%2E%2Fvakt.db"} {
		if code, _, _ := get(a, p, ""); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, code)
		}
	}
	if code, _, _ := get(nil, "/api/v1/clips/porch_1.mp4", ""); code != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", code)
	}
	if code, _, _ := get(s.login(t, "gus", "gus-pass"), "/api/v1/clips/porch_1.mp4", ""); code != http.StatusForbidden {
		t.Errorf("guest: %d", code)
	}
}
