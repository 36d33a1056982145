package storage

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"vakt/hub"
)

// LoadConfig returns the stored domain configuration. It is called at start-up and by
// the config export. ok is false (and err nil) when no configuration was ever saved:
// the caller then starts from defaults. An error means the file could not be read or
// the stored configuration does not decode; the caller must not overwrite it blindly.
func (s *Store) LoadConfig() (cfg hub.Config, ok bool, err error) {
	ok, err = s.loadJSON(bucketConfig, keyConfig, &cfg)
	if err != nil {
		return hub.Config{}, false, fmt.Errorf("storage: load config: %w", err)
	}
	return cfg, ok, nil
}

// SaveConfig replaces the stored domain configuration. It is called after the
// configuration was validated, when it is edited through the API or imported. An
// error means nothing was changed.
func (s *Store) SaveConfig(cfg hub.Config) error {
	v, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("storage: save config: %w", err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketConfig).Put(keyConfig, v)
	})
	if err != nil {
		return fmt.Errorf("storage: save config: %w", err)
	}
	return nil
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
