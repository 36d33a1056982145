package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"vakt/sensors/mqttclient/mosquittotest"
)

// figurePathMosquitto: figure 1 with the hub using Mosquitto instead of its
// embedded broker (mqtt.broker), against Mosquitto's own client-to-client round
// trip. The path crosses the broker twice, as the baseline does.
func figurePathMosquitto(t *testing.T, n int, row func(...string)) {
	srv := mosquittotest.Start(t, mosquittotest.Options{Users: map[string]string{
		"vakt": "hub-pass", "tester": "tester-pass", "zigbee2mqtt": "z2m-pass"}})
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	boot := filepath.Join(dir, "vakt.yaml")
	domain := filepath.Join(dir, "domain.yaml")
	bootText := fmt.Sprintf("mqtt:\n  broker: %s\n  broker_username: vakt\n  broker_password: hub-pass\n", srv.URL())
	if err := os.WriteFile(boot, []byte(bootText), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(domain, []byte(figureDomain(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"config", "import", "-data", data, domain}, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	cmd, _, _ := startHubChild(t, "-config", boot, "-data", data, "-http", "127.0.0.1:0", "-https", "127.0.0.1:0")
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	// "online" is published once every subscription is made again.
	c := dialMQTT(t, srv.Addr(), "tester", "tester-pass")
	c.sub(t, "vakt/status")
	c.waitFor(t, "vakt/status", "online")

	base, path := pathSamples(t, &hubProc{data: data, mqtt: srv.Addr()}, n)
	row("zone message → siren ON via Mosquitto (mqtt.broker)", fmt.Sprintf("p50 %s, p99 %s, max %s, n %d", us(path.q(0.5)), us(path.q(0.99)), us(path.q(1)), n),
		fmt.Sprintf("Mosquitto round trip p50 %s, p99 %s", us(base.q(0.5)), us(base.q(0.99))),
		fmt.Sprintf("%.2f×", float64(path.q(0.5))/float64(base.q(0.5))))
}
