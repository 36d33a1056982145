package sia

import (
	"fmt"
	"strconv"
	"strings"
)

// DCSEvent is one SIA DC-03 event, the payload of a SIA-DCS message:
// "#<acct>|N[ti<hh:mm>/][id<user>/][ri<area>/]<code><number>[^text^]", e.g.
// "#1234|Nri1/BA003" for a burglary alarm in zone 3 of area 1. "N" marks a new
// event, "ti" the time it happened, "id" the user, "ri" the area, the two letters
// the event. What the number after the letters means depends on the code
// (NumberOf): a zone (BA003), a user (CL005, OP005) or an area (CG001, OA001).
type DCSEvent struct {
	Account string `json:"account,omitempty"` // "" leaves out "#acct|"
	Area    int    `json:"area,omitempty"`    // the "ri" modifier, or the number of an area code; 0–999, 0 = none
	Code    string `json:"code"`              // two letters A–Z, e.g. "BA"; "" for a text-only message
	Zone    int    `json:"zone"`              // the number of a zone or user code, 0–9999: zone, or user for OP/CL
	User    int    `json:"user,omitempty"`    // the "id" modifier, 0–9999; 0 = none
	Time    string `json:"time,omitempty"`    // the "ti" modifier: when it happened, "hh:mm" or "hh:mm:ss"
	Text    string `json:"text,omitempty"`    // caret text ^…^, or an ASCII text block (A…, |A…, *"…")
}

// Number says what the number after a SIA event code counts.
type Number int

// Kinds of number.
const (
	NumberZone Number = iota // a zone (point) — most codes
	NumberUser               // a user: openings, closings, cancels, user changes
	NumberArea               // an area (partition): area closings, forced arming, verified alarm
)

// userCodes and areaCodes are the SIA DC-03 codes whose number field is a user or
// an area; every other code's number is a zone.
var (
	userCodes = codeSet("BC CE CF CJ CK CL CP CQ CR DA DB EE JD JH JK JP JS JT JV JX JY JZ " +
		"OC OH OJ OK OL OP OQ OR OT RX")
	areaCodes = codeSet("BV CA CD CG CI CT CW FI FK JA JR NF NL NM OA OG OI")
)

func codeSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(s) {
		m[c] = true
	}
	return m
}

// NumberOf says whether the number after the SIA code is a zone, a user or an
// area, per the DC-03 code list: e.g. BA zone, CL user, CG area.
func NumberOf(code string) Number {
	switch {
	case userCodes[code]:
		return NumberUser
	case areaCodes[code]:
		return NumberArea
	}
	return NumberZone
}

