package storage

import (
	"encoding/json"
	"strconv"
	"time"

	"vakt/hub"
)

// appendEvent appends e's JSON to b: the same bytes as json.Marshal(e) (the tests
// compare the two), written without reflection, since the journal encodes every
// event it stores and reflection was a fifth of a commit's work at ingest rates.
// Rare shapes (refusal reasons, zone lists, clips, times outside years 0–9999) go through
// json.Marshal.
func appendEvent(b []byte, e *hub.Event) ([]byte, error) {
	if len(e.Reasons) > 0 || len(e.Zones) > 0 || e.Clip != nil || e.Time.Year() < 0 || e.Time.Year() > 9999 {
		v, err := json.Marshal(e)
		return append(b, v...), err
	}
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, e.Seq, 10)
	b = append(b, `,"time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","type":`...)
	b = appendString(b, string(e.Type))
	b = append(b, `,"class":`...)
	b = appendString(b, string(e.Class))
	b = appendField(b, `,"zone":`, e.Zone)
	b = appendField(b, `,"mode":`, string(e.Mode))
	b = appendField(b, `,"state":`, string(e.State))
	b = append(b, `,"who":{`...)
	w := &e.Who
	comma := false
	field := func(name, v string) {
		if v == "" {
			return
		}
		if comma {
			b = append(b, ',')
		}
		b = append(b, name...)
		b = appendString(b, v)
		comma = true
	}
	field(`"user_id":`, w.UserID)
	field(`"user_name":`, w.UserName)
	if w.UserNum != 0 {
		if comma {
			b = append(b, ',')
		}
		b = append(b, `"user_num":`...)
		b = strconv.AppendInt(b, int64(w.UserNum), 10)
		comma = true
	}
	field(`"device":`, w.Device)
	if comma {
		b = append(b, ',')
	}
	b = append(b, `"via":`...)
	b = appendString(b, string(w.Via))
	b = append(b, '}')
	b = appendField(b, `,"detail":`, e.Detail)
	if e.Silent {
		b = append(b, `,"silent":true`...)
	}
	return append(b, '}'), nil
}

// appendField appends name and the JSON string v, unless v is empty (omitempty).
func appendField(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	return appendString(append(b, name...), v)
}

// appendString appends s as a JSON string the way encoding/json writes it: plain
// printable ASCII as it is, anything else through json.Marshal (escapes, HTML
// characters, invalid UTF-8).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			v, _ := json.Marshal(s) // a string always encodes
			return append(b, v...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
