package sia

import (
	"fmt"
	"strconv"
	"strings"
)

// DCSEvent is one SIA DC-03 event, the payload of a SIA-DCS message:
// "#<acct>|N[ri<area>/]<code><zone>[^text^]", e.g. "#1234|Nri1/BA003" for a
// burglary alarm in zone 3 of area 1. "N" marks a new event, "ri" the area, the
// two letters the event, the digits after them the zone or, for open/close, the user.
type DCSEvent struct {
	Account string `json:"account,omitempty"` // "" leaves out "#acct|"
	Area    int    `json:"area,omitempty"`    // the "ri" modifier, 0–999; 0 = none
	Code    string `json:"code"`              // two letters A–Z, e.g. "BA"
	Zone    int    `json:"zone"`              // address 0–9999: zone, or user for OP/CL
	Text    string `json:"text,omitempty"`    // free text between carets
}

// Format returns the SIA-DCS data for e, e.g. "#1234|Nri1/BA003". The zone has at
// least three digits. Out-of-range fields give an error wrapping ErrInvalid.
func (e DCSEvent) Format() (string, error) {
	switch {
	case len(e.Code) != 2 || !isUpper(e.Code[0]) || !isUpper(e.Code[1]):
		return "", fmt.Errorf("%w: SIA code %q is not two letters A–Z", ErrInvalid, e.Code)
	case e.Area < 0 || e.Area > 999:
		return "", fmt.Errorf("%w: SIA area %d outside 0–999", ErrInvalid, e.Area)
	case e.Zone < 0 || e.Zone > 9999:
		return "", fmt.Errorf("%w: SIA zone %d outside 0–9999", ErrInvalid, e.Zone)
	case strings.ContainsAny(e.Text, "^[]\r\n"):
		return "", fmt.Errorf("%w: SIA text holds one of ^ [ ] CR LF", ErrInvalid)
	case e.Account != "" && !ValidAccount(e.Account):
		return "", fmt.Errorf("%w: account %q is not 3–16 hex digits", ErrInvalid, e.Account)
	}
	var b strings.Builder
	if e.Account != "" {
		b.WriteString("#" + e.Account + "|")
	}
	b.WriteByte('N')
	if e.Area > 0 {
		fmt.Fprintf(&b, "ri%d/", e.Area)
	}
	fmt.Fprintf(&b, "%s%03d", e.Code, e.Zone)
	if e.Text != "" {
		b.WriteString("^" + e.Text + "^")
	}
	return b.String(), nil
}

// ParseDCS parses SIA-DCS data. It reads the account ("#acct|", optional), the
// leading "N" (optional), modifiers of two lowercase letters and digits of which it
// keeps "ri" as Area, '/' separators, caret text, and the first event code with
// its zone; later event groups are ignored. Errors wrap ErrFormat.
func ParseDCS(data string) (DCSEvent, error) {
	var e DCSEvent
	s := data
	if strings.HasPrefix(s, "#") {
		bar := strings.IndexByte(s, '|')
		if bar < 0 {
			return e, fmt.Errorf("%w: SIA data %q: no '|' after the account", ErrFormat, data)
		}
		if !ValidAccount(s[1:bar]) {
			return e, fmt.Errorf("%w: SIA data %q: account is not 3–16 hex digits", ErrFormat, data)
		}
		e.Account, s = s[1:bar], s[bar+1:]
	} else {
		s = strings.TrimPrefix(s, "|")
	}
	if strings.HasPrefix(s, "N") {
		if err := e.parseGroups(s[1:]); err == nil {
			return e, nil
		}
		acct := e.Account
		e = DCSEvent{Account: acct}
	}
	if err := e.parseGroups(s); err != nil {
		return DCSEvent{}, fmt.Errorf("%w: SIA data %q: %v", ErrFormat, data, err)
	}
	return e, nil
}

func (e *DCSEvent) parseGroups(s string) error {
	digits := func(i int) int {
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		return j
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '/':
			i++
		case c == '^':
			j := strings.IndexByte(s[i+1:], '^')
			if j < 0 {
				return fmt.Errorf("text at %d not closed with '^'", i)
			}
			if e.Text == "" {
				e.Text = s[i+1 : i+1+j]
			}
			i += j + 2
		case isLower(c) && i+1 < len(s) && isLower(s[i+1]):
			mod := s[i : i+2]
			j := i + 2
			for j < len(s) && (isDigit(s[j]) || s[j] == ':') {
				j++
			}
			if mod == "ri" && e.Code == "" {
				v, err := strconv.Atoi(s[i+2 : j])
				if err != nil || v > 999 {
					return fmt.Errorf("area %q is not a number 0–999", s[i+2:j])
				}
				e.Area = v
			}
			i = j
		case isUpper(c) && i+1 < len(s) && isUpper(s[i+1]):
			j := digits(i + 2)
			if e.Code == "" {
				if j-(i+2) > 4 {
					return fmt.Errorf("zone %q has more than 4 digits", s[i+2:j])
				}
				e.Code = s[i : i+2]
				if j > i+2 {
					e.Zone, _ = strconv.Atoi(s[i+2 : j])
				}
			}
			i = j
		default:
			return fmt.Errorf("unexpected %q at %d", c, i)
		}
	}
	if e.Code == "" {
		return fmt.Errorf("no event code")
	}
	return nil
}

// Description names the event in words, e.g. "Burglary (zone 3)" for BA003, or
// "SIA event ZZ" for a code the table does not hold.
func (e DCSEvent) Description() string {
	ec, restore, ok := LookupSIA(e.Code)
	if !ok {
		return fmt.Sprintf("SIA event %s%s", e.Code, unitSuffix(false, e.Zone))
	}
	return ec.name(restore) + unitSuffix(ec.User, e.Zone)
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