// Format returns the SIA-DCS data for e, e.g. "#1234|Nri1/BA003", or
// "#1234|Nti15:02/id5/CG001" (CG: the number is the area, so no "ri"). The number
// has at least three digits. Out-of-range fields give an error wrapping ErrInvalid.
func (e DCSEvent) Format() (string, error) {
	kind := NumberOf(e.Code)
	if e.Code == "" && e.Text != "" && e.Area == 0 && e.Zone == 0 && e.User == 0 && e.Time == "" {
		// A text-only message: an ASCII block.
		if err := checkText(e.Text); err != nil || strings.ContainsAny(e.Text, "[]|") {
			return "", fmt.Errorf("%w: SIA text must be printable ASCII without [ ] |", ErrInvalid)
		}
		if e.Account != "" && !ValidAccount(e.Account) {
			return "", fmt.Errorf("%w: account %q is not 3–16 hex digits", ErrInvalid, e.Account)
		}
		if e.Account != "" {
			return "#" + e.Account + "|A" + e.Text, nil
		}
		return "A" + e.Text, nil
	}
	switch {
	case len(e.Code) != 2 || !isUpper(e.Code[0]) || !isUpper(e.Code[1]):
		return "", fmt.Errorf("%w: SIA code %q is not two letters A–Z", ErrInvalid, e.Code)
	case e.Area < 0 || e.Area > 999:
		return "", fmt.Errorf("%w: SIA area %d outside 0–999", ErrInvalid, e.Area)
	case e.Zone < 0 || e.Zone > 9999:
		return "", fmt.Errorf("%w: SIA zone %d outside 0–9999", ErrInvalid, e.Zone)
	case kind == NumberArea && e.Zone != 0:
		return "", fmt.Errorf("%w: SIA code %s carries an area, not zone %d", ErrInvalid, e.Code, e.Zone)
	case e.User < 0 || e.User > 9999:
		return "", fmt.Errorf("%w: SIA user %d outside 0–9999", ErrInvalid, e.User)
	case e.Time != "" && !validTI(e.Time):
		return "", fmt.Errorf("%w: SIA time %q is not hh:mm or hh:mm:ss", ErrInvalid, e.Time)
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
	if e.Time != "" {
		b.WriteString("ti" + e.Time + "/")
	}
	if e.User > 0 {
		fmt.Fprintf(&b, "id%d/", e.User)
	}
	number := e.Zone
	if kind == NumberArea {
		number = e.Area
	} else if e.Area > 0 {
		fmt.Fprintf(&b, "ri%d/", e.Area)
	}
	fmt.Fprintf(&b, "%s%03d", e.Code, number)
	if e.Text != "" {
		b.WriteString("^" + e.Text + "^")
	}
	return b.String(), nil
}

// validTI reports whether s is "hh:mm" or "hh:mm:ss" with hours 00–23 and minutes
// and seconds 00–59.
func validTI(s string) bool {
	if len(s) != 5 && len(s) != 8 {
		return false
	}
	for i := 0; i < len(s); i += 3 {
		if !isDigit(s[i]) || !isDigit(s[i+1]) || (i+2 < len(s) && s[i+2] != ':') {
			return false
		}
		v := int(s[i]-'0')*10 + int(s[i+1]-'0')
		if (i == 0 && v > 23) || v > 59 {
			return false
		}
	}
	return true
}

// ParseDCS parses SIA-DCS data. It reads the account ("#acct|", optional), the
// leading "N" (optional), modifiers of two lowercase letters and digits of which it
// keeps "ri" as Area, "id" as User and "ti" as Time, '/' separators, and the first
// event code with its number (a zone, user or area: NumberOf); later event groups
// are ignored. Text is kept from carets (^…^), an ASCII block after the event
// ("|A…"), quoted extended text (*"…") or a message that is only text ("A…",
// without an event code). Errors wrap ErrFormat and say what did not parse.
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
	if textBlock(s) {
		if err := checkText(s[1:]); err != nil {
			return DCSEvent{}, fmt.Errorf("%w: SIA data %q: %v", ErrFormat, data, err)
		}
		e.Text = s[1:]
		return e, nil
	}
	var first error
	if strings.HasPrefix(s, "N") {
		if first = e.parseGroups(s[1:]); first == nil {
			return e, nil
		}
		acct := e.Account
		e = DCSEvent{Account: acct}
	}
	// Without the "N": data that has none, or whose first code starts with N (NL).
	if err := e.parseGroups(s); err != nil {
		if first != nil {
			err = first
		}
		return DCSEvent{}, fmt.Errorf("%w: SIA data %q: %v", ErrFormat, data, err)
	}
	return e, nil
}

// textBlock reports whether s (after the account) is an ASCII block "A<text>"
// rather than an event: it starts with 'A' and its first two letters are no known
// event code followed by a number.
func textBlock(s string) bool {
	if len(s) < 2 || s[0] != 'A' {
		return false
	}
	if len(s) >= 2 && isUpper(s[1]) && (len(s) == 2 || isDigit(s[2]) || s[2] == '/' || s[2] == '^') {
		return false // AT001, AR, …: an event without the N
	}
	if _, _, known := LookupSIA(s[:2]); known && (len(s) == 2 || !isLower(s[2])) {
		return false
	}
	return true
}

// checkText checks free text: printable ASCII.
func checkText(t string) error {
	for i := 0; i < len(t); i++ {
		if t[i] < 0x20 || t[i] > 0x7E {
			return fmt.Errorf("text holds byte 0x%02X at %d", t[i], i)
		}
	}
	return nil
}

