package sia

import "fmt"

// EventCode maps one Contact ID event code to SIA DC-03 letters and words.
type EventCode struct {
	CID int `json:"cid"`
	// SIA is the code for a new event (qualifier 1) or an opening; Restore the code
	// for its restore (qualifier 3) or a closing, "" when there is none.
	SIA     string `json:"sia"`
	Restore string `json:"restore,omitempty"`
	// Name describes a new event; RestoreName its restore ("" = Name + " restore").
	Name        string `json:"name"`
	RestoreName string `json:"restore_name,omitempty"`
	// User: the zone field carries a user number (open/close, duress, cancel).
	User bool `json:"user,omitempty"`
}

func (e EventCode) name(restore bool) string {
	switch {
	case !restore:
		return e.Name
	case e.RestoreName != "":
		return e.RestoreName
	}
	return e.Name + " restore"
}

// DCS converts a Contact ID event to SIA DC-03 with e's letters: SIA for
// qualifiers 1 and 6, Restore for 3. The partition becomes the area; the zone
// field becomes the number after a zone or user code, or the "id" user where the
// Contact ID field is a user but the SIA number is not (CG001 is area 1: "id5/CG001"
// for 3441 01 005). For an area code a Contact ID zone has no place and is dropped. Use it with a
// modified EventCode where a receiver expects other letters than the built-in table
// (e.g. YC/YK instead of XL/XC for 381).
func (e EventCode) DCS(c ContactID) (DCSEvent, error) {
	code := e.SIA
	if c.Qualifier == QualRestore {
		code = e.Restore
	}
	if code == "" {
		return DCSEvent{}, fmt.Errorf("%w: Contact ID %d%03d has no SIA code", ErrInvalid, c.Qualifier, c.Code)
	}
	d := DCSEvent{Account: c.Account, Area: c.Partition, Code: code}
	// The Contact ID zone field is a zone or (e.User) a user; SIA has its own idea
	// of what the number after the code is (NumberOf), and "id" for a user.
	switch NumberOf(code) {
	case NumberUser:
		d.Zone = c.Zone
	case NumberArea:
		if e.User {
			d.User = c.Zone
		}
	default:
		if e.User {
			d.User = c.Zone
		} else {
			d.Zone = c.Zone
		}
	}
	return d, nil
}

