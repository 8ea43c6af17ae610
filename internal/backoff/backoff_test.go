package backoff

import (
	"testing"
	"time"
)

func TestDoublingStartsAtFirstDoublesAndStopsAtMax(t *testing.T) {
	b := Doubling{First: time.Second, Max: time.Minute}
	for _, c := range []struct {
		n    int
		want time.Duration
	}{
		{0, 0}, {-1, 0},
		{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second},
		{6, 32 * time.Second}, {7, time.Minute}, {8, time.Minute},
		{1 << 20, time.Minute}, // never overflows
	} {
		if got := b.Delay(c.n); got != c.want {
			t.Errorf("Delay(%d) = %v, want %v", c.n, got, c.want)
		}
	}
}

// A First above Max is cut to Max: Max bounds every delay.
func TestDoublingNeverExceedsMax(t *testing.T) {
	b := Doubling{First: 10 * time.Minute, Max: 5 * time.Minute}
	if got := b.Delay(1); got != 5*time.Minute {
		t.Errorf("Delay(1) = %v, want 5m", got)
	}
}
