package receiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"vakt/hub/uplink/sia"
)

// Account is one transmitter the receiver accepts.
type Account struct {
	// ID is the DC-09 account, 3–16 hex digits (compared without regard to case).
	ID string
	// Key decrypts the account's messages. With a key the account must send
	// encrypted messages; nil means plaintext only.
	Key *sia.Key
	// Supervision is the interval at which the account is expected to send (NULL
	// polls or any other message). The account is reported lost when nothing
	// arrives for LostAfter × Supervision; 0 means not supervised.
	Supervision time.Duration
}

// LostAfter is the grace factor of supervision: an account is lost when no frame was
// accepted from it for LostAfter × its Supervision interval — one poll missed, and
// a full interval of slack for retries and clock drift.
const LostAfter = 2

// Window is the accepted range of message timestamps around the receiver's clock:
// now−Past ≤ ts ≤ now+Future.
type Window struct {
	Past, Future time.Duration
}

// Reply is an answer the Respond hook can force.
type Reply int

// Replies.
const (
	ReplyDefault Reply = iota // answer as the receiver would anyway
	ReplyACK                  // accept (and record) the message
	ReplyNAK                  // NAK with the receiver's time
	ReplyDUH                  // DUH echoing the message's header
	ReplyNone                 // no answer at all, as if the frame was lost
)

func (r Reply) String() string {
	switch r {
	case ReplyDefault:
		return "default"
	case ReplyACK:
		return "ACK"
	case ReplyNAK:
		return "NAK"
	case ReplyDUH:
		return "DUH"
	case ReplyNone:
		return "none"
	}
	return fmt.Sprintf("Reply(%d)", int(r))
}

// Config configures a Receiver. The zero values of the optional fields select the
// defaults given with each.
type Config struct {
	// TCPAddr and UDPAddr are the listen addresses ("host:port"; port 0 picks a
	// free one); "" turns that transport off. At least one is needed.
	TCPAddr, UDPAddr string
	// Accounts are the transmitters the receiver knows.
	Accounts []Account
	// AllowUnknown accepts plaintext messages from accounts not in Accounts
	// (otherwise they get DUH). Encrypted ones still cannot be read and get NAK.
	AllowUnknown bool
	// Window is the accepted timestamp range; each zero field defaults to the
	// standard's (Past 40 s, Future 20 s).
	Window Window
	// Now is the receiver's clock for timestamp checks, NAK and ACK timestamps,
	// events and supervision; default time.Now. Socket timeouts use the real clock.
	Now func() time.Time
	// IdleTimeout closes a TCP connection that sent nothing for this long;
	// default 2 minutes. Transmitters that hold their connection reconnect.
	IdleTimeout time.Duration
	// EventBuffer is the capacity of the Events channel; default 256. While it is
	// full the receiver waits: it does not ACK, and reads nothing more from that
	// sender, until the owner takes an event.
	EventBuffer int
	// Output, when set, takes every event instead of the Events channel: it is
	// called on the goroutine of the connection (or of supervision), one call at
	// a time per connection, and the message is ACKed only after it returned nil.
	// An error means no ACK (the sender sends again) and is logged. A slow Output
	// slows down only its senders; ctx is cancelled when the receiver stops, and
	// Output must then return soon, since Close waits for it.
	Output func(ctx context.Context, e Event) error
	// SupervisionTick, when positive, makes the receiver call
	// CheckSupervision(Now()) at this interval itself; 0 leaves that to the owner.
	SupervisionTick time.Duration
	// Respond, for tests of transmitters, is called with every message that
	// decoded (CRC, length and decryption fine) before the receiver answers; any
	// Reply but ReplyDefault replaces the receiver's own choice. It runs on the
	// connection's goroutine: keep it quick.
	Respond func(m sia.Message) Reply
	// Rand is the source of the pad of encrypted ACKs; default crypto/rand.
	Rand io.Reader
}

// Defaults.
const (
	DefaultIdleTimeout = 2 * time.Minute
	DefaultEventBuffer = 256
)

// withDefaults checks c and fills in the defaults.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.TCPAddr == "" && c.UDPAddr == "" {
		errs = append(errs, errors.New("no TCP or UDP address to listen on"))
	}
	if len(c.Accounts) == 0 && !c.AllowUnknown {
		errs = append(errs, errors.New("no accounts, and unknown accounts are not allowed: every message would be refused"))
	}
	seen := map[string]bool{}
	for i, a := range c.Accounts {
		switch id := strings.ToUpper(a.ID); {
		case !sia.ValidAccount(a.ID):
			errs = append(errs, fmt.Errorf("account %d: %q is not 3–16 hex digits", i+1, a.ID))
		case seen[id]:
			errs = append(errs, fmt.Errorf("account %s listed twice", a.ID))
		default:
			seen[id] = true
		}
		if a.Supervision < 0 {
			errs = append(errs, fmt.Errorf("account %s: negative supervision interval %s", a.ID, a.Supervision))
		}
	}
	if c.Window.Past < 0 || c.Window.Future < 0 {
		errs = append(errs, fmt.Errorf("negative timestamp window %+v", c.Window))
	}
	if c.IdleTimeout < 0 || c.EventBuffer < 0 || c.SupervisionTick < 0 {
		errs = append(errs, errors.New("negative IdleTimeout, EventBuffer or SupervisionTick"))
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("receiver: config: %w", err)
	}
	if c.Window.Past == 0 {
		c.Window.Past = sia.WindowPast
	}
	if c.Window.Future == 0 {
		c.Window.Future = sia.WindowFuture
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.EventBuffer == 0 {
		c.EventBuffer = DefaultEventBuffer
	}
	return c, nil
}
