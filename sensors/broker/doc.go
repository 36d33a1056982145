// Package broker is the hub's embedded MQTT broker, built on mochi-mqtt v2.
// Zigbee2MQTT and other MQTT devices connect to it over the network; the hub's
// own code publishes and subscribes in-process.
//
// # Listeners
//
// Start binds a plain TCP listener (Config.Addr), optionally a TLS listener
// (TLSAddr with a PEM certificate and key, read by New) and a websocket listener
// (WSAddr, MQTT over ws:// on any path). The sockets are bound by this package,
// so a port in use fails Start with the address, and ":0" works in tests (Addr,
// TLSAddr, WSAddr give the real address). A new connection has 10 seconds to
// send CONNECT; after that mochi's keepalive deadline applies.
//
// # Accounts and ACL
//
// Logins are checked by mochi's auth hook against an auth.Ledger built from
// Config.Users (plaintext passwords from the boot configuration). A client
// without username is refused unless Config.AllowAnonymous is set; anonymous
// clients may then read and write everything. Each user may subscribe only to
// filters covered by its Read list and publish only to topics covered by its Write
// list; Admin allows everything. A filter in both lists is ReadWrite in the
// ledger. The ACL is checked on subscribe, on publish and again on each delivery,
// with MQTT's matching rules ('+' one level, trailing '#' the parent and
// everything below, no wildcard match of '$' topics at the first level). This
// package does the matching itself rather than with the ledger's own ACL check,
// which lets "a/b" match "a/b/c" and lets map order decide between overlapping
// read-only and write-only filters.
//
// Passwords are compared in constant time. Refused logins are throttled per
// address and summarised in the log; a client id held by another user's session
// is refused (see authHook). A refused publish is dropped without disconnecting
// the client.
//
// # In-process client
//
// Publish, Subscribe, Watch and Unsubscribe use mochi's inline client:
// no login, no ACL. A subscription handler runs synchronously on the goroutine of
// whoever published (a client's connection goroutine, or the caller of Publish),
// on several goroutines at once (handlers run concurrently, also with the
// Subscribe call that adds them); it must hand the message off and return.
// Subscriptions made before Start are applied by Start before any client can
// connect, with the retained messages restored from the store.
//
// A subscription whose filter starts with a plain level (the zones' topics,
// "zigbee2mqtt/#") is kept in the broker's own index (localSubs) and served from
// a hook once mochi has delivered the message to the network clients: mochi's own
// index copies each matching in-process subscription into new maps on every
// publish. Filters starting with a wildcard or '$' stay in mochi's index, as they
// may match the $SYS topics, which mochi publishes without hooks. Both deliver
// the same messages, wills included; the broker's index also follows MQTT in
// matching "a/#" to "a", which mochi's does not for in-process subscriptions.
//
// # Retained messages
//
// Retained messages are kept in memory by mochi and persisted through a
// RetainedStore (the hub's database) by a small mochi storage hook. They never
// expire: the broker's maximum message expiry is turned off (0 means no limit in
// mochi) and the MQTT v5 message expiry of a retained publish is dropped. Each
// message is stored with its QoS, creation time, origin client, content type,
// payload format, response topic, correlation data and user properties, in a
// small binary format. Start restores them before accepting clients; a store that
// cannot be read fails Start, a single unreadable message is logged and skipped.
// Writes are queued and done by one goroutine, so a slow disk never holds up a
// client; only the newest state of a topic waits. A failing write is logged and
// retried with backoff while the broker carries on; Close writes what is left and
// returns an error for what could not be written.
//
// # Limits
//
// Packets up to Config.MaxPacketSize (at least and by default 1 MiB) are
// accepted; a larger one drops the connection. Each client's outbound messages go
// through a queue bounded in messages and bytes (queuedConn); a client that stays
// over it is disconnected. Retained messages are capped in total and per topic,
// and never kept on Config.CommandTopics. The session of a disconnected
// client (subscriptions, queued QoS 1/2 messages) is kept for at most a day and
// only in memory. $SYS topics are published every 10 seconds.
//
// # Goroutines
//
// New starts nothing. Start starts mochi's housekeeping loop, one accepting
// goroutine per listener (an HTTP server for the websocket one), and the
// retained-message writer; each connection runs on a goroutine of its listener,
// plus mochi's write loop for the client.
// Close stops all of them: it disconnects the clients, closes every connection
// (also those that never sent CONNECT), waits for the connection and listener
// goroutines and the writer, and returns. Config.OnClient and subscription
// handlers run on goroutines of the broker and must not block.
//
// # Logging
//
// The broker logs through the *slog.Logger given to New: client connects and
// disconnects at Info, refused logins and dropped oversized packets at Warn, store
// failures at Error. mochi's own lines go to the same logger one level lower
// below Warn (its Info lines become Debug), with packets reduced to a summary.
// Passwords are never logged.
package broker
