package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"vakt/hub"
	"vakt/sensors/zigbee"
	"vakt/ui/web"
)

// devicesCmd implements `vakt devices` (the Zigbee devices the running hub
// knows) and `vakt devices adopt` (bind one, hub stopped).
func devicesCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "adopt" {
		return adoptCmd(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "release" {
		return releaseCmd(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("vakt devices", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := dataFlag(fs)
	asJSON := fs.Bool("json", false, "print the hub's JSON document")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("devices: unexpected argument %q (vakt devices adopt IEEE -zone ID to bind one)", fs.Arg(0))
	}
	data, err := dir()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var body json.RawMessage
	if err := localGet(ctx, data, "/api/v1/devices", &body); err != nil {
		if errors.Is(err, errNotRunning) {
			return fmt.Errorf("devices: no hub answers on %s (is it running? -data names its data directory)", localSocket(data))
		}
		return fmt.Errorf("devices: %w", err)
	}
	if *asJSON {
		_, err := stdout.Write(body)
		return err
	}
	var doc struct {
		BaseTopic string                `json:"base_topic"`
		Devices   []zigbee.DeviceStatus `json:"devices"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return fmt.Errorf("devices: %w", err)
	}
	printDevices(stdout, doc.BaseTopic, doc.Devices)
	return nil
}

// printDevices writes the device list as a table, one device a line.
func printDevices(w io.Writer, base string, list []zigbee.DeviceStatus) {
	if len(list) == 0 {
		fmt.Fprintf(w, "No Zigbee devices: nothing in %s/bridge/devices (is Zigbee2MQTT connected?)\n", base)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "IEEE\tNAME\tMODEL\tPOWER\tPROPERTIES\tLAST SEEN\tAVAILABILITY\tBOUND TO")
	for _, d := range list {
		var props []string
		for _, p := range d.Binary {
			props = append(props, p.Name)
		}
		props = append(props, d.Numeric...)
		if len(d.Actions) > 0 {
			props = append(props, "action")
		}
		if d.Siren != "" {
			props = append(props, "siren:"+d.Siren)
		}
		var bound []string
		for _, z := range d.Zones {
			bound = append(bound, "zone "+z)
		}
		for _, o := range d.Outputs {
			bound = append(bound, "output "+o)
		}
		if d.Keypad != "" {
			bound = append(bound, "keypad "+d.Keypad)
		}
		seen, avail := "-", d.Availability
		if !d.LastSeen.IsZero() {
			seen = d.LastSeen.Local().Format(time.DateTime)
		}
		if d.Lost {
			avail = "lost"
		} else if !d.Ready {
			avail = "not ready" // no usable exposes until its interview succeeds
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.IEEE, d.FriendlyName, dash(strings.TrimSpace(d.Vendor+" "+d.Model)),
			dash(d.PowerSource), dash(strings.Join(props, ",")), seen, dash(avail), orDiscovered(strings.Join(bound, ", ")))
	}
	tw.Flush()
	for _, d := range list {
		if e := d.LastError; e != nil {
			fmt.Fprintf(w, "%s: Zigbee2MQTT error %s: %s\n", d.FriendlyName, e.At.Local().Format(time.DateTime), e.Message)
		}
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orDiscovered(s string) string {
	if s == "" {
		return "(discovered)"
	}
	return s
}

// adoptCmd binds a Zigbee device to a zone, an output or as a keypad: in the
// running hub (over its local socket, in force at once), or in the stored
// configuration when the hub is stopped.
func adoptCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "usage: vakt devices adopt IEEE (-zone ID [-property P] [-checkin DURATION] [-clear-after DURATION] | -output ID [-mode M] [-squawk] | -keypad ID) [-data DIR]"
	ieee, args, fs, data := deviceFlags("adopt", args, stderr)
	zone := fs.String("zone", "", "bind the device to this zone")
	out := fs.String("output", "", "bind the siren to this output")
	keypad := fs.String("keypad", "", "bind the keypad or remote under this keypad id")
	property := fs.String("property", "", "zone: the property that opens it (default: picked from the device)")
	checkin := fs.Duration("checkin", 0, "zone: the longest silence before the device is lost (default by power source)")
	mode := fs.String("mode", "", "output: the warning mode (default burglar)")
	clearAfter := fs.Duration("clear-after", 0, "zone: a motion or vibration sensor's clear rule: closed this long after its last detection when no clear comes")
	squawk := fs.Bool("squawk", false, "output: the siren chirps at arming and disarming")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if ieee == "" && fs.NArg() == 1 {
		ieee = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("devices adopt: unexpected argument %q; %s", fs.Arg(0), usage)
	}
	n := 0
	for _, s := range []string{*zone, *out, *keypad} {
		if s != "" {
			n++
		}
	}
	if ieee == "" || n != 1 {
		return errors.New(usage)
	}
	req := web.AdoptRequest{Zone: *zone, Property: *property, CheckIn: hub.Duration(*checkin), ClearAfter: hub.Duration(*clearAfter),
		Output: *out, Mode: *mode, Squawk: *squawk, Keypad: *keypad}
	var answer struct{ Message string }
	err := localDo(ctx, *data, "POST", "/api/v1/devices/"+url.PathEscape(strings.ToLower(ieee))+"/adopt", req, &answer)
	if err == nil {
		fmt.Fprintf(stdout, "%s, in force in the running hub\n", answer.Message)
		return nil
	}
	if !errors.Is(err, errNotRunning) {
		return fmt.Errorf("devices adopt: %w", err)
	}
	store, err := openStore(*data)
	if err != nil {
		return fmt.Errorf("devices adopt: %w", err)
	}
	defer store.Close()
	cfg, set, _, err := loadDomain(store)
	if err != nil {
		return err
	}
	var what string
	switch {
	case *zone != "":
		if !hasZone(cfg, *zone) {
			return fmt.Errorf("devices adopt: zone %q is not configured (add it with vakt config import)", *zone)
		}
		if set.Zigbee.Zones == nil {
			set.Zigbee.Zones = map[string]zigbee.ZoneBinding{}
		}
		set.Zigbee.Zones[*zone] = zigbee.ZoneBinding{IEEE: strings.ToLower(ieee), Property: *property, CheckIn: hub.Duration(*checkin),
			ClearAfter: hub.Duration(*clearAfter)}
		what = "zone " + *zone
	case *out != "":
		if !hasOutput(cfg, *out) {
			return fmt.Errorf("devices adopt: output %q is not configured (add it with vakt config import)", *out)
		}
		if set.Zigbee.Outputs == nil {
			set.Zigbee.Outputs = map[string]zigbee.OutputBinding{}
		}
		set.Zigbee.Outputs[*out] = zigbee.OutputBinding{IEEE: strings.ToLower(ieee), Mode: *mode, Squawk: *squawk}
		what = "output " + *out
	default:
		if set.Zigbee.Keypads == nil {
			set.Zigbee.Keypads = map[string]zigbee.KeypadBinding{}
		}
		set.Zigbee.Keypads[*keypad] = zigbee.KeypadBinding{IEEE: strings.ToLower(ieee)}
		what = "keypad " + *keypad
	}
	if err := validateDomain(cfg, set); err != nil {
		return fmt.Errorf("devices adopt: %w (nothing was changed)", err)
	}
	if err := saveDomain(store, cfg, set); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "adopted %s as %s\n", strings.ToLower(ieee), what)
	return nil
}

// deviceFlags takes the IEEE address before the flags, if it is there, and makes
// the flag set of vakt devices cmd with its -data.
func deviceFlags(cmd string, args []string, stderr io.Writer) (ieee string, rest []string, fs *flag.FlagSet, data *string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		ieee, args = args[0], args[1:]
	}
	fs = flag.NewFlagSet("vakt devices "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return ieee, args, fs, fs.String("data", "./vakt-data", "data directory")
}

// releaseCmd unbinds a Zigbee device from every zone, output and keypad it is
// bound to, in the running hub.
func releaseCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "usage: vakt devices release IEEE [-data DIR]"
	ieee, args, fs, data := deviceFlags("release", args, stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if ieee == "" || fs.NArg() > 0 {
		return errors.New(usage)
	}
	var answer struct{ Message string }
	err := localDo(ctx, *data, "DELETE", "/api/v1/devices/"+url.PathEscape(strings.ToLower(ieee))+"/binding", nil, &answer)
	if errors.Is(err, errNotRunning) {
		return fmt.Errorf("devices release: no hub answers on %s (with the hub stopped, drop the binding from the configuration and vakt config import -replace it)", localSocket(*data))
	}
	if err != nil {
		return fmt.Errorf("devices release: %w", err)
	}
	fmt.Fprintln(stdout, answer.Message)
	return nil
}

func hasZone(c hub.Config, id string) bool {
	for _, z := range c.Zones {
		if z.ID == id {
			return true
		}
	}
	return false
}

func hasOutput(c hub.Config, id string) bool {
	for _, o := range c.Outputs {
		if o.ID == id {
			return true
		}
	}
	return false
}
