package clock

import (
	"testing"
	"time"
)

// System's timers are the host's: a stopped AfterFunc never runs, a NewTimer
// delivers on its channel, and Reset re-arms a fired timer.
func TestSystemTimersBehaveLikePackageTime(t *testing.T) {
	var c Clock = System{}
	ran := make(chan struct{}, 1)
	stopped := c.AfterFunc(time.Hour, func() { ran <- struct{}{} })
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop must report true once, then false")
	}
	tm, ch := c.NewTimer(0)
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("NewTimer(0) did not fire")
	}
	if tm.Reset(0) {
		t.Fatal("Reset of a fired timer reported it pending")
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("a Reset timer did not fire again")
	}
	select {
	case <-ran:
		t.Fatal("a stopped AfterFunc ran")
	default:
	}
}

func TestOrMeansSystemForNil(t *testing.T) {
	if _, ok := Or(nil).(System); !ok {
		t.Fatal("Or(nil) is not System")
	}
	var c Clock = System{}
	if Or(c) != c {
		t.Fatal("Or changed a non-nil clock")
	}
}
