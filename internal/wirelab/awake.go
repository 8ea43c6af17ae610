//go:build linux

package wirelab

import (
	"fmt"
	"os/exec"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// keepAwake keeps every CPU of the host from idling while a lab runs: it
// returns the process IDs of the busy processes it started and the
// function that stops them.
//
// On a virtual machine a CPU that idles halts, and the hypervisor takes
// the virtual CPU off its physical one; waking it again (a datagram for a
// thread waiting on it, a timer) waits for the hypervisor to schedule it
// back. On this project's 2-core virtual machines that wait was 3, 6, 9
// and up to 15 ms (multiples of about 2.9 ms: the host's scheduling),
// every few datagrams when the machine was otherwise idle, the delay
// lines' real-time threads and the clients alike: the line then holds a
// datagram milliseconds past its deadline, and the client whose exchange
// it was reads a sample as far off. With one busy process per CPU at the
// lowest priority there is (SCHED_IDLE: it runs only when nothing else
// wants that CPU, and anything that wakes preempts it at once) no CPU
// halts: in the same lab, the same evening, the lines' datagrams were
// sent within 70 µs of their deadlines instead of up to 15 ms past them.
// The processes burn otherwise idle time only; they stop with the lab.
//
// They are separate processes (sh running an empty loop), not goroutines:
// a goroutine that the kernel runs only when a CPU is free would hold up
// every stop of the Go runtime (a garbage collection waits for each
// running goroutine), and with it the delay lines' own threads.
func keepAwake() (pids []int, wake func(), err error) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		return nil, nil, fmt.Errorf("wirelab: keep the CPUs awake: %w", err)
	}
	// A child inherits the scheduling policy of the thread that starts
	// it: they are started from a thread of their own at SCHED_IDLE,
	// which waits until the lab ends, kills them and ends with its
	// goroutine (locked, never unlocked). Should the lab's process die
	// first, so does the thread, and the kernel kills them
	// (Pdeathsig).
	started, stop, stopped := make(chan error, 1), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		runtime.LockOSThread()
		var procs []*exec.Cmd
		defer func() {
			for _, p := range procs {
				p.Process.Kill()
				p.Wait()
			}
		}()
		if err := unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_IDLE}, 0); err != nil {
			started <- fmt.Errorf("wirelab: keep the CPUs awake: SCHED_IDLE: %w", err)
			return
		}
		for range runtime.NumCPU() {
			p := exec.Command(sh, "-c", "while :; do :; done")
			p.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			if err := p.Start(); err != nil {
				started <- fmt.Errorf("wirelab: keep the CPUs awake: %w", err)
				return
			}
			procs = append(procs, p)
			pids = append(pids, p.Process.Pid)
		}
		started <- nil
		<-stop
	}()
	if err := <-started; err != nil {
		<-stopped
		return nil, nil, err
	}
	return pids, func() { close(stop); <-stopped }, nil
}

// awake shares one set of keepAwake's processes among the labs a process
// runs at once (ntpagent-bench realpath runs three).
var awake awakeShare

type awakeShare struct {
	mu   sync.Mutex
	n    int
	wake func()
}

// hold keeps the CPUs awake until the function it returns is called (by
// every holder, when several labs hold them).
func (a *awakeShare) hold() (release func(), err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == 0 {
		if _, a.wake, err = keepAwake(); err != nil {
			return nil, err
		}
	}
	a.n++
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			if a.n--; a.n == 0 {
				a.wake()
				a.wake = nil
			}
		})
	}, nil
}
