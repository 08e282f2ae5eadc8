package recordfact // import "github.com/eventlineage/lineage/internal/recordfact"

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
)

// Key hash algorithms of AttrKeyHash.
const (
	// AlgorithmHMACSHA256 is HMAC-SHA256 keyed with a secret: without the secret a hash cannot be
	// checked against guessed keys.
	AlgorithmHMACSHA256 = "hmac-sha256"
	// AlgorithmSHA256 is plain SHA-256, for keys that are not sensitive.
	AlgorithmSHA256 = "sha256"
)

// KeyHasher computes the key hash of record facts (AttrKeyHash): the kafka_records receiver
// writes it, the lineage store's writers and readers compute the same hash from a key read on a
// span or typed into a query. Every component comparing key hashes must use the same algorithm and
// secret. A KeyHasher is immutable and safe for concurrent use.
type KeyHasher struct {
	algorithm string
	secret    []byte
}

// NewKeyHasher returns the hasher of algorithm (AlgorithmHMACSHA256 or AlgorithmSHA256). The
// secret is required with AlgorithmHMACSHA256 and ignored with AlgorithmSHA256.
func NewKeyHasher(algorithm, secret string) (*KeyHasher, error) {
	switch algorithm {
	case AlgorithmHMACSHA256:
		if secret == "" {
			return nil, errors.New("key hash: a secret is required with algorithm " + AlgorithmHMACSHA256)
		}
		return &KeyHasher{algorithm: algorithm, secret: []byte(secret)}, nil
	case AlgorithmSHA256:
		return &KeyHasher{algorithm: algorithm}, nil
	}
	return nil, fmt.Errorf("key hash: algorithm must be %q or %q, got %q", AlgorithmHMACSHA256, AlgorithmSHA256, algorithm)
}

// Algorithm returns the hasher's algorithm.
func (h *KeyHasher) Algorithm() string { return h.algorithm }

// New returns a fresh hash state (for callers hashing many keys on one goroutine: Reset, Write,
// Sum and hex-encode, as HashKey does).
func (h *KeyHasher) New() hash.Hash {
	if h.algorithm == AlgorithmSHA256 {
		return sha256.New()
	}
	return hmac.New(sha256.New, h.secret)
}

// HashKey returns the lowercase hex hash of key.
func (h *KeyHasher) HashKey(key []byte) string {
	s := h.New()
	s.Write(key)
	return hex.EncodeToString(s.Sum(nil))
}
