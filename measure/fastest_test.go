package measure

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestFastestPerItem(t *testing.T) {
	// Op "slow" sleeps longer on item 1; every op runs once per round on
	// item round%n, so 6 rounds give each item 3 repetitions.
	var calls [2][3]int
	ops := []func(int) error{
		func(i int) error { calls[0][i]++; return nil },
		func(i int) error {
			calls[1][i]++
			if i == 1 {
				time.Sleep(2 * time.Millisecond)
			}
			return nil
		},
	}
	left := 9
	more := func() bool { left--; return left >= 0 }
	fastest, rounds, err := FastestPerItem(more, 3, 3, []string{"fast", "slow"}, ops, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if rounds != 9 {
		t.Errorf("rounds %d, want 9", rounds)
	}
	for k := range calls {
		for i, c := range calls[k] {
			if c != 3 {
				t.Errorf("op %d ran %d times on item %d, want 3", k, c, i)
			}
		}
	}
	if fastest[1][1] < 2*time.Millisecond {
		t.Errorf("slow op on item 1: fastest %v, want >= 2ms", fastest[1][1])
	}
	if m := MeanMS(fastest[1]); m < 2.0/3 {
		t.Errorf("slow op's mean %.3f ms, want >= 0.667", m)
	}
	if MeanMS(nil) != 0 {
		t.Error("MeanMS of nothing is not 0")
	}
}

func TestFastestPerItemErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	boom := errors.New("boom")
	ops := []func(int) error{func(int) error { return nil }, func(i int) error {
		if i == 1 {
			return boom
		}
		return nil
	}}
	left := 5
	more := func() bool { left--; return left >= 0 }
	_, _, err := FastestPerItem(more, 2, 1, []string{"ok", "fails"}, ops, rng)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "fails on item 1") {
		t.Errorf("error %v, want the op's error naming it and the item", err)
	}
	left = 3
	_, rounds, err := FastestPerItem(more, 2, 2, []string{"ok", "ok2"}, []func(int) error{ops[0], ops[0]}, rng)
	if err == nil || rounds != 3 || !strings.Contains(err.Error(), "want 4 or more") {
		t.Errorf("3 rounds for 2 items x 2 repetitions: rounds %d, error %v", rounds, err)
	}
	if _, _, err := FastestPerItem(more, 2, 1, []string{"one"}, ops, rng); err == nil {
		t.Error("names and ops of different lengths were accepted")
	}
}
