package sim

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Parse reads a World from its text form: one statement per line, words
// separated by blanks, "#" to the end of a line is a comment. Times are
// seconds, frequencies s/s, all numbers as Go parses float64 (1e-4).
//
//	name TEXT
//	duration SECONDS
//	measure [after SECONDS] [time-max SECONDS] [freq-max S/S]
//	link FROM TO [delay S] [jitter S] [asymmetry A] [loss P]
//	outage FROM TO (START END [every PERIOD] | pass-every N)
//	node NAME [offset S] [freq S/S] [freq-ramp S/S²] [wander S/S]
//	          [start S] [stratum N] [jump AT BY]... [send-latency S] [measured]
//	          [tx-timestamps]
//	server NODE SOURCE [minpoll N] [maxpoll N] [iburst]
//	peer NODE SOURCE [minpoll N] [maxpoll N] [iburst]
//
// "link * * ..." sets the default link (100 µs delay and jitter until
// then); "*" as FROM or TO matches any node, and a link rule starts from
// the default link as the lines above it set it. Nodes must be declared before a statement names them. Bad input
// is an error naming the line; nothing is returned with it.
func Parse(r io.Reader) (World, error) {
	p := parser{w: World{Link: Link{BaseDelay: 1e-4, Jitter: 1e-4}}, nodes: map[string]int{}}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text, _, _ := strings.Cut(sc.Text(), "#")
		words := strings.Fields(text)
		if len(words) == 0 {
			continue
		}
		if err := p.statement(words); err != nil {
			return World{}, fmt.Errorf("%w: line %d: %w", ErrWorld, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return World{}, fmt.Errorf("sim: reading world: %w", err)
	}
	if err := p.w.Validate(); err != nil {
		return World{}, err
	}
	return p.w, nil
}

type parser struct {
	w     World
	nodes map[string]int
}

// options reads "key value" pairs (and the flags in flags) from words.
type options struct {
	words []string
	err   error
}

func (o *options) next() (string, bool) {
	if o.err != nil || len(o.words) == 0 {
		return "", false
	}
	w := o.words[0]
	o.words = o.words[1:]
	return w, true
}

func (o *options) number(key string) float64 {
	w, ok := o.next()
	if !ok {
		if o.err == nil {
			o.err = fmt.Errorf("%s needs a value", key)
		}
		return 0
	}
	v, err := strconv.ParseFloat(w, 64)
	if err != nil {
		o.err = fmt.Errorf("%s %q is not a number", key, w)
	}
	return v
}

func (o *options) integer(key string, lo, hi int) int {
	v := o.number(key)
	if o.err == nil && (v != float64(int(v)) || v < float64(lo) || v > float64(hi)) {
		o.err = fmt.Errorf("%s %v is not an integer in %d..%d", key, v, lo, hi)
	}
	return int(v)
}

// ends reads the two node names (or *) that a link or an outage rule
// joins, from then to.
func (p *parser) ends(args []string) (from, to string, err error) {
	if from, err = p.node(args[0], true); err != nil {
		return "", "", err
	}
	to, err = p.node(args[1], true)
	return from, to, err
}

func (p *parser) node(name string, wildcard bool) (string, error) {
	if wildcard && name == "*" {
		return "", nil
	}
	if _, ok := p.nodes[name]; !ok {
		return "", fmt.Errorf("node %q is not declared", name)
	}
	return name, nil
}

func (p *parser) statement(words []string) error {
	kw, args := words[0], words[1:]
	need := func(n int) error {
		if len(args) < n {
			return fmt.Errorf("%s needs %d arguments", kw, n)
		}
		return nil
	}
	switch kw {
	case "name":
		p.w.Name = strings.Join(args, " ")
		return nil
	case "duration":
		if len(args) != 1 {
			return fmt.Errorf("duration takes one number")
		}
		o := options{words: args}
		p.w.Duration = o.number("duration")
		return o.err
	case "measure":
		o := options{words: args}
		for key, ok := o.next(); ok; key, ok = o.next() {
			switch key {
			case "after":
				p.w.Measure.After = o.number(key)
			case "time-max":
				p.w.Measure.TimeMax = o.number(key)
			case "freq-max":
				p.w.Measure.FreqMax = o.number(key)
			default:
				return fmt.Errorf("measure: unknown option %q", key)
			}
		}
		return o.err
	case "link":
		if err := need(2); err != nil {
			return err
		}
		from, to, err := p.ends(args)
		if err != nil {
			return err
		}
		l := p.w.Link
		o := options{words: args[2:]}
		for key, ok := o.next(); ok; key, ok = o.next() {
			switch key {
			case "delay":
				l.BaseDelay = o.number(key)
			case "jitter":
				l.Jitter = o.number(key)
			case "asymmetry":
				l.Asymmetry = o.number(key)
			case "loss":
				l.Loss = o.number(key)
			default:
				return fmt.Errorf("link: unknown option %q", key)
			}
		}
		if o.err != nil {
			return o.err
		}
		if from == "" && to == "" {
			p.w.Link = l
		} else {
			p.w.Links = append(p.w.Links, LinkRule{From: from, To: to, Link: l})
		}
		return nil
	case "outage":
		if err := need(3); err != nil {
			return err
		}
		from, to, err := p.ends(args)
		if err != nil {
			return err
		}
		r := OutageRule{From: from, To: to}
		o := options{words: args[2:]}
		if args[2] == "pass-every" {
			o.next()
			r.PassEvery = o.integer("pass-every", 1, 1<<30)
		} else {
			r.Start, r.End = o.number("start"), o.number("end")
			if key, ok := o.next(); ok {
				if key != "every" {
					return fmt.Errorf("outage: unknown option %q", key)
				}
				r.Every = o.number(key)
			}
		}
		if rest, ok := o.next(); ok {
			return fmt.Errorf("outage: unexpected %q", rest)
		}
		if o.err != nil {
			return o.err
		}
		p.w.Outages = append(p.w.Outages, r)
		return nil
	case "node":
		if err := need(1); err != nil {
			return err
		}
		n := NodeSpec{Name: args[0]}
		if _, dup := p.nodes[n.Name]; dup || n.Name == "*" {
			return fmt.Errorf("node %q declared twice or reserved", n.Name)
		}
		o := options{words: args[1:]}
		for key, ok := o.next(); ok; key, ok = o.next() {
			switch key {
			case "offset":
				n.Offset = o.number(key)
			case "freq":
				n.Freq = o.number(key)
			case "freq-ramp":
				n.FreqRamp = o.number(key)
			case "wander":
				n.Wander = o.number(key)
			case "start":
				n.Start = o.number(key)
			case "stratum":
				n.LocalStratum = uint8(o.integer(key, 1, 15))
			case "jump":
				n.Jumps = append(n.Jumps, ClockJump{At: o.number(key), By: o.number(key)})
			case "send-latency":
				n.SendLatency = o.number(key)
			case "measured":
				n.Measured = true
			case "tx-timestamps":
				n.TxTimestamps = true
			default:
				return fmt.Errorf("node: unknown option %q", key)
			}
		}
		if o.err != nil {
			return o.err
		}
		p.nodes[n.Name] = len(p.w.Nodes)
		p.w.Nodes = append(p.w.Nodes, n)
		return nil
	case "server", "peer":
		if err := need(2); err != nil {
			return err
		}
		if _, err := p.node(args[0], false); err != nil {
			return err
		}
		if _, err := p.node(args[1], false); err != nil {
			return err
		}
		s := Source{Node: args[1], Peer: kw == "peer"}
		o := options{words: args[2:]}
		for key, ok := o.next(); ok; key, ok = o.next() {
			switch key {
			case "minpoll":
				s.MinPoll = int8(o.integer(key, -8, 20))
			case "maxpoll":
				s.MaxPoll = int8(o.integer(key, -8, 20))
			case "iburst":
				s.IBurst = true
			default:
				return fmt.Errorf("%s: unknown option %q", kw, key)
			}
		}
		if o.err != nil {
			return o.err
		}
		n := &p.w.Nodes[p.nodes[args[0]]]
		n.Sources = append(n.Sources, s)
		return nil
	}
	return fmt.Errorf("unknown statement %q", kw)
}
