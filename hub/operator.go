package hub

// EvOperatorView records that the monitoring centre's operator opened the
// operator page of an alarm (the link sent with its report).
const EvOperatorView EventType = "operator_view"

// OperatorView records a view of the operator page: an event of type
// operator_view in the alarm class (kept as long as the alarm), naming the
// alarm event and where the request came from. Nothing else changes.
type OperatorView struct {
	Alarm  uint64 // the alarm event's journal number
	Zone   string // the alarm's zone
	Who    string // e.g. "operator (alarm 1234)"
	Detail string // e.g. the client's address and what it asked for
}

func (OperatorView) input() {}

func (s *step) operatorView(v OperatorView) {
	s.record(Event{Type: EvOperatorView, Class: ClassAlarm, Zone: v.Zone, Who: Actor{Device: v.Who, Via: ViaWeb}, Detail: v.Detail})
}
