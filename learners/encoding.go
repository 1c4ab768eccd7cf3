package learners

import (
	"bytes"
	"encoding/gob"
	"fmt"
)

// formatVersion is bumped whenever an encoded learner's layout changes, so
// that an old bundle fails loudly instead of decoding into wrong fields.
const formatVersion = 1

// envelope wraps every encoded learner with its name and format version.
type envelope struct {
	Format  string
	Version int
	Name    string
	Body    []byte
}

const formatName = "modelpick/learners"

// encode writes v (a gob-encodable state struct) in an envelope for name.
func encode(name string, v any) ([]byte, error) {
	var body bytes.Buffer
	if err := gob.NewEncoder(&body).Encode(v); err != nil {
		return nil, fmt.Errorf("%s: encode: %w", name, err)
	}
	var out bytes.Buffer
	env := envelope{Format: formatName, Version: formatVersion, Name: name, Body: body.Bytes()}
	if err := gob.NewEncoder(&out).Encode(env); err != nil {
		return nil, fmt.Errorf("%s: encode: %w", name, err)
	}
	return out.Bytes(), nil
}

func open(b []byte) (envelope, error) {
	var env envelope
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&env); err != nil {
		return env, fmt.Errorf("decode: %v: %w", err, ErrBadEncoded)
	}
	if env.Format != formatName || env.Version != formatVersion {
		return env, fmt.Errorf("decode: format %q version %d, want %q version %d: %w",
			env.Format, env.Version, formatName, formatVersion, ErrBadEncoded)
	}
	return env, nil
}

// decode reads an envelope written by encode for name into v.
func decode(b []byte, name string, v any) error {
	env, err := open(b)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if env.Name != name {
		return fmt.Errorf("%s: decode: data holds learner %q: %w", name, env.Name, ErrBadEncoded)
	}
	if err := gob.NewDecoder(bytes.NewReader(env.Body)).Decode(v); err != nil {
		return fmt.Errorf("%s: decode: %v: %w", name, err, ErrBadEncoded)
	}
	return nil
}

// EncodedName returns the name of the learner encoded in b, so that a
// caller can construct it with [New] before calling UnmarshalBinary; [Load]
// does both.
func EncodedName(b []byte) (string, error) {
	env, err := open(b)
	if err != nil {
		return "", fmt.Errorf("learners: %w", err)
	}
	return env.Name, nil
}
