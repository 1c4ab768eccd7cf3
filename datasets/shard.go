package datasets

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard returns the item indices of shard i of count over n items: those with
// index % count == i. Because items are sorted by file name, the assignment
// depends only on the set, not on run order or machine; the shards of one
// count partition 0..n-1. It panics on 0 > i or i >= count, a programming
// error: flags go through ParseShard first.
func Shard(n, i, count int) []int {
	if count < 1 || i < 0 || i >= count {
		panic(fmt.Sprintf("datasets.Shard: shard %d of %d is not 0 <= i < count", i, count))
	}
	out := make([]int, 0, n/count+1)
	for j := i; j < n; j += count {
		out = append(out, j)
	}
	return out
}

// ParseShard parses a -shard flag value "i/count" (shards count from 0).
func ParseShard(s string) (i, count int, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	i, errI := strconv.Atoi(a)
	count, errC := strconv.Atoi(b)
	switch {
	case !ok || errI != nil || errC != nil:
		return 0, 0, fmt.Errorf("shard %q: want i/n, e.g. 0/8 for the first of 8 shards", s)
	case count < 1:
		return 0, 0, fmt.Errorf("shard %q: the shard count must be at least 1, e.g. 0/1 for the whole set", s)
	case i < 0 || i >= count:
		return 0, 0, fmt.Errorf("shard %q: want 0 <= i < %d; shards count from 0, so %d shards are 0/%d ... %d/%d",
			s, count, count, count, count-1, count)
	}
	return i, count, nil
}
