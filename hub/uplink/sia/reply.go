package sia

import "time"

// Ack is the receiver's acceptance of m: "ACK" echoing m's sequence number,
// receiver, line and account. For an encrypted m the ACK is encrypted too ("*ACK",
// plaintext `<pad>|]_timestamp`, encode it with the account's key) and carries now
// as its timestamp; a plain ACK has no timestamp, as in
// `"ACK"0001R1L1#1234[]`.
func Ack(m Message, now time.Time) Message {
	a := Message{ID: IDAck, Encrypted: m.Encrypted, Seq: m.Seq, Receiver: m.Receiver, Line: m.Line, Account: m.Account}
	if m.Encrypted {
		a.Time = now.UTC().Truncate(time.Second)
	}
	return a
}

// Nak is the receiver's rejection of a message whose timestamp is outside its window
// or which it cannot decrypt: `"NAK"0000R0L0A0[]_timestamp` with the receiver's own
// UTC time, never encrypted, echoing nothing. A sender takes the offset between
// this timestamp and its clock and resends once with a fresh timestamp.
func Nak(now time.Time) Message {
	return Message{ID: IDNak, Seq: 0, Receiver: "0", Line: "0", Time: now.UTC().Truncate(time.Second)}
}

// Duh is the receiver's answer to a message it understood but does not handle (an
// unknown message ID, account or event code): "DUH" echoing m's sequence number,
// receiver, line and account, plain and without timestamp. A sender must not resend
// the same message unchanged.
func Duh(m Message) Message {
	return Message{ID: IDDuh, Seq: m.Seq, Receiver: m.Receiver, Line: m.Line, Account: m.Account}
}

// Acknowledges reports whether m is an ACK for sent: same sequence number and
// account (an ACK without account matches any account).
func (m Message) Acknowledges(sent Message) bool {
	return m.ID == IDAck && m.Seq == sent.Seq && (m.Account == "" || m.Account == sent.Account)
}

// NextSeq is the sequence number after n: 1 to 9999, then 1 again.
func NextSeq(n int) int {
	if n < 1 || n >= MaxSeq {
		return 1
	}
	return n + 1
}
