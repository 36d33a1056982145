// The boot configuration file (listen addresses, data directory, MQTT users, the
// uplink: what the hub needs before it can open its store), and the domain
// configuration as YAML for `vakt config export|import`.

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"

	"vakt/hub"
	"vakt/hub/uplink"
	"vakt/sensors/binding"
	"vakt/sensors/mqttclient"
	"vakt/storage"
	"vakt/ui/notify"
)

// bootFile is the boot configuration. Flags override its fields.
type bootFile struct {
	Data string `yaml:"data"` // data directory, default ./vakt-data
	HTTP string `yaml:"http"` // web listener, default :8080; "off" for none
	// HTTPS is the web listener with TLS, default :8443; "off" for none. Without
	// HTTPSCert and HTTPSKey (PEM files) the hub makes its own certificate.
	HTTPS     string   `yaml:"https"`
	HTTPSCert string   `yaml:"https_cert"`
	HTTPSKey  string   `yaml:"https_key"`
	Timezone  string   `yaml:"timezone"`  // IANA name for guest schedules; default the system's
	LogLevel  string   `yaml:"log_level"` // debug, info, warn, error
	MQTT      bootMQTT `yaml:"mqtt"`
	// Uplink is the monitoring centre's receivers; none means no uplink.
	Uplink uplink.Config `yaml:"uplink"`
	// Video is the cameras and alarm clips.
	Video bootVideo `yaml:"video"`
	// Notify is the push services and webhooks told of events.
	Notify notify.Config `yaml:"notify"`
}

// bootMQTT configures the embedded broker, or the external one used instead, and
// Vakt's topics.
type bootMQTT struct {
	// Broker, when set, is an existing broker to use instead of the embedded one
	// (tcp://host:1883, mqtts://host:8883); the embedded broker is not started.
	Broker                   string `yaml:"broker"`
	BrokerUsername           string `yaml:"broker_username"`
	BrokerPassword           string `yaml:"broker_password"`
	BrokerCAFile             string `yaml:"broker_ca_file"`              // PEM; default the system's CAs
	BrokerInsecureSkipVerify bool   `yaml:"broker_insecure_skip_verify"` // accept any certificate
	BrokerClientID           string `yaml:"broker_client_id"`            // default "vakt"

	Listen         string         `yaml:"listen"`     // default :1883; "off" disables
	TLSListen      string         `yaml:"tls_listen"` // optional
	TLSCert        string         `yaml:"tls_cert"`
	TLSKey         string         `yaml:"tls_key"`
	WSListen       string         `yaml:"ws_listen"` // optional websocket listener
	AllowAnonymous bool           `yaml:"allow_anonymous"`
	Users          []bootMQTTUser `yaml:"users"`
	BaseTopic      string         `yaml:"base_topic"` // Vakt's own topics, default "vakt"
	// ZigbeeBaseTopic is Zigbee2MQTT's base topic, default "zigbee2mqtt".
	ZigbeeBaseTopic string `yaml:"zigbee_base_topic"`
	// Limits of the broker; 0 means the broker's default.
	MaxRetainedBytes        int `yaml:"max_retained_bytes"`
	MaxRetainedMessageBytes int `yaml:"max_retained_message_bytes"`
	MaxClientQueueMessages  int `yaml:"max_client_queue_messages"`
	MaxClientQueueBytes     int `yaml:"max_client_queue_bytes"`
}

// bootMQTTUser is a broker account with its topic ACL.
type bootMQTTUser struct {
	Name     string   `yaml:"name"`
	Password string   `yaml:"password"`
	Read     []string `yaml:"read"`
	Write    []string `yaml:"write"`
	Admin    bool     `yaml:"admin"`
}

// bootDefaults returns the configuration used with no file.
func bootDefaults() bootFile {
	return bootFile{Data: "./vakt-data", HTTP: ":8080", HTTPS: ":8443", LogLevel: "info",
		MQTT: bootMQTT{Listen: ":1883", BaseTopic: "vakt"}}
}

// loadBoot reads a boot configuration file over the defaults. Unknown keys are errors, so
// a typo never silently leaves a default in place.
func loadBoot(path string) (bootFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return bootDefaults(), fmt.Errorf("config %s: %w", path, err)
	}
	f, err := parseBoot(b)
	if err != nil {
		return f, fmt.Errorf("config %s: %w", path, err)
	}
	return f, nil
}

// parseBoot decodes a boot configuration over the defaults and validates it.
func parseBoot(b []byte) (bootFile, error) {
	f := bootDefaults()
	if err := decodeStrict(b, &f); err != nil {
		return f, err
	}
	if err := f.Validate(); err != nil {
		return f, err
	}
	return f, nil
}

