// Package receiver is a SIA DC-09 receiving centre: the far end of the uplink. It is
// what `vakt receiver` runs — for installers checking a hub, for watching a
// relative's home from another Pi — and what the uplink's tests transmit to.
//
// # What it answers
//
// Frames arrive over TCP (a connection may carry many frames, split over reads or
// several per read; sia.SplitFrames cuts them) or UDP (one frame per datagram, answered
// to the sender's address). For each frame:
//
//   - bad CRC, bad length, or not a frame at all: no answer, one log line, and the
//     connection goes on with the next frame;
//   - an account that is not configured (and AllowUnknown off): DUH, echoing the
//     header — the transmitter is told not to resend unchanged;
//   - an encrypted frame that cannot be decrypted (wrong key, or an account with no
//     key), or a plaintext frame for an account that has a key: NAK with the
//     receiver's time;
//   - a timestamp outside now−40 s … now+20 s (Config.Window): NAK with the
//     receiver's time, so the transmitter can correct its clock and resend. The check
//     applies to encrypted frames, where the timestamp is mandatory, and also to
//     plaintext frames that carry one (Vakt always sends one; a plaintext frame without
//     timestamp is accepted);
//   - a message type other than SIA-DCS, ADM-CID and NULL, or a payload that does not
//     parse as Contact ID or SIA DC-03: DUH. Event codes missing from sia.Codes are
//     accepted: the table only provides words;
//   - otherwise ACK echoing sequence number, receiver, line and account; an
//     encrypted ACK, with the receiver's time, for an encrypted message.
//
// Config.Respond can replace that choice per message (ACK, NAK, DUH or silence), for
// tests of a transmitter's retries and fault handling.
//
// # Events
//
// Every ACKed message becomes an Event on the Events channel, with its Contact ID or
// SIA payload decoded and described in words; Event.String is one human line, and
// an Event marshals to one JSON object. A message with the same ID, sequence number
// and data as the previous one accepted from its account is a retransmission after
// a lost ACK: it is ACKed again and reported with Duplicate set, so it can be
// recorded once. (NULL polls are never duplicates.) The channel never blocks the
// network: when its buffer is full, events are dropped and counted (Dropped).
//
// # Supervision
//
// An account with a Supervision interval is expected to send something — NULL polls
// or events — at least that often. CheckSupervision(now), called by the owner or by
// the receiver itself every Config.SupervisionTick, reports an account lost when
// nothing was accepted from it for LostAfter (2) × Supervision, once; its next
// accepted frame reports it restored. Both are logged ("account 1234 lost") and sent
// as events. All decisions use Config.Now, so tests drive supervision and the
// timestamp window with their own clock.
//
// # Goroutines
//
// Start starts: one accept loop for TCP, one goroutine per TCP connection, one UDP
// read loop, one supervision ticker if SupervisionTick is set, and one that stops the
// receiver when Start's context is cancelled. Close (or cancelling that context)
// closes the listeners and every open connection, which ends them all; Close then
// waits for every one of them to return and closes Events. Nothing keeps running
// after Close returns.
package receiver