func (e *DCSEvent) parseGroups(s string) error {
	digits := func(i int) int {
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		return j
	}
	var caret, block string // text from carets, and from an ASCII or quoted block
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
			if caret == "" {
				caret = s[i+1 : i+1+j]
			}
			i += j + 2
		case c == '|' && i+1 < len(s) && s[i+1] == 'A' && e.Code != "":
			// An ASCII block after the event: the rest of the data is text.
			if err := checkText(s[i+2:]); err != nil {
				return fmt.Errorf("ASCII block at %d: %v", i, err)
			}
			block, i = s[i+2:], len(s)
		case c == '*' && i+1 < len(s) && s[i+1] == '"':
			j := strings.IndexByte(s[i+2:], '"')
			if j < 0 {
				return fmt.Errorf("quoted text at %d not closed with '\"'", i)
			}
			if block == "" {
				block = s[i+2 : i+2+j]
			}
			i += j + 3
		case isLower(c) && i+1 < len(s) && isLower(s[i+1]):
			mod := s[i : i+2]
			j := i + 2
			for j < len(s) && (isDigit(s[j]) || s[j] == ':') {
				j++
			}
			val := s[i+2 : j]
			if e.Code == "" {
				switch mod {
				case "ri":
					v, err := strconv.Atoi(val)
					if err != nil || v > 999 {
						return fmt.Errorf("area %q after ri is not a number 0–999", val)
					}
					e.Area = v
				case "id":
					v, err := strconv.Atoi(val)
					if err != nil || v > 9999 {
						return fmt.Errorf("user %q after id is not a number 0–9999", val)
					}
					e.User = v
				case "ti":
					if !validTI(val) {
						return fmt.Errorf("time %q after ti is not hh:mm or hh:mm:ss", val)
					}
					e.Time = val
				}
			}
			i = j
		case isUpper(c) && i+1 < len(s) && isUpper(s[i+1]):
			j := digits(i + 2)
			if e.Code == "" {
				if j-(i+2) > 4 {
					return fmt.Errorf("number %q after %s has more than 4 digits", s[i+2:j], s[i:i+2])
				}
				e.Code = s[i : i+2]
				if j > i+2 {
					n, _ := strconv.Atoi(s[i+2 : j])
					if NumberOf(e.Code) == NumberArea {
						if n > 999 {
							return fmt.Errorf("area %q after %s is more than 999", s[i+2:j], e.Code)
						}
						e.Area = n
					} else {
						e.Zone = n
					}
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
	e.Text = caret
	if block != "" {
		e.Text = block
	}
	return nil
}

// Description names the event in words, e.g. "Burglary (zone 3)" for BA003,
// "Armed stay (area 1, user 5)" for id5/CG001, "SIA event ZZ" for a code the table
// does not hold; any text follows in quotes.
func (e DCSEvent) Description() string {
	var d string
	var units []string
	switch NumberOf(e.Code) {
	case NumberZone:
		if e.Zone > 0 {
			units = append(units, fmt.Sprintf("zone %d", e.Zone))
		}
	case NumberUser:
		if e.Zone > 0 {
			units = append(units, fmt.Sprintf("user %d", e.Zone))
		}
	case NumberArea:
		if e.Area > 0 {
			units = append(units, fmt.Sprintf("area %d", e.Area))
		}
	}
	if e.User > 0 && (NumberOf(e.Code) != NumberUser || e.User != e.Zone) {
		units = append(units, fmt.Sprintf("user %d", e.User))
	}
	if ec, restore, ok := LookupSIA(e.Code); ok {
		d = ec.name(restore)
	} else if e.Code == "" {
		d = "Text message"
	} else {
		d = "SIA event " + e.Code
	}
	if len(units) > 0 {
		d += " (" + strings.Join(units, ", ") + ")"
	}
	if e.Time != "" {
		d += " at " + e.Time
	}
	if e.Text != "" {
		d += " " + strconv.Quote(e.Text)
	}
	return d
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
