package recordfact

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTraceparent(t *testing.T) {
	const valid = "00-79d1bd80a03e206975fdab7107cc5378-799b2bab82a54cbb-01"
	tid, sid, sampled, err := ParseTraceparent(valid)
	require.NoError(t, err)
	assert.Equal(t, "79d1bd80a03e206975fdab7107cc5378", tid.String())
	assert.Equal(t, "799b2bab82a54cbb", sid.String())
	assert.True(t, sampled)

	_, _, sampled, err = ParseTraceparent("00-79d1bd80a03e206975fdab7107cc5378-799b2bab82a54cbb-00")
	require.NoError(t, err)
	assert.False(t, sampled)

	// A future version may append fields.
	_, _, _, err = ParseTraceparent("01-79d1bd80a03e206975fdab7107cc5378-799b2bab82a54cbb-03-extra")
	require.NoError(t, err)

	for _, bad := range []string{
		"",
		valid[:54],
		valid + "-x",           // version 00 has exactly 55 characters
		"ff" + valid[2:],       // version ff is invalid
		strings.ToUpper(valid), // hex must be lowercase
		"00-00000000000000000000000000000000-799b2bab82a54cbb-01", // zero trace id
		"00-79d1bd80a03e206975fdab7107cc5378-0000000000000000-01", // zero span id
		"00_79d1bd80a03e206975fdab7107cc5378-799b2bab82a54cbb-01",
		"00-79d1bd80a03e206975fdab7107cc537g-799b2bab82a54cbb-01",
		"01-79d1bd80a03e206975fdab7107cc5378-799b2bab82a54cbb-01x", // extra fields need a dash
	} {
		_, _, _, err := ParseTraceparent(bad)
		assert.ErrorIs(t, err, ErrMalformedTraceparent, bad)
	}
}

// FuzzParseTraceparent: never panics; an accepted value has non-empty ids that format back to
// the value's own fields.
func FuzzParseTraceparent(f *testing.F) {
	f.Add("00-79d1bd80a03e206975fdab7107cc5378-799b2bab82a54cbb-01")
	f.Add("01-79d1bd80a03e206975fdab7107cc5378-799b2bab82a54cbb-03-extra")
	f.Add("ff-79d1bd80a03e206975fdab7107cc5378-799b2bab82a54cbb-01")
	f.Fuzz(func(t *testing.T, v string) {
		tid, sid, sampled, err := ParseTraceparent(v)
		if err != nil {
			assert.True(t, tid.IsEmpty() && sid.IsEmpty() && !sampled)
			return
		}
		require.False(t, tid.IsEmpty())
		require.False(t, sid.IsEmpty())
		assert.Equal(t, v[3:52], fmt.Sprintf("%s-%s", tid, sid))
	})
}
