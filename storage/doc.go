// Package storage keeps the hub's durable data in one bbolt file: the domain
// configuration, the latest alarm state, the event log, the outbox of reports for the
// monitoring centre, and the retained MQTT messages of the embedded broker.
//
// # Buckets and keys
//
// Values are JSON, except retained messages, which are opaque bytes.
//
//   - config: the domain configuration (hub.Config) under the key "config", and the
//     adapters' bindings of its zones and outputs (JSON, opaque to this package)
//     under "bindings".
//   - state: the latest hub.State under the key "current".
//   - events: the event log. Keys are 8-byte big-endian journal sequence numbers, so
//     a cursor walks the log in order; values are hub.Event.
//   - outbox: hub.Report queued for the uplink, keyed by 8-byte big-endian outbox
//     sequence numbers; the oldest is sent first.
//   - retained: retained MQTT messages, keyed by topic.
//   - meta: the schema version ("schema") and the number of routine and mandatory
//     events in the log.
//   - events_by_class and events_by_time: indexes of the event log used by Prune,
//     one entry per event, written and removed in the same transaction as the event.
//
// Sequence numbers come from the bucket sequences of events and outbox. They grow by
// one per stored item and are never reused, even after events are pruned or reports
// acknowledged, so a client's cursor stays meaningful across restarts.
//
// # One transaction per input
//
// The hub turns each input into a hub.Batch: events, the reports they queue for the
// monitoring centre, the new state and, after a configuration change made while the
// hub runs, the new domain configuration. Commit stores the whole batch in one
// transaction: either the events, their reports, the state and the configuration are
// all on disk, or none of them is. When Commit returns nil, the data has been synced
// to the disk and survives a power cut; the uplink then sends only what is committed,
// and deletes a report (AckReport) only after the receiver acknowledged it. Outputs
// such as sirens are switched before Commit, so they never wait for the disk.
//
// # Retention
//
// Prune keeps the log within a count and an age, but removes routine events before
// mandatory ones (alarm, tamper, arming; see hub.EventClass.Mandatory) and never removes
// the newest KeepMandatory mandatory events. It walks the indexes, not the log, and
// removes at most 1000 events per transaction, so the alarm path is never held up for
// long.
//
// # Damaged data
//
// A record that fails to decode never panics and never fails a whole query: Events and
// Outbox leave it out and Store.Damaged reports it. LoadConfig and LoadState return an
// error instead, because there is nothing to fall back to.
package storage
