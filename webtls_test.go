package main

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// On its first start the hub makes its own certificate, serves the web app over
// HTTPS with it, and logs its fingerprint; the next start keeps it.
func TestHTTPSSelfSigned(t *testing.T) {
	_, args := setup(t)
	var fingerprints []string
	for range 2 {
		var log syncBuffer
		p := startHubLog(t, &log, args...)
		pem, err := os.ReadFile(filepath.Join(p.data, "tls", "cert.pem"))
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			t.Fatal("cert.pem holds no certificate")
		}
		// The certificate is checked, not skipped: it names 127.0.0.1.
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		resp, err := hc.Get("https://" + p.https + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		var h map[string]any
		err = json.NewDecoder(resp.Body).Decode(&h)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || len(h) != 1 || h["status"] != "ok" {
			t.Fatalf("https healthz: %d %v %v", resp.StatusCode, h, err)
		}
		m := regexp.MustCompile(`msg="https: [^"]*" sha256=([0-9A-F:]{95})`).FindStringSubmatch(log.String())
		if m == nil {
			t.Fatalf("no fingerprint in the log:\n%s", log.String())
		}
		sum := strings.ToUpper(strings.ReplaceAll(certSHA256(t, resp.TLS.PeerCertificates[0].Raw), ":", ""))
		if strings.ReplaceAll(m[1], ":", "") != sum {
			t.Fatalf("logged %s, served %s", m[1], sum)
		}
		fingerprints = append(fingerprints, m[1])
		p.stop(t)
	}
	if fingerprints[0] != fingerprints[1] {
		t.Fatalf("the certificate changed at the restart: %q", fingerprints)
	}
}

func certSHA256(t *testing.T, der []byte) string {
	t.Helper()
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}
