package storage

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// PutRetained stores the retained MQTT message of topic, replacing any earlier one.
// The embedded broker calls it when a client publishes with the retain flag; msg is
// opaque to the store (the broker's own encoding) and is stored as given, even when
// empty. An error means nothing was stored (an empty topic is an error).
func (s *Store) PutRetained(topic string, msg []byte) error {
	if topic == "" {
		return fmt.Errorf("storage: put retained: empty topic")
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRetained).Put([]byte(topic), bytes.Clone(msg))
	})
	if err != nil {
		return fmt.Errorf("storage: put retained %q: %w", topic, err)
	}
	return nil
}

// DeleteRetained removes the retained message of topic. The broker calls it when a
// retained message is cleared. An unknown topic is not an error. An error means the
// message could not be removed.
func (s *Store) DeleteRetained(topic string) error {
	if topic == "" {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRetained).Delete([]byte(topic))
	})
	if err != nil {
		return fmt.Errorf("storage: delete retained %q: %w", topic, err)
	}
	return nil
}

// ListRetained returns every retained message by topic. The broker calls it at
// start-up to restore its retained messages. The map and its byte slices belong to
// the caller. An error means the file could not be read.
func (s *Store) ListRetained() (map[string][]byte, error) {
	msgs := map[string][]byte{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRetained).ForEach(func(k, v []byte) error {
			msgs[string(k)] = bytes.Clone(v)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("storage: list retained: %w", err)
	}
	return msgs, nil
}