// decodeStrict decodes YAML into v; unknown keys are errors.
func decodeStrict(b []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// Validate checks the fields that can be checked without opening anything.
func (f bootFile) Validate() error {
	var errs []error
	names := map[string]bool{}
	for i, u := range f.MQTT.Users {
		if u.Name == "" || u.Password == "" {
			errs = append(errs, fmt.Errorf("mqtt.users[%d]: name and password are required", i))
		}
		if names[u.Name] {
			errs = append(errs, fmt.Errorf("mqtt.users[%d]: duplicate user %q", i, u.Name))
		}
		names[u.Name] = true
	}
	if (f.MQTT.TLSListen != "") != (f.MQTT.TLSCert != "" && f.MQTT.TLSKey != "") {
		errs = append(errs, fmt.Errorf("mqtt: tls_listen needs tls_cert and tls_key, and they need tls_listen"))
	}
	if (f.HTTPSCert != "") != (f.HTTPSKey != "") {
		errs = append(errs, fmt.Errorf("https_cert and https_key go together"))
	}
	if f.HTTP == "off" && f.HTTPS == "off" {
		errs = append(errs, fmt.Errorf("http and https are both off: nobody could reach the hub"))
	}
	errs = append(errs, f.MQTT.validateBroker()...)
	errs = append(errs, f.Video.validate()...)
	if err := f.Notify.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(f.Uplink.Paths) > 0 {
		if err := f.Uplink.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	switch f.LogLevel {
	case "", "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level %q is not debug, info, warn or error", f.LogLevel))
	}
	return errors.Join(errs...)
}

// validateBroker checks the external broker's keys.
func (m bootMQTT) validateBroker() []error {
	if m.Broker == "" {
		if m.BrokerUsername != "" || m.BrokerPassword != "" || m.BrokerCAFile != "" || m.BrokerInsecureSkipVerify || m.BrokerClientID != "" {
			return []error{errors.New("mqtt: broker_username, broker_password, broker_ca_file, broker_insecure_skip_verify and broker_client_id need mqtt.broker")}
		}
		return nil
	}
	var errs []error
	_, useTLS, err := mqttclient.ParseURL(m.Broker)
	if err != nil {
		errs = append(errs, fmt.Errorf("mqtt.broker: %w", err))
	} else if !useTLS && (m.BrokerCAFile != "" || m.BrokerInsecureSkipVerify) {
		errs = append(errs, errors.New("mqtt: broker_ca_file and broker_insecure_skip_verify need a TLS broker (mqtts://, ssl:// or tls://)"))
	}
	if m.BrokerPassword != "" && m.BrokerUsername == "" {
		errs = append(errs, errors.New("mqtt: broker_password needs broker_username"))
	}
	if len(m.Users) > 0 || m.AllowAnonymous || m.TLSListen != "" || m.WSListen != "" {
		errs = append(errs, errors.New("mqtt: users, allow_anonymous, tls_listen and ws_listen configure the embedded broker, which is not started when mqtt.broker is set"))
	}
	return errs
}

// readDomain parses a domain configuration exported by writeDomain (or written by an
// installer) and validates it.
func readDomain(r io.Reader) (hub.Config, binding.Set, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return hub.Config{}, binding.Set{}, fmt.Errorf("read: %w", err)
	}
	c, set, _, err := parseDomain(b)
	return c, set, err
}

// errEmptyDomain is the error of a domain configuration with nothing in it.
var errEmptyDomain = errors.New("the file is empty: it holds no settings, zones, users or outputs")

// parseDomain decodes and validates a domain configuration: the hub's part and the
// adapters' bindings of its zones and outputs. hasUsers tells whether the file has
// a users section at all (an import without one keeps the stored users). An empty
// document is an error.
func parseDomain(b []byte) (c hub.Config, set binding.Set, hasUsers bool, err error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return c, set, false, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
		return c, set, false, errEmptyDomain
	}
	if top := doc.Content[0]; top.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(top.Content); i += 2 {
			hasUsers = hasUsers || top.Content[i].Value == "users"
		}
	}
	var f binding.File
	if err := decodeStrict(b, &f); err != nil {
		return c, set, false, err
	}
	c, set = f.Split()
	c.Settings = c.Settings.WithDefaults()
	if err := validateDomain(c, set); err != nil {
		return c, set, false, err
	}
	return c, set, hasUsers, nil
}

// validateDomain checks a configuration and its bindings and returns every problem
// found, joined.
func validateDomain(c hub.Config, set binding.Set) error {
	return errors.Join(c.Validate(), set.Validate(c))
}

// writeDomain writes a domain configuration with its bindings as YAML. Secrets
// appear only as argon2id hashes.
func writeDomain(w io.Writer, c hub.Config, set binding.Set) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(binding.Join(c, set)); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	return enc.Close()
}

// loadDomain returns the stored domain configuration and bindings; ok is false when
// none was ever saved.
func loadDomain(store *storage.Store) (c hub.Config, set binding.Set, ok bool, err error) {
	c, raw, ok, err := store.LoadConfig()
	if err != nil {
		return c, set, false, err
	}
	if set, err = binding.Unmarshal(raw); err != nil {
		return c, set, false, fmt.Errorf("stored bindings in %s: %w", store.Path(), err)
	}
	return c, set, ok, nil
}

// saveDomain stores a domain configuration and its bindings in one transaction.
func saveDomain(store *storage.Store, c hub.Config, set binding.Set) error {
	raw, err := set.Marshal()
	if err != nil {
		return err
	}
	return store.SaveConfig(c, raw)
}
