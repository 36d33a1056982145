package receiver

import (
	"fmt"
	"strings"
	"time"

	"vakt/hub/uplink/sia"
)

// Event kinds.
const (
	KindMessage  = "message"  // a message was accepted and ACKed
	KindLost     = "lost"     // a supervised account stopped sending
	KindRestored = "restored" // a lost account sent again
)

// Event is what the receiver reports: an accepted (ACKed) message, or a change of an
// account's supervision state. It marshals to one JSON object per event (JSON lines).
type Event struct {
	Time    time.Time `json:"time"` // the receiver's clock
	Kind    string    `json:"kind"` // KindMessage, KindLost or KindRestored
	Account string    `json:"account"`

	// For KindMessage:
	Protocol  string `json:"protocol,omitempty"` // message ID: SIA-DCS, ADM-CID, NULL, …
	Encrypted bool   `json:"encrypted,omitempty"`
	Seq       int    `json:"seq"`
	Path      string `json:"path,omitempty"`   // "tcp" or "udp"
	Remote    string `json:"remote,omitempty"` // the sender's address
	// Duplicate marks a retransmission: the same message ID, sequence number and
	// data as the last message accepted from the account (its ACK was lost). It is
	// ACKed again but should be recorded once.
	Duplicate bool           `json:"duplicate,omitempty"`
	ContactID *sia.ContactID `json:"contact_id,omitempty"` // ADM-CID payload
	SIA       *sia.DCSEvent  `json:"sia,omitempty"`        // SIA-DCS payload
	Text      string         `json:"text,omitempty"`       // the event in words, or why the account was lost
	Message   sia.Message    `json:"message,omitzero"`
}

// String is the event in one human line, e.g.
//
//	2026-11-25T21:00:00Z acct 1234 tcp seq 0007 ADM-CID 1 130 01 003 Burglary (zone 3)
//	2026-11-25T21:00:00Z acct 1234 udp seq 0008 *SIA-DCS BA ri1 003 Burglary (zone 3) (duplicate)
//	2026-11-25T21:05:00Z account 1234 lost: no frame for 2m0s, polls expected every 1m0s
func (e Event) String() string {
	ts := e.Time.UTC().Format(time.RFC3339)
	switch e.Kind {
	case KindLost:
		return fmt.Sprintf("%s account %s lost: %s", ts, e.Account, e.Text)
	case KindRestored:
		return fmt.Sprintf("%s account %s restored", ts, e.Account)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s acct %s %s seq %04d ", ts, e.Account, e.Path, e.Seq)
	if e.Encrypted {
		b.WriteByte('*')
	}
	b.WriteString(e.Protocol)
	switch {
	case e.ContactID != nil:
		c := e.ContactID
		fmt.Fprintf(&b, " %d %03d %02d %03d", c.Qualifier, c.Code, c.Partition, c.Zone)
	case e.SIA != nil && e.SIA.Code == "":
		b.WriteString(" A") // a text-only message
	case e.SIA != nil:
		fmt.Fprintf(&b, " %s ri%d %03d", e.SIA.Code, e.SIA.Area, e.SIA.Zone)
	}
	if e.Text != "" {
		b.WriteString(" " + e.Text)
	}
	if e.Duplicate {
		b.WriteString(" (duplicate)")
	}
	return b.String()
}

// messageEvent describes an accepted message.
func messageEvent(m sia.Message, now time.Time, path, remote string) Event {
	e := Event{Time: now, Kind: KindMessage, Account: m.Account, Protocol: m.ID, Encrypted: m.Encrypted,
		Seq: m.Seq, Path: path, Remote: remote, Message: m}
	switch m.ID {
	case sia.IDADMCID:
		if c, err := sia.ParseContactID(m.Data); err == nil {
			e.ContactID, e.Text = &c, c.Description()
		}
	case sia.IDSIADCS:
		if d, err := sia.ParseDCS(m.Data); err == nil {
			e.SIA, e.Text = &d, d.Description()
		}
	case sia.IDNull:
		e.Text = "link test"
	}
	return e
}
