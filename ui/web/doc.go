// Package web serves Vakt's web app and its JSON API (/api/v1) with echo.
//
// The app is plain HTML, CSS and JavaScript embedded in the binary (assets/): no
// build step, nothing loaded from the internet. It uses only the API, as scripts
// and integrations do.
//
// Access. Nothing but /healthz, the login and the assets answers without a
// session. A session is made by logging in with a user's web password (the same
// wrong-code lockout as every other interface counts failed logins, per remote
// address); it lives in an HttpOnly, SameSite=Strict cookie (Secure over TLS) and
// in the server's memory, so a restart of the hub logs everyone out. Every request
// that changes something must carry the session's CSRF token in the X-CSRF-Token
// header, and a JSON body. A session ends after Options.SessionIdle without a
// request, at logout, or when its user is removed; a changed role applies at once.
//
// Commands (arm, disarm, bypass, panic) act as the logged-in user; a PIN given
// with a command is checked instead (a family tablet shared by several people),
// counted against the same lockout.
//
// Live updates. /api/v1/stream is a server-sent event stream: a "status" message
// at once and after every change, an "event" message per event with the event's
// sequence number as its id, so a browser that reconnects (EventSource does by
// itself) gets the events it missed (Last-Event-ID). Silent events (duress,
// silent panic) are never shown here, nor in the event log pages: an intruder may
// be holding the phone.
//
// Who stops what: Run (started by the owner) follows the zones' activity for the
// trouble page until its context ends or Close is called; each stream's handler
// ends when its client goes away, its session ends, the hub drops it as too slow,
// or Close is called.
package web
