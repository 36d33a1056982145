// Package mosquittotest runs a real Mosquitto broker for tests: its own
// instance on a free loopback port, with a generated configuration, stopped at
// the end of the test. A test that needs it is skipped when the mosquitto
// binary is missing, unless the CI environment variable is set: there a
// missing broker is a failure (scripts/deps installs it).
package mosquittotest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options configure the broker.
type Options struct {
	// Users, name to password; none means anonymous clients are allowed.
	Users map[string]string
	// TLS makes the listener TLS only, with a certificate for 127.0.0.1 signed
	// by a CA generated for the test (Server.CAFile).
	TLS bool
}

// Server is a running Mosquitto.
type Server struct {
	t    testing.TB
	bin  string
	conf string
	port int
	log  string
	tls  bool
	// CAFile is the PEM file of the CA that signed the TLS listener's certificate.
	CAFile string

	mu   sync.Mutex
	cmd  *exec.Cmd
	exit chan struct{}
}

// binary finds mosquitto, which Debian installs in /usr/sbin (not on every PATH).
func binary() string {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Installed reports whether the mosquitto binary is here.
func Installed() bool { return binary() != "" }

// Start runs a broker for the rest of the test.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	bin := binary()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("mosquitto is not installed: CI must run scripts/deps first")
		}
		t.Skip("mosquitto is not installed (apt-get install mosquitto, or scripts/deps); skipping the external broker test")
	}
	dir := t.TempDir()
	s := &Server{t: t, bin: bin, conf: filepath.Join(dir, "mosquitto.conf"), log: filepath.Join(dir, "mosquitto.log")}
	var conf bytes.Buffer
	if len(opt.Users) == 0 {
		conf.WriteString("allow_anonymous true\n")
	} else {
		pw := filepath.Join(dir, "passwd")
		if err := os.WriteFile(pw, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		for u, p := range opt.Users {
			out, err := exec.Command(filepath.Join(filepath.Dir(bin), "..", "bin", "mosquitto_passwd"), "-b", pw, u, p).CombinedOutput()
			if err != nil {
				out, err = exec.Command("mosquitto_passwd", "-b", pw, u, p).CombinedOutput()
			}
			if err != nil {
				t.Fatalf("mosquitto_passwd: %v: %s", err, out)
			}
		}
		fmt.Fprintf(&conf, "allow_anonymous false\npassword_file %s\n", pw)
	}
	if os.Getuid() == 0 {
		// Run as root, mosquitto would switch to its own user, which cannot read
		// the test's files.
		conf.WriteString("user root\n")
	}
	if opt.TLS {
		s.tls = true
		s.CAFile = filepath.Join(dir, "ca.pem")
		cert, key := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")
		if err := writeCerts(s.CAFile, cert, key); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&conf, "certfile %s\nkeyfile %s\n", cert, key)
	}
	// As the README advises: without it, Mosquitto's Nagle's algorithm holds a
	// message to a client until the client's delayed ACK of the one before.
	conf.WriteString("set_tcp_nodelay true\n")
	fmt.Fprintf(&conf, "persistence false\nlog_dest file %s\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\nconnection_messages true\n", s.log)
	// A port picked free may be taken before mosquitto binds it: try a few.
	for attempt := 0; ; attempt++ {
		s.port = freePort(t)
		cfg := "per_listener_settings false\nlistener " + strconv.Itoa(s.port) + " 127.0.0.1\n" + conf.String()
		if err := os.WriteFile(s.conf, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		err := s.start()
		if err == nil {
			break
		}
		if attempt == 4 {
			t.Fatalf("mosquitto: %v", err)
		}
	}
	t.Cleanup(s.Stop)
	return s
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Addr is the broker's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL is the broker's tcp:// URL, or mqtts:// with TLS.
func (s *Server) URL() string {
	if s.tls {
		return "mqtts://" + s.Addr()
	}
	return "tcp://" + s.Addr()
}

// writeCerts writes a new CA and a server certificate for 127.0.0.1 signed by it.
func writeCerts(caFile, certFile, keyFile string) error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vakt test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caTmpl, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		path, typ string
		der       []byte
	}{{caFile, "CERTIFICATE", caDER}, {certFile, "CERTIFICATE", der}, {keyFile, "EC PRIVATE KEY", keyDER}} {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// Log returns what the broker logged so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

// start runs the broker and waits until it accepts connections.
func (s *Server) start() error {
	cmd := exec.Command(s.bin, "-c", s.conf)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exit := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exit) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-exit:
			return fmt.Errorf("exited at start: %s%s", stderr.Bytes(), s.Log())
		case <-time.After(20 * time.Millisecond): // polling the port: mosquitto has no readiness signal
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exit
			return fmt.Errorf("not listening on %s after 20 s", s.Addr())
		}
	}
	s.mu.Lock()
	s.cmd, s.exit = cmd, exit
	s.mu.Unlock()
	return nil
}

// Stop ends the broker (SIGTERM, then SIGKILL after 10 s) and waits for it.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exit := s.cmd, s.exit
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exit:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exit
	}
}

// Restart starts the stopped broker again on the same port.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("mosquitto restart: %v", err)
	}
}
