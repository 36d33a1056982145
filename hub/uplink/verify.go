package uplink

import (
	"vakt/hub"
	"vakt/hub/uplink/sia"
)

// WithVerifyURL makes every new alarm report (hub.Report.Alarm, qualifier 1)
// carry f's answer as DC-09 extended data [V<url>], the verification URL: the
// operator's link to the alarm's cameras. f is asked at every attempt and must
// answer the same for the same report, so that a message sent again is the
// same message; "" sends none. Restores, cancels, tests and troubles never
// carry one.
func WithVerifyURL(f func(hub.Report) string) Option {
	return func(o *options) { o.verify = f }
}

// verifyData is r's [V] extended data, nil for none.
func (u *Uplink) verifyData(r hub.Report) []sia.XData {
	if u.verify == nil || !r.Alarm || (r.Qualifier != hub.QualNew && r.Qualifier != 0) {
		return nil
	}
	url := u.verify(r)
	if url == "" {
		return nil
	}
	for i := 0; i < len(url); i++ {
		if c := url[i]; c < 0x21 || c > 0x7e || c == '[' || c == ']' {
			u.log.Error("uplink: verification URL cannot go in extended data; sent without it", "report", r.Seq)
			return nil
		}
	}
	return []sia.XData{{Name: "V", Value: url}}
}
