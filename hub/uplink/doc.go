// Package uplink is the transmitter that reports to an alarm receiving centre over
// SIA DC-09: a store-and-forward sender that takes reports from the persistent
// outbox, delivers them over one or two paths, supervises those paths, and tells the
// hub when a path is lost. The frames themselves (CRC, AES, Contact ID and SIA
// codes) are the sia package's; a receiving centre to test against is the receiver
// package.
//
// # Store and forward
//
// The hub commits every report to the outbox (Outbox) in the same transaction as
// its event and then calls Wake. The sender reads the oldest queued reports, sends
// one, and deletes it (AckReport) only when the receiver acknowledged it. A report
// is therefore sent at least once: after a crash or power cut with a report in
// flight, that report is sent again, and nothing committed is lost.
//
// Reports go oldest first. When more than PriorityThreshold are queued (a path was
// down for a while), alarm reports (Report.Alarm) overtake routine ones — but no
// report overtakes an earlier one of the same zone and event code, so a restore
// never arrives before its alarm.
//
// Each report becomes an ADM-CID message ("#acct|QEEE GG ZZZ") or, for a path
// configured for SIA-DCS, the SIA DC-03 letters that the sia package maps the
// Contact ID code to. Every message carries the path's receiver, line and account
// numbers, a sequence number 0001–9999 per path (a retransmission of the same
// report on the same path keeps its number), and a UTC timestamp corrected by the
// receiver's clock offset; with a key it is AES encrypted.
//
// # Answers
//
//   - ACK: delivered; the report leaves the outbox.
//   - NAK: the receiver rejected the timestamp (or could not decrypt). Its NAK
//     carries its time: the difference to this clock becomes the path's clock
//     offset (Status.ClockOffset), and the message goes again at once with a
//     corrected timestamp and the same sequence number. A second NAK raises the
//     fault "uplink:<path>:clock" and counts as a failed send; the report is
//     retried on the normal schedule. The fault clears at the next ACK.
//   - DUH: the receiver understood the message but cannot handle it. A NULL goes
//     next on that path to tell why. If the NULL is accepted, the receiver refuses
//     this report (usually an event code it does not know): it is never sent to
//     that receiver again, every other path gets one attempt at once, and then the
//     report leaves the outbox, delivered or not; an undeliverable report is logged
//     as an error with its code and zone. If the NULL is refused too, the receiver
//     refuses everything from this hub (typically an account it does not know):
//     that is a failed send like silence, the path is eventually lost, and the
//     report stays queued. A report that the path's protocol cannot express (a
//     Contact ID code without SIA letters on a SIA-DCS path) is refused at once.
//   - No answer within AckTimeout, or a connection that cannot be opened or breaks:
//     a failed send, retried after a back-off of 2 s that doubles up to 5 minutes
//     (or the poll interval, if shorter).
//
// # Paths, supervision and failover
//
// The first path is the primary, the optional second the backup. A path whose
// receiver has not answered since start is "unknown"; one that answered is "ok";
// after a failed send or poll it is "failing"; after MissedPolls failures in a row
// it is "lost", and the sender calls Hub.Input with hub.Fault{Name:
// "uplink:<path>", Active: true}, once. The hub then queues a 354 report, which goes
// over the surviving path. When a lost path answers again the fault is cleared
// (Active: false) and the hub queues the restore.
//
// Reports go over the primary while it is not lost, else over the backup, else
// over whichever path is due for a retry. One report is in flight at a time, so the
// centre sees them in order. While the backup carries the reports, the primary is
// probed with NULL messages at the retry interval; as soon as it answers, reports go
// over it again. With Config.ReportBoth every report goes over both paths (each
// path in order, one in flight per path) and leaves the outbox when every path
// that is not lost has acknowledged it.
//
// Every path is supervised: when nothing was sent on it for its Poll interval, a
// NULL message goes; any message sent resets the interval. On start each path
// sends a NULL first, so Status knows its state at once and a sequence number
// reused after a restart cannot be mistaken by the receiver for a retransmission.
// After the first answer the uplink also clears its faults once, since the hub may
// still hold them from before a restart (clearing a fault that is not set changes
// nothing there).
//
// The periodic test report (Contact ID 602) is due daily at Config.TestTime in the
// local time of the clock, or every Config.TestInterval counted from start: the
// sender then calls Hub.Input with hub.TestReport, the hub queues the report, and
// it is sent like any other. Test sends a manual test report (601) directly on
// every path, outside the outbox, and returns each path's answer.
//
// # TCP and UDP
//
// Over TCP a connection is kept open per path and reopened when it breaks; a
// connection found broken when a message is written is reopened once at once. Over
// UDP each frame is one datagram on a connected socket, so only answers from the
// receiver's address are read. Answers are read liberally (whatever sia.Decode
// accepts, several per read, garbage skipped) and matched by sequence number and
// account; an encrypted message needs an encrypted ACK whose timestamp is within 5
// minutes of the receiver's time. A path can be bound to a local address
// (Path.SourceAddr) or, on Linux, to an interface (Path.Interface,
// SO_BINDTODEVICE, which needs CAP_NET_RAW), to send over a chosen network such as
// an LTE modem.
//
// # Goroutines
//
// Run is the sender: its goroutine owns all scheduling state and runs until its
// context is cancelled. It starts, and stops before it returns:
//
//   - one goroutine per message in flight (at most one per path), which performs
//     the exchange on the path's link and hands the result back; it ends when the
//     answer arrives, the ACK timeout passes or Run's context is cancelled;
//   - one reader goroutine per open connection, which decodes the receiver's
//     answers; it ends when the connection is closed, which Run does for every
//     connection before it returns;
//   - one goroutine that passes faults and test requests to the hub in order, so
//     that the sender never waits for the hub; it ends with Run's context (what it
//     has not yet passed on is logged and dropped).
//
// Test runs one exchange per path on goroutines of its own and waits for them; when
// Run is not running it closes the connections it opened before it returns. Wake
// and Status never block. Everything that waits uses the clock given by WithClock,
// so tests run hours of outage in milliseconds.
package uplink
