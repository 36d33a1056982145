package main

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"vakt/ui/web"
	"vakt/ui/webrtc"
)

// The live view's keys: read whole into the WHEP server's configuration, and
// each bad value refused with what is wrong.
func TestBootVideoLive(t *testing.T) {
	f, err := parseBoot([]byte("video:\n  media_listen: 0.0.0.0:50000\n  public_addresses: [203.0.113.7]\n  ice_servers:\n" +
		"    - urls: [\"stun:stun.example.net:3478\"]\n" +
		"    - {urls: [\"turn:turn.example.net:3478?transport=udp\"], username: vakt, credential: s3cret}\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := f.Video.liveConfig()
	if got.Authorize == nil {
		t.Fatal("no Authorize: the server would refuse every viewer")
	}
	got.Authorize = nil
	want := webrtc.Config{BasePath: web.CamerasBase, UDPAddr: "0.0.0.0:50000", PublicIPs: []string{"203.0.113.7"},
		ICEServers: []webrtc.ICEServer{{URLs: []string{"stun:stun.example.net:3478"}},
			{URLs: []string{"turn:turn.example.net:3478?transport=udp"}, Username: "vakt", Credential: "s3cret"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	for _, tc := range []struct{ body, err string }{
		{"video:\n  media_listen: 8189\n", `video.media_listen "8189": address 8189: missing port in address (want address:port, e.g. 0.0.0.0:8189)`},
		{"video:\n  media_listen: \":http\"\n", `video.media_listen ":http": port "http" is not a number from 0 to 65535`},
		{"video:\n  media_listen: \"router:8189\"\n", `video.media_listen "router:8189": "router" is not an IP address`},
		{"video:\n  public_addresses: [my.router.net]\n", `video.public_addresses[0]: "my.router.net" is not an IPv4 address`},
		{"video:\n  ice_servers:\n    - {urls: []}\n", "video.ice_servers[0]: urls is empty"},
		{"video:\n  max_views: -1\n", "video.max_views -1 is not between 1 and 256 (0: the default, 16)"},
		{"video:\n  max_views_per_viewer: 300\n", "video.max_views_per_viewer 300 is not between 1 and 256 (0: the default, 4)"},
		{"video:\n  ice_servers:\n    - {urls: [\"http://stun.example.net\"]}\n", `video.ice_servers[0]: "http://stun.example.net": the scheme must be stun, turn or turns`},
		{"video:\n  ice_servers:\n    - {urls: [\"turn:turn.example.net\"]}\n", `video.ice_servers[0]: "turn:turn.example.net": a TURN server needs a username and a credential`},
	} {
		_, err := parseBoot([]byte(tc.body))
		if err == nil || err.Error() != tc.err {
			t.Errorf("%q:\n got %v\nwant %s", tc.body, err, tc.err)
		}
	}
}

// The running side lists each camera with its zones and state for the web app,
// and its live view opens the media port and closes it again.
func TestVideoSideCameraList(t *testing.T) {
	v := bootVideo{MediaListen: "127.0.0.1:0", Cameras: []bootCamera{
		{Name: "porch", URL: "rtsp://127.0.0.1:1/a", AlwaysOn: true, Zones: []string{"door"}},
		{Name: "yard", URL: "rtsp://127.0.0.1:1/b"},
	}}
	vs, err := newVideoSide(v, t.TempDir(), map[string]bool{"door": true}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer vs.closeLive()
	want := []web.Camera{{Name: "porch", Zones: []string{"door"}, AlwaysOn: true, State: web.CameraIdle}, {Name: "yard", State: web.CameraIdle}}
	if got := vs.cameraList(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if addr := vs.live.UDPAddr().String(); !strings.HasPrefix(addr, "127.0.0.1:") || addr == "127.0.0.1:0" {
		t.Fatalf("media port %s", addr)
	}
}
