// Package sia is the SIA DC-09 codec: the frames an alarm panel and a monitoring
// centre's receiver exchange over TCP or UDP, the CRC and AES that protect them, and
// the Contact ID and SIA DC-03 payloads inside. It is pure: no I/O, no goroutines,
// no clock — time is passed in, and randomness (the AES pad) comes from an
// io.Reader the caller chooses.
//
// # Frames
//
// A frame is
//
//	LF  CRC(4 hex)  0LLL  "ID"seq R<rcvr> L<line> #<acct> [data] [xdata]… _HH:MM:SS,MM-DD-YYYY  CR
//
// where the CRC is CRC-16/ARC of the body (from the opening quote of the ID to the
// byte before CR) and LLL the body length in hex. Message holds the fields; Encode
// writes the strict form and Decode reads, liberally, what panels and receivers send
// in practice (see Decode). SplitFrames cuts a TCP stream into frames.
//
// # Encryption
//
// An encrypted message has a '*' before its ID. The header up to the '[' stays in
// clear, so the receiver knows the account and thus the key; the rest —
// "<pad>|data]<xdata>_timestamp" — is AES-CBC encrypted with a zero IV and sent as
// uppercase hex. The random pad makes each ciphertext different and fills the last
// block; the timestamp, mandatory here, protects against replay because receivers
// reject one outside now−40 s … now+20 s (CheckTime). Keys are AES-128, -192 or
// -256, written as hex digits or ASCII characters depending on the vendor (ParseKey).
//
// # Replies
//
// A receiver answers every message it accepts with Ack (echoing sequence number,
// receiver, line and account; encrypted for an encrypted message), a timestamp or
// key problem with Nak (carrying the receiver's time, never encrypted), and a
// message it understood but does not handle with Duh. Bad CRC or length get no
// answer. The errors of Decode (ErrFormat, ErrLength, ErrCRC, ErrNoKey, ErrDecrypt)
// let it choose.
//
// # Payloads
//
// ADM-CID messages carry Contact ID ("#1234|1130 01 003": qualifier, event code,
// area, zone or user) — see ContactID. SIA-DCS messages carry SIA DC-03
// ("#1234|Nri1/BA003": area modifier, two-letter event code, zone) — see DCSEvent.
// Codes maps the Contact ID codes a home hub reports to SIA letters and words.
package sia
