package storage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// Migrations bring a file written by an older version of this package to
// SchemaVersion. Open runs them once, after a snapshot of the file as it was
// (reason "before-migration"), each in one transaction with the new version.

// migrate runs the migrations from version from to SchemaVersion, in one
// transaction.
func migrate(tx *bolt.Tx, from int) error {
	if from < 2 {
		if err := moveBindingsOut(tx); err != nil {
			return fmt.Errorf("schema 1 to 2: %w", err)
		}
	}
	if from < 3 {
		if err := indexTypes(tx); err != nil {
			return fmt.Errorf("schema 2 to 3: %w", err)
		}
	}
	return tx.Bucket(bucketMeta).Put(keySchema, []byte(strconv.Itoa(SchemaVersion)))
}

// indexTypes is schema 2 to 3: every stored event gets its entry in the index by
// type. A record that does not decode gets none (queries leave it out anyway).
func indexTypes(tx *bolt.Tx) error {
	byType := tx.Bucket(bucketByType)
	return tx.Bucket(bucketEvents).ForEach(func(k, v []byte) error {
		typ, ok := storedType(v)
		if len(k) != 8 || !ok {
			return nil
		}
		return byType.Put(append(typePrefix(nil, typ), k...), nil)
	})
}

// moveBindingsOut is schema 1 to 2: the "mqtt" block of each zone and output
// moves from the configuration into the bindings, as
// {"mqtt":{"zones":{id:block},"outputs":{id:block}}}, the layout of the MQTT
// adapter's bindings. A configuration that does not decode is left as it is:
// LoadConfig reports it.
func moveBindingsOut(tx *bolt.Tx) error {
	b := tx.Bucket(bucketConfig)
	v := b.Get(keyConfig)
	if v == nil {
		return nil
	}
	cfg, bindings, changed := splitBindings(v)
	if !changed {
		return nil
	}
	if err := b.Put(keyConfig, cfg); err != nil {
		return err
	}
	if bindings == nil {
		return nil
	}
	return b.Put(keyBindings, bindings)
}

// splitBindings takes the "mqtt" blocks out of a schema 1 configuration. changed
// is false when there is nothing to take or the configuration does not decode.
func splitBindings(v []byte) (cfg, bindings []byte, changed bool) {
	var doc map[string]json.RawMessage
	if json.Unmarshal(v, &doc) != nil {
		return nil, nil, false
	}
	mqtt := map[string]map[string]json.RawMessage{}
	for _, list := range []string{"zones", "outputs"} {
		raw, ok := doc[list]
		if !ok {
			continue
		}
		var entries []map[string]json.RawMessage
		if json.Unmarshal(raw, &entries) != nil {
			return nil, nil, false
		}
		moved := false
		for _, e := range entries {
			block, ok := e["mqtt"]
			if !ok {
				continue
			}
			delete(e, "mqtt")
			moved = true
			if bytes.Equal(bytes.TrimSpace(block), []byte("null")) {
				continue
			}
			var id string
			if json.Unmarshal(e["id"], &id) != nil {
				return nil, nil, false
			}
			if mqtt[list] == nil {
				mqtt[list] = map[string]json.RawMessage{}
			}
			mqtt[list][id] = block
		}
		if !moved {
			continue
		}
		changed = true
		var err error
		if doc[list], err = json.Marshal(entries); err != nil {
			return nil, nil, false
		}
	}
	if !changed {
		return nil, nil, false
	}
	cfg, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, false
	}
	if len(mqtt) > 0 {
		if bindings, err = json.Marshal(map[string]any{"mqtt": mqtt}); err != nil {
			return nil, nil, false
		}
	}
	return cfg, bindings, true
}
