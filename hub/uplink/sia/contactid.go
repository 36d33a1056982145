package sia

import (
	"fmt"
	"strings"
)

// Contact ID qualifiers.
const (
	QualNew     = 1 // new event, or opening (disarm)
	QualRestore = 3 // restore, or closing (arm)
	QualStatus  = 6 // previously reported condition still present
)

// ContactID is one Contact ID event, the payload of an ADM-CID message:
// "#<acct>|QEEE GG ZZZ", e.g. "#1234|1130 01 003" for a burglary in zone 3 of area 1.
// The telephone format's message type (18/98) and check digit are not part of it.
type ContactID struct {
	Account   string `json:"account,omitempty"` // repeated from the header; "" leaves out "#acct|"
	Qualifier int    `json:"qualifier"`         // QualNew, QualRestore or QualStatus
	Code      int    `json:"code"`              // event code 0–999, e.g. 130
	Partition int    `json:"partition"`         // area 0–99; 0 = system-wide
	Zone      int    `json:"zone"`              // zone 0–999, or the user for open/close and duress
}

// Format returns the ADM-CID data for c, e.g. "#1234|1130 01 003". Out-of-range
// fields give an error wrapping ErrInvalid.
func (c ContactID) Format() (string, error) {
	switch {
	case c.Qualifier != QualNew && c.Qualifier != QualRestore && c.Qualifier != QualStatus:
		return "", fmt.Errorf("%w: Contact ID qualifier %d, want 1, 3 or 6", ErrInvalid, c.Qualifier)
	case c.Code < 0 || c.Code > 999:
		return "", fmt.Errorf("%w: Contact ID event code %d outside 0–999", ErrInvalid, c.Code)
	case c.Partition < 0 || c.Partition > 99:
		return "", fmt.Errorf("%w: Contact ID partition %d outside 0–99", ErrInvalid, c.Partition)
	case c.Zone < 0 || c.Zone > 999:
		return "", fmt.Errorf("%w: Contact ID zone %d outside 0–999", ErrInvalid, c.Zone)
	case c.Account != "" && !ValidAccount(c.Account):
		return "", fmt.Errorf("%w: account %q is not 3–16 hex digits", ErrInvalid, c.Account)
	}
	s := fmt.Sprintf("%d%03d %02d %03d", c.Qualifier, c.Code, c.Partition, c.Zone)
	if c.Account != "" {
		s = "#" + c.Account + "|" + s
	}
	return s, nil
}

// ParseContactID parses ADM-CID data: "#acct|QEEE GG ZZZ", also without the
// "#acct" or without the spaces ("QEEEGGZZZ"). Errors wrap ErrFormat.
func ParseContactID(data string) (ContactID, error) {
	var c ContactID
	s := data
	if strings.HasPrefix(s, "#") {
		bar := strings.IndexByte(s, '|')
		if bar < 0 {
			return c, fmt.Errorf("%w: Contact ID %q: no '|' after the account", ErrFormat, data)
		}
		if !ValidAccount(s[1:bar]) {
			return c, fmt.Errorf("%w: Contact ID %q: account is not 3–16 hex digits", ErrFormat, data)
		}
		c.Account, s = s[1:bar], s[bar+1:]
	} else {
		s = strings.TrimPrefix(s, "|")
	}
	if len(s) == 11 && s[4] == ' ' && s[7] == ' ' {
		s = s[:4] + s[5:7] + s[8:]
	}
	if len(s) != 9 {
		return c, fmt.Errorf("%w: Contact ID %q is not QEEE GG ZZZ", ErrFormat, data)
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return c, fmt.Errorf("%w: Contact ID %q is not QEEE GG ZZZ", ErrFormat, data)
		}
	}
	num := func(p string) int {
		n := 0
		for i := 0; i < len(p); i++ {
			n = n*10 + int(p[i]-'0')
		}
		return n
	}
	c.Qualifier, c.Code, c.Partition, c.Zone = num(s[:1]), num(s[1:4]), num(s[4:6]), num(s[6:9])
	if c.Qualifier != QualNew && c.Qualifier != QualRestore && c.Qualifier != QualStatus {
		return c, fmt.Errorf("%w: Contact ID %q: qualifier %d, want 1, 3 or 6", ErrFormat, data, c.Qualifier)
	}
	return c, nil
}

// Description names the event in words with its zone or user, e.g. "Burglary
// (zone 3)", "Burglary restore (zone 3)", "Armed by user (user 5)", or
// "Unknown event 999" for a code the table does not hold.
func (c ContactID) Description() string {
	ec, ok := LookupCID(c.Code)
	if !ok {
		return fmt.Sprintf("Unknown event %03d%s", c.Code, unitSuffix(false, c.Zone))
	}
	name := ec.name(c.Qualifier == QualRestore)
	if c.Qualifier == QualStatus {
		name += " (still present)"
	}
	return name + unitSuffix(ec.User, c.Zone)
}

// DCS converts c to the SIA DC-03 event with the same meaning, using the built-in
// table; see EventCode.DCS for a different mapping.
func (c ContactID) DCS() (DCSEvent, error) {
	ec, ok := LookupCID(c.Code)
	if !ok {
		return DCSEvent{}, fmt.Errorf("%w: Contact ID event %03d has no SIA code in the table", ErrInvalid, c.Code)
	}
	return ec.DCS(c)
}

func unitSuffix(user bool, n int) string {
	switch {
	case n == 0:
		return ""
	case user:
		return fmt.Sprintf(" (user %d)", n)
	}
	return fmt.Sprintf(" (zone %d)", n)
}
