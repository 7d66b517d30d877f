package brazen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
)

// Stores keep a profile as its JSON encoding; these are the one encoding
// both backends use.

// EncodeProfile returns the stored form of p.
func EncodeProfile(p *Profile) ([]byte, error) { return json.Marshal(p) }

// DecodeProfile decodes a stored profile at a stored version. Numbers stay
// json.Number, so that integers beyond 2^53 and decimals survive.
func DecodeProfile(data []byte, version int64) (*Profile, error) {
	p := Profile{Version: version}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decoding a stored profile: %w", err)
	}
	return &p, nil
}

// StoredProfile is one profile as read from a store, not decoded yet.
type StoredProfile struct {
	Data    []byte
	Version int64
}

// DecodeProfiles decodes many stored profiles, spread over the cores:
// decoding is the expensive part of a bulk read.
func DecodeProfiles(in []StoredProfile) ([]*Profile, error) {
	out := make([]*Profile, len(in))
	errs := make([]error, len(in))
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), max(len(in)/16, 1))
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(in); i += workers {
				out[i], errs[i] = DecodeProfile(in[i].Data, in[i].Version)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
