package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// maxDiffsPerTable bounds Diff's report; the count of the rest is still given.
const maxDiffsPerTable = 20

// Diff compares the content of two stores, ignoring insertion order, in the
// tables that a run or a merge must reproduce exactly: models, images,
// predictions, features and feature errors. Costs (measured, so never equal
// twice) and runs (a log) are not compared. It returns one line per difference, at most
// maxDiffsPerTable per table plus a line counting the rest; none when equal.
func Diff(ctx context.Context, a, b *Store) ([]string, error) {
	if a == b {
		return nil, nil
	}
	var out []string
	for _, t := range dataTables() {
		if t.name == "costs" {
			continue
		}
		d, err := diffTable(ctx, a, b, t)
		if err != nil {
			return nil, fmt.Errorf("diff %s and %s: %w", a.path, b.path, err)
		}
		out = append(out, d...)
	}
	return out, nil
}

// Equal reports whether Diff finds no difference.
func Equal(ctx context.Context, a, b *Store) (bool, error) {
	d, err := Diff(ctx, a, b)
	return len(d) == 0, err
}

// diffTable walks both tables in key order at once, so memory stays constant
// however large the stores are.
func diffTable(ctx context.Context, a, b *Store, t table) ([]string, error) {
	query := `SELECT ` + strings.Join(t.cols(), ", ") + ` FROM ` + t.name + ` ORDER BY ` + strings.Join(t.key, ", ")
	ra, err := newCursor(ctx, a.db, query, len(t.cols()))
	if err != nil {
		return nil, err
	}
	defer ra.rows.Close()
	rb, err := newCursor(ctx, b.db, query, len(t.cols()))
	if err != nil {
		return nil, err
	}
	defer rb.rows.Close()

	var out []string
	total := 0
	report := func(line string) {
		total++
		if total <= maxDiffsPerTable {
			out = append(out, t.name+" "+line)
		}
	}
	nk := len(t.key)
	for ra.ok || rb.ok {
		var c int
		switch {
		case !rb.ok:
			c = -1
		case !ra.ok:
			c = 1
		default:
			c = compareKeys(ra.vals[:nk], rb.vals[:nk])
		}
		switch {
		case c < 0:
			report(keyText(t.key, ra.vals[:nk]) + ": only in " + a.path)
			err = ra.next()
		case c > 0:
			report(keyText(t.key, rb.vals[:nk]) + ": only in " + b.path)
			err = rb.next()
		default:
			var diffs []string
			for i, v := range t.vals {
				x, y := ra.vals[nk+i], rb.vals[nk+i]
				if !sameValue(x, y) {
					diffs = append(diffs, fmt.Sprintf("%s %s vs %s", v, quoteCell(x), quoteCell(y)))
				}
			}
			if len(diffs) > 0 {
				report(keyText(t.key, ra.vals[:nk]) + ": " + strings.Join(diffs, "; "))
			}
			if err = ra.next(); err == nil {
				err = rb.next()
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
	}
	if total > maxDiffsPerTable {
		out = append(out, fmt.Sprintf("%s: %d more differences", t.name, total-maxDiffsPerTable))
	}
	return out, nil
}

// compareKeys orders keys as SQLite's ORDER BY does for the types in our
// keys: integers numerically, text bytewise.
func compareKeys(a, b []any) int {
	for i := range a {
		x, xok := a[i].(int64)
		y, yok := b[i].(int64)
		var c int
		if xok && yok {
			c = cmpInt(x, y)
		} else {
			c = strings.Compare(cellText(a[i]), cellText(b[i]))
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func cmpInt(x, y int64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// cursor is a rows iterator holding the current row's values.
type cursor struct {
	rows *sql.Rows
	vals []any
	ptrs []any
	ok   bool // vals holds a row
}

func newCursor(ctx context.Context, db *sql.DB, query string, n int) (*cursor, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c := &cursor{rows: rows, vals: make([]any, n), ptrs: make([]any, n)}
	for i := range c.vals {
		c.ptrs[i] = &c.vals[i]
	}
	if err := c.next(); err != nil {
		rows.Close()
		return nil, err
	}
	return c, nil
}

func (c *cursor) next() error {
	c.ok = c.rows.Next()
	if !c.ok {
		return c.rows.Err()
	}
	return c.rows.Scan(c.ptrs...)
}
