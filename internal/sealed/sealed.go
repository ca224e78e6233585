// Package sealed encrypts the few secrets renderhook must be able to read
// back (a space's S3 secret key, and the S3 credentials a queued v1 render
// brought with its request) with AES-256-GCM under keys the operator
// gives the server (--storage-credentials-key), never kept in the
// database they protect.
//
// A sealed value is "v1.<key id>.<base64url(nonce | ciphertext)>". The key
// id is the first 8 hex digits of SHA-256 of the key, so a keyring of a
// new key and old ones opens values sealed under any of them, while only
// the first (primary) key seals. The additional data binds a value to its
// owner (the space's id, or the render's): a sealed secret copied to another row does not
// open. Rotation: put the new key first and the old one after it, restart,
// run `renderhook space storage reseal`, then drop the old key.
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrNoKey: the server has no key to seal or open with.
var ErrNoKey = errors.New("no storage credentials key is configured (--storage-credentials-key)")

// ErrOpen: a value does not open under any key of the ring (unknown key
// id, altered bytes, or another owner's value).
var ErrOpen = errors.New("sealed value does not open")

// KeySize is the length of a key: AES-256.
const KeySize = 32

const prefix = "v1."

// Ring seals with its first key and opens with any. The zero Ring has no
// key: Seal and Open fail with ErrNoKey.
type Ring struct {
	keys []ringKey
}

type ringKey struct {
	id   string
	aead cipher.AEAD
}

// ParseKeys reads a comma-separated list of keys, each 64 hex digits or
// standard base64 of 32 bytes, primary first. "" is an empty ring.
func ParseKeys(s string) (*Ring, error) {
	var raw [][]byte
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, err := decodeKey(part)
		if err != nil {
			return nil, fmt.Errorf("storage credentials key %d: %w", len(raw)+1, err)
		}
		raw = append(raw, k)
	}
	return New(raw...)
}

func decodeKey(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	return nil, fmt.Errorf("want %d bytes as 64 hex digits or base64 (e.g. openssl rand -hex 32)", KeySize)
}

// New returns a ring of keys, primary first; each must be KeySize bytes.
func New(keys ...[]byte) (*Ring, error) {
	r := &Ring{}
	for i, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("key %d is %d bytes, want %d", i+1, len(k), KeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		sum := sha256.Sum256(k)
		r.keys = append(r.keys, ringKey{id: hex.EncodeToString(sum[:4]), aead: aead})
	}
	return r, nil
}

// Enabled reports whether the ring has a key.
func (r *Ring) Enabled() bool { return r != nil && len(r.keys) > 0 }

// Seal encrypts plain for owner under the primary key.
func (r *Ring) Seal(plain, owner string) (string, error) {
	if !r.Enabled() {
		return "", ErrNoKey
	}
	k := r.keys[0]
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	out := k.aead.Seal(nonce, nonce, []byte(plain), []byte(owner))
	return prefix + k.id + "." + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a value Seal made for owner, under whichever key of the
// ring sealed it.
func (r *Ring) Open(sealed, owner string) (string, error) {
	if !r.Enabled() {
		return "", ErrNoKey
	}
	id, body, ok := strings.Cut(strings.TrimPrefix(sealed, prefix), ".")
	if !ok || !strings.HasPrefix(sealed, prefix) {
		return "", fmt.Errorf("%w: not a sealed value", ErrOpen)
	}
	data, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return "", fmt.Errorf("%w: not a sealed value", ErrOpen)
	}
	for _, k := range r.keys {
		if k.id != id {
			continue
		}
		n := k.aead.NonceSize()
		if len(data) < n {
			break
		}
		plain, err := k.aead.Open(nil, data[:n], data[n:], []byte(owner))
		if err != nil {
			break
		}
		return string(plain), nil
	}
	return "", fmt.Errorf("%w: sealed under key %s, which the ring does not hold (or the value was altered)", ErrOpen, id)
}

// Primary reports whether sealed was sealed under the primary key (so a
// reseal after a rotation can skip it).
func (r *Ring) Primary(sealed string) bool {
	return r.Enabled() && strings.HasPrefix(sealed, prefix+r.keys[0].id+".")
}
