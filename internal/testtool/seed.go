package testtool

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// SeedEnv names the environment variable that replays a randomized test
// with the seed a failed run logged.
const SeedEnv = "NTPAGENT_TEST_SEED"

// Seed returns the seed of a randomized test and logs it with the command
// that replays it: $NTPAGENT_TEST_SEED when set (a bad value fails the
// test), otherwise a new one from the wall clock.
func Seed(t testing.TB) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(SeedEnv); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want an unsigned decimal seed: %v", SeedEnv, v, err)
		}
		seed = s
	}
	t.Logf("seed %d (replay: %s=%d go test -run '^%s$')", seed, SeedEnv, seed, t.Name())
	return seed
}