// Codes returns the built-in table, a new slice on every call.
//
// It covers the events a home hub reports. Where sources disagree the choice is
// noted: 130–134 restore with BH (pysiaalarm; BR is also seen); 139, the confirmed
// alarm, is BV (Ajax) and has no restore; 381 device lost uses Ajax's XL/XC, since
// there is no agreed pair (pysiaalarm sends YC/YK); 400 and 401 both map to OP/CL;
// for 441 and 456 the opening (qualifier 1) is OG and the closing (3) CG; 406 cancel
// is OC (pysiaalarm; BC is the burglary-specific alternative). The hub's own
// troubles take the DC-03 letters nearest to them: 300 (the journal cannot be
// written) IA/IR equipment failure, 320 and 321 (an output or siren that does not
// agree) YA/YH bell fault, 330 (a power input's line, a camera) ET/ER expansion
// trouble.
func Codes() []EventCode {
	return []EventCode{
		{CID: 100, SIA: "MA", Restore: "MH", Name: "Medical"},
		{CID: 110, SIA: "FA", Restore: "FH", Name: "Fire"},
		{CID: 111, SIA: "FA", Restore: "FH", Name: "Smoke"},
		{CID: 114, SIA: "FA", Restore: "FH", Name: "Heat"},
		{CID: 120, SIA: "PA", Restore: "PH", Name: "Panic"},
		{CID: 122, SIA: "HA", Restore: "HH", Name: "Silent panic"},
		{CID: 121, SIA: "HA", Restore: "HH", Name: "Duress", User: true},
		{CID: 123, SIA: "PA", Restore: "PH", Name: "Audible panic"},
		{CID: 130, SIA: "BA", Restore: "BH", Name: "Burglary"},
		{CID: 131, SIA: "BA", Restore: "BH", Name: "Perimeter burglary"},
		{CID: 132, SIA: "BA", Restore: "BH", Name: "Interior burglary"},
		{CID: 133, SIA: "BA", Restore: "BH", Name: "24-hour burglary"},
		{CID: 134, SIA: "BA", Restore: "BH", Name: "Entry/exit burglary"},
		{CID: 137, SIA: "TA", Restore: "TR", Name: "Tamper"},
		{CID: 139, SIA: "BV", Name: "Confirmed burglary"},
		{CID: 144, SIA: "TA", Restore: "TR", Name: "Sensor tamper"},
		{CID: 145, SIA: "ES", Restore: "EJ", Name: "Expansion module tamper"},
		{CID: 151, SIA: "GA", Restore: "GH", Name: "Gas"},
		{CID: 154, SIA: "WA", Restore: "WH", Name: "Water leak"},
		{CID: 158, SIA: "KA", Restore: "KH", Name: "High temperature"},
		{CID: 159, SIA: "ZA", Restore: "ZH", Name: "Low temperature"},
		{CID: 162, SIA: "GA", Restore: "GH", Name: "Carbon monoxide"},
		{CID: 300, SIA: "IA", Restore: "IR", Name: "System trouble"},
		{CID: 301, SIA: "AT", Restore: "AR", Name: "AC power loss"},
		{CID: 302, SIA: "YT", Restore: "YR", Name: "Low system battery"},
		{CID: 305, SIA: "YW", Name: "System reset"},
		{CID: 320, SIA: "YA", Restore: "YH", Name: "Sounder/relay trouble"},
		{CID: 321, SIA: "YA", Restore: "YH", Name: "Bell trouble"},
		{CID: 330, SIA: "ET", Restore: "ER", Name: "System peripheral trouble"},
		{CID: 344, SIA: "XQ", Restore: "XH", Name: "RF jamming"},
		{CID: 350, SIA: "YC", Restore: "YK", Name: "Communication trouble"},
		{CID: 354, SIA: "YC", Restore: "YK", Name: "Failure to communicate"},
		{CID: 373, SIA: "FT", Restore: "FJ", Name: "Fire loop trouble"},
		{CID: 380, SIA: "YX", Restore: "YZ", Name: "Sensor trouble"},
		{CID: 381, SIA: "XL", Restore: "XC", Name: "Device lost (supervision)"},
		{CID: 383, SIA: "TA", Restore: "TR", Name: "Sensor tamper (RF)"},
		{CID: 384, SIA: "XT", Restore: "XR", Name: "Sensor low battery"},
		{CID: 401, SIA: "OP", Restore: "CL", Name: "Disarmed by user", RestoreName: "Armed by user", User: true},
		{CID: 400, SIA: "OP", Restore: "CL", Name: "Disarmed", RestoreName: "Armed", User: true},
		{CID: 403, SIA: "OA", Restore: "CA", Name: "Automatic disarm", RestoreName: "Automatic arm"},
		{CID: 406, SIA: "OC", Name: "Cancel by user", User: true},
		{CID: 441, SIA: "OG", Restore: "CG", Name: "Disarmed from stay", RestoreName: "Armed stay", User: true},
		{CID: 450, Restore: "CF", Name: "Exception opening", RestoreName: "Forced arming (fault present)", User: true},
		{CID: 456, SIA: "OG", Restore: "CG", Name: "Partial disarm", RestoreName: "Partial arm", User: true},
		{CID: 461, SIA: "JA", Name: "Wrong code entry"},
		{CID: 570, SIA: "BB", Restore: "BU", Name: "Zone bypassed", RestoreName: "Zone unbypassed"},
		{CID: 601, SIA: "RX", Name: "Manual test"},
		{CID: 602, SIA: "RP", Name: "Periodic test"},
		{CID: 608, SIA: "TX", Name: "Periodic test, trouble present"},
		{CID: 627, SIA: "LB", Name: "Programming mode entry"},
		{CID: 628, SIA: "LX", Name: "Programming mode exit"},
	}
}

// LookupCID finds a Contact ID event code in the built-in table.
func LookupCID(code int) (EventCode, bool) {
	for _, e := range Codes() {
		if e.CID == code {
			return e, true
		}
	}
	return EventCode{}, false
}

// LookupSIA finds the first table entry that uses a SIA code, and whether the code
// is its restore (or closing). Several Contact ID codes share SIA codes (BA is 130–134);
// the first, most general one wins.
func LookupSIA(code string) (e EventCode, restore bool, ok bool) {
	if code == "" {
		return EventCode{}, false, false
	}
	for _, c := range Codes() {
		switch code {
		case c.SIA:
			return c, false, true
		case c.Restore:
			return c, true, true
		}
	}
	return EventCode{}, false, false
}
