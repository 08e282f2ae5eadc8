package sqlstore

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChunkSizes(t *testing.T) {
	for _, c := range []struct {
		n, per int
		want   []int
	}{
		{0, 500, nil},
		{1, 500, []int{1}},
		{500, 500, []int{500}},
		{1000, 500, []int{500, 500}},
		{1437, 500, []int{500, 500, 256, 128, 32, 16, 4, 1}},
		{7, 2, []int{2, 2, 2, 1}},
	} {
		got := chunkSizes(c.n, c.per)
		assert.Equal(t, c.want, got, "chunkSizes(%d, %d)", c.n, c.per)
		sum := 0
		for _, s := range got {
			assert.LessOrEqual(t, s, c.per)
			sum += s
		}
		assert.Equal(t, c.n, sum)
	}
}

// TestStatementsPreparedOnce: the first write's statements are prepared on the writer pool once it
// ended; a second write of the same shape prepares nothing new.
func TestStatementsPreparedOnce(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	defer s.Close()
	require.NoError(t, s.Write(ctx, benchUnits(0, 3)))
	s.stmts.mu.Lock()
	prepared, missing := len(s.stmts.stmts), len(s.stmts.missing)
	s.stmts.mu.Unlock()
	assert.NotZero(t, prepared)
	assert.Zero(t, missing)

	require.NoError(t, s.Write(ctx, benchUnits(3, 3)))
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	assert.Len(t, s.stmts.stmts, prepared, "the same shapes again")
	assert.Empty(t, s.stmts.missing)
}
