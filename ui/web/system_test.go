package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vakt/hub"
	"vakt/storage"
)

// The tests run a real hub on a real store (bbolt in a temporary directory) behind
// a real HTTP server, with a clock that stands still unless the test moves it.

var t0 = time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)

var cheap = hub.HashParams{Memory: 64, Time: 1, Threads: 1}

type nopOutputs struct{}

func (nopOutputs) Set(hub.OutputKind, bool, bool) {}

type system struct {
	clock atomic.Int64
	h     *hub.Hub
	store *storage.Store
	web   *Server
	srv   *httptest.Server
	// restarts counts the restarts asked for by a restore.
	restarts atomic.Int32
}

func (s *system) now() time.Time { return time.Unix(0, s.clock.Load()).UTC() }

func (s *system) advance(d time.Duration) { s.clock.Add(int64(d)) }

func hash(t *testing.T, secret string) string {
	t.Helper()
	h, err := hub.HashSecret(secret, cheap)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// testConfig has three zones and three users: alice (admin, PIN 111111, duress
// 999111), bob (user, PIN 222222) and gus (guest), each with a web password of
// their name + "-pass".
func testConfig(t *testing.T) hub.Config {
	t.Helper()
	s := hub.DefaultSettings()
	s.ExitDelay = map[hub.Mode]hub.Duration{hub.ModeAway: hub.Duration(30 * time.Second), hub.ModeHome: 0, hub.ModeNight: 0, hub.ModeVacation: 0}
	s.EntryDelay = map[hub.Mode]hub.Duration{hub.ModeAway: hub.Duration(45 * time.Second), hub.ModeHome: hub.Duration(45 * time.Second),
		hub.ModeNight: hub.Duration(45 * time.Second), hub.ModeVacation: hub.Duration(45 * time.Second)}
	s.LockoutAttempts = 3
	return hub.Config{Settings: s,
		Zones: []hub.Zone{
			{ID: "door", Name: "Front door", Number: 1, Type: hub.ZoneEntryExit},
			{ID: "living", Name: "Living PIR", Number: 2, Type: hub.ZoneInstant},
			{ID: "=cmd", Name: "=HYPERLINK()", Number: 3, Type: hub.ZoneInstant},
		},
		Users: []hub.User{
			{ID: "alice", Name: "Alice", Number: 1, Role: hub.RoleAdmin, PINHash: hash(t, "111111"), DuressHash: hash(t, "999111"), PasswordHash: hash(t, "alice-pass")},
			{ID: "bob", Name: "Bob", Number: 2, Role: hub.RoleUser, PINHash: hash(t, "222222"), PasswordHash: hash(t, "bob-pass")},
			{ID: "gus", Name: "Gus", Number: 3, Role: hub.RoleGuest, PINHash: hash(t, "333333"), PasswordHash: hash(t, "gus-pass")},
		},
	}
}

// startSystem starts the system; with adjust, the test changes the hub's and the
// server's options before they are made.
func startSystem(t *testing.T, cfg hub.Config, adjust ...func(*hub.Options, *Options)) *system {
	t.Helper()
	store, err := storage.Open(filepath.Join(t.TempDir(), "vakt.db"), storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	s := &system{store: store}
	s.clock.Store(t0.UnixNano())
	hopt := hub.Options{Config: cfg, Journal: store, Outputs: nopOutputs{}, Now: s.now, Location: time.UTC}
	for _, f := range adjust {
		f(&hopt, nil)
	}
	s.h = hub.New(hopt)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.h.Run(ctx) })
	if err := s.h.Input(ctx, hub.Tick{}); err != nil {
		t.Fatal(err)
	}
	wopt := Options{Hub: s.h, Events: store, Now: s.now, SessionIdle: time.Hour,
		ExportConfig: func(w io.Writer) error { _, err := io.WriteString(w, "users: []\n"); return err },
		Backup:       store.Backup,
		Restore: func(r io.Reader, name string, _ hub.Actor) (string, error) {
			st, err := storage.StageRestore(store.Path(), r, func(b *storage.Store) error {
				if _, _, ok, err := b.LoadConfig(); err != nil || !ok {
					return fmt.Errorf("it holds no configuration (%v)", err)
				}
				return nil
			})
			if errors.Is(err, storage.ErrNotBackup) {
				return "", &hub.Error{Kind: hub.ErrInvalid, Msg: name + ": " + err.Error()}
			}
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%s staged (%d bytes)", name, st.Size), nil
		},
		Restart: func() { s.restarts.Add(1) },
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "vakt_test 1\n") }),
		Health: func() (int, map[string]any) {
			return http.StatusOK, map[string]any{"status": "ok", "state": s.h.Snapshot().State.Name}
		}}
	for _, f := range adjust {
		f(nil, &wopt)
	}
	s.web = New(wopt)
	wg.Go(func() { _ = s.web.Run(ctx) })
	s.srv = httptest.NewServer(s.web.Handler())
	t.Cleanup(func() {
		s.web.Close()
		s.srv.Close()
		cancel()
		wg.Wait()
	})
	return s
}

