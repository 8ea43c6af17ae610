package sim

import "github.com/ntpagent/ntpagent/ntpengine"

// Named returns the scenarios of the ntpsim table: chrony's default
// scenario, its jitter sweep, and the harder cases.
func Named() []Scenario {
	d := Default()
	with := func(name string, f func(*Scenario)) Scenario {
		s := d
		s.Name = name
		f(&s)
		return s
	}
	return []Scenario{
		d,
		with("default, no iburst", func(s *Scenario) { s.IBurst = false }),
		with("jitter 10us", func(s *Scenario) { s.Jitter = 10e-6 }),
		with("jitter 100us", func(s *Scenario) { s.Jitter = 100e-6 }),
		with("jitter 1ms", func(s *Scenario) { s.Jitter = 1e-3 }),
		with("jitter 10ms", func(s *Scenario) { s.Jitter = 10e-3 }),
		with("wander 100ppb/s", func(s *Scenario) { s.Wander = 100e-9 }),
		with("freq +500ppm", func(s *Scenario) { s.FreqOffset = 500e-6 }),
		with("freq -500ppm", func(s *Scenario) { s.FreqOffset = -500e-6 }),
		with("offset +100s", func(s *Scenario) { s.InitialOffset = 100 }),
		with("offset -100s", func(s *Scenario) { s.InitialOffset = -100 }),
		with("symmetric peer", func(s *Scenario) { s.Symmetric = true }),
		with("two symmetric engines", func(s *Scenario) { s.Topology = "pair" }),
		with("reference stops at 3000s", func(s *Scenario) { s.Topology = "stop"; s.StopAt = 3000 }),
		with("loss 20%", func(s *Scenario) { s.Loss = 0.2 }),
		with("default, 500 ppm slew", func(s *Scenario) { s.MaxSlewRate = 500 }),
		with("default, slew rate not told", func(s *Scenario) { s.UnstatedSlewRate = true }),
		with("default, RFC PLL/FLL", func(s *Scenario) { s.Discipline = ntpengine.DisciplineRFC }),
		with("jitter 1ms, RFC PLL/FLL", func(s *Scenario) { s.Jitter = 1e-3; s.Discipline = ntpengine.DisciplineRFC }),
		RealPath1ms(),
		with("real path 1ms, +50ms +20ppm", func(s *Scenario) {
			*s = RealPath1ms()
			s.Name, s.InitialOffset, s.FreqOffset = "real path 1ms, +50ms +20ppm", 0.05, 20e-6
		}),
	}
}

// RealPath1ms is the path of the real-wire measurements beside chronyd
// (base delay 1 ms and exponential jitter 1 ms each way, minpoll 4,
// maxpoll 6), with a clock on time whose frequency is 20 ppm slow.
func RealPath1ms() Scenario {
	s := Default()
	s.Name = "real path 1ms, -20ppm"
	s.BaseDelay, s.Jitter, s.MinPoll, s.MaxPoll = 1e-3, 1e-3, 4, 6
	s.InitialOffset, s.FreqOffset = 0, -20e-6
	return s
}
