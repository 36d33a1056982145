package storage

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"vakt/hub"
)

// LoadConfig returns the stored domain configuration and the adapters' bindings of
// its zones and outputs (JSON, opaque here; nil when there are none). It is called
// at start-up and by the config export. ok is false (and err nil) when no
// configuration was ever saved: the caller then starts from defaults. An error means
// the file could not be read or the stored configuration does not decode; the caller
// must not overwrite it blindly.
func (s *Store) LoadConfig() (cfg hub.Config, bindings json.RawMessage, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketConfig)
		v := b.Get(keyConfig)
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(v, &cfg); err != nil {
			return fmt.Errorf("%s/%s does not decode: %w", bucketConfig, keyConfig, err)
		}
		ok = true
		if v := b.Get(keyBindings); v != nil {
			bindings = bytes.Clone(v)
		}
		return nil
	})
	if err != nil {
		return hub.Config{}, nil, false, fmt.Errorf("storage: load config: %w", err)
	}
	return cfg, bindings, ok, nil
}

// SaveConfig replaces the stored domain configuration and the bindings of its zones
// and outputs, in one transaction. bindings is JSON (nil: none). It is called after
// both were validated, when they are edited through the API or imported. An error
// means nothing was changed.
func (s *Store) SaveConfig(cfg hub.Config, bindings json.RawMessage) error {
	v, err := encodeConfig(cfg)
	if err != nil {
		return fmt.Errorf("storage: save config: %w", err)
	}
	if bindings != nil && !json.Valid(bindings) {
		return fmt.Errorf("storage: save config: the bindings are not JSON")
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketConfig)
		if err := b.Put(keyConfig, v); err != nil {
			return err
		}
		if bindings == nil {
			return b.Delete(keyBindings)
		}
		return b.Put(keyBindings, bindings)
	})
	if err != nil {
		return fmt.Errorf("storage: save config: %w", err)
	}
	return nil
}

// encodeConfig is the stored form of a domain configuration (config/config), as
// SaveConfig and Commit write it and LoadConfig reads it.
func encodeConfig(cfg hub.Config) ([]byte, error) {
	v, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return v, nil
}

// LoadState returns the state stored by the latest successful Commit. It is called at
// start-up, before the hub resumes by the restart rules. ok is false (and err nil) for
// a new system. An error means the file could not be read or the stored state does
// not decode.
func (s *Store) LoadState() (st hub.State, ok bool, err error) {
	ok, err = s.loadJSON(bucketState, keyState, &st)
	if err != nil {
		return hub.State{}, false, fmt.Errorf("storage: load state: %w", err)
	}
	return st, ok, nil
}

// loadJSON decodes the value at bucket/key into dst; ok is false when it is absent.
func (s *Store) loadJSON(bucket, key []byte, dst any) (ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucket).Get(key)
		if v == nil {
			return nil
		}
		ok = true
		if err := json.Unmarshal(v, dst); err != nil {
			return fmt.Errorf("%s/%s does not decode: %w", bucket, key, err)
		}
		return nil
	})
	return ok, err
}