// client is a browser: a cookie jar and the CSRF token of its session.
type client struct {
	t    *testing.T
	s    *system
	hc   *http.Client
	csrf string
}

func (s *system) client(t *testing.T) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, s: s, hc: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// login logs in and keeps the CSRF token.
func (s *system) login(t *testing.T, user, password string) *client {
	t.Helper()
	c := s.client(t)
	var sv sessionView
	if code := c.do("POST", "/api/v1/session", map[string]string{"user": user, "password": password}, &sv); code != http.StatusOK {
		t.Fatalf("login %s: status %d", user, code)
	}
	c.csrf = sv.CSRF
	return c
}

// do sends a request with a JSON body (nil for none) and the CSRF token, and
// decodes the JSON answer into out (nil to ignore it). It returns the status.
func (c *client) do(method, path string, body any, out any) int {
	c.t.Helper()
	code, data := c.raw(method, path, body, "application/json", c.csrf)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return code
}

func (c *client) raw(method, path string, body any, contentType, csrf string) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		r = strings.NewReader(string(data))
	}
	req, err := http.NewRequest(method, c.s.srv.URL+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return res.StatusCode, data
}

// sse reads a server-sent event stream.
type sse struct {
	res *http.Response
	r   *bufio.Reader
}

type sseMsg struct {
	ID    string
	Event string
	Data  string
}

func (c *client) stream(lastID string) *sse {
	c.t.Helper()
	req, err := http.NewRequest("GET", c.s.srv.URL+"/api/v1/stream", nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	hc := *c.hc
	hc.Timeout = 0
	res, err := hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		c.t.Fatalf("stream: status %d", res.StatusCode)
	}
	c.t.Cleanup(func() { res.Body.Close() })
	return &sse{res: res, r: bufio.NewReader(res.Body)}
}

// next returns the next message, skipping comments; it fails the test after 10 s.
func (s *sse) next(t *testing.T) sseMsg {
	t.Helper()
	type result struct {
		m   sseMsg
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var m sseMsg
		for {
			line, err := s.r.ReadString('\n')
			if err != nil {
				ch <- result{err: err}
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				if m.Event != "" {
					ch <- result{m: m}
					return
				}
			case strings.HasPrefix(line, ":"):
			case strings.HasPrefix(line, "id: "):
				m.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				m.Event = line[7:]
			case strings.HasPrefix(line, "data: "):
				m.Data += line[6:]
			}
		}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("stream: %v", r.err)
		}
		return r.m
	case <-time.After(10 * time.Second):
		t.Fatal("stream: nothing for 10 s")
	}
	return sseMsg{}
}

// webOnly adjusts only the server's options.
func webOnly(f func(*Options)) func(*hub.Options, *Options) {
	return func(_ *hub.Options, o *Options) {
		if o != nil {
			f(o)
		}
	}
}
