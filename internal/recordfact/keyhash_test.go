package recordfact

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeyHasher(t *testing.T) {
	// Reference values: `printf acct-01 | sha256sum` and
	// `printf acct-01 | openssl dgst -sha256 -hmac s3cret`.
	sha, err := NewKeyHasher(AlgorithmSHA256, "ignored")
	require.NoError(t, err)
	assert.Equal(t, "d7b0126a49cf00aa6e0d45b5bcb0cc0cd7a207bbb9c0da2d31d17f6fef86850f", sha.HashKey([]byte("acct-01")))
	assert.Equal(t, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", sha.HashKey(nil), "an empty key has the hash of nothing")
	assert.Equal(t, AlgorithmSHA256, sha.Algorithm())

	hm, err := NewKeyHasher(AlgorithmHMACSHA256, "s3cret")
	require.NoError(t, err)
	assert.Equal(t, "72967e76d697bc01ae420c562ba5ed4d2ab9dc94c6c8e6629d0f141471fb2cc4", hm.HashKey([]byte("acct-01")))
	other, err := NewKeyHasher(AlgorithmHMACSHA256, "other")
	require.NoError(t, err)
	assert.NotEqual(t, hm.HashKey([]byte("acct-01")), other.HashKey([]byte("acct-01")), "the secret keys the hash")

	// New gives the state HashKey uses.
	s := hm.New()
	s.Write([]byte("acct-01"))
	assert.Equal(t, hm.HashKey([]byte("acct-01")), hex.EncodeToString(s.Sum(nil)))
}

func TestNewKeyHasherErrors(t *testing.T) {
	_, err := NewKeyHasher(AlgorithmHMACSHA256, "")
	assert.EqualError(t, err, "key hash: a secret is required with algorithm hmac-sha256")
	_, err = NewKeyHasher("md5", "x")
	assert.EqualError(t, err, `key hash: algorithm must be "hmac-sha256" or "sha256", got "md5"`)
}
