package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/ntpagent/ntpagent/server/nacm"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/ntpagent/ntpagent/datastore"
	"github.com/ntpagent/ntpagent/datastore/rules"
	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// Config is what a CLI needs.
type Config struct {
	// Store is the datastore shared with NETCONF: CLI edits go to its
	// candidate, commit is its Commit.
	Store *datastore.Store
	// State returns a snapshot of the operational state (Ntp.Status and
	// Ntp.Sessions filled); nil means no engine is running.
	State func() *gen.Device
	// Check returns the product rules' verdict on a tree (rules.Check by
	// default). The CLI refuses a command whose edit makes a new violation,
	// except a reference to something not configured yet (data-missing),
	// which the commit reports.
	Check func(root *gen.Device) error
	// Policy returns the access control policy of running as it is now
	// (RFC 8341; the NETCONF server's, so both protocols decide alike);
	// nil: the factory defaults, whatever /nacm says.
	Policy func() *nacm.Policy
	// Software is shown in the header of display current-configuration.
	Software string
	Logger   *slog.Logger
}

// CLI serves VRP-style command line sessions. It implements
// server.TerminalHandler; one CLI serves any number of sessions at once.
type CLI struct {
	cfg   Config
	store backend
	roots map[view]*node
	log   *slog.Logger
	// policy is the access control policy now (Config.Policy, or the
	// factory defaults).
	policy func() *nacm.Policy
}

// New returns a CLI over cfg.Store.
func New(cfg Config) *CLI {
	if cfg.Check == nil {
		cfg.Check = func(root *gen.Device) error { return rules.Check(root) }
	}
	if cfg.Software == "" {
		cfg.Software = "ntpagent"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &CLI{cfg: cfg, store: cfg.Store, roots: grammar(), log: log}
	c.policy = cfg.Policy
	if c.policy == nil {
		p, err := factoryPolicy()
		if err != nil {
			log.Error("access control: the factory defaults do not compile; every command is denied", "err", err)
		}
		c.policy = func() *nacm.Policy { return p }
	}
	return c
}

// maxLineBytes bounds one command line. Longer lines are refused whole with
// an error (x/term's own limit of 4096 runes is never reached).
const maxLineBytes = 2048

// ServeTerminal runs one session: an interactive shell when the client asked
// for a PTY, a batch of lines read from stdin for a shell without one, or the
// command of an exec request. It returns the exit status: 0, or 1 when a
// batch or exec command failed. The session's datastore session ends with
// it: its locks are released (RFC 6241 §7.5).
func (c *CLI) ServeTerminal(ctx context.Context, ts *TerminalSession) int {
	s := &session{
		c:    c,
		ts:   ts,
		ss:   datastore.Session{ID: ts.ID, User: ts.User, Origin: datastore.OriginCLI},
		view: userView,
		ctx:  ctx,
	}
	defer c.store.CloseSession(s.ss)
	c.log.Info("cli session", "id", ts.ID, "user", ts.User, "role", ts.Role, "pty", ts.PTY, "exec", ts.Command != "")
	switch {
	case ts.Command != "":
		return s.serveExec(ts.Command)
	case ts.PTY:
		return s.serveInteractive()
	default:
		return s.serveBatch()
	}
}

// session is the state of one CLI session.
type session struct {
	c  *CLI
	ts *TerminalSession
	// acc is the session's access control answers under accPolicy.
	acc       *nacm.Access
	accPolicy *nacm.Policy
	ss        datastore.Session
	view      view
	ctx       context.Context
	done      bool // quit in the user view

	out     bytes.Buffer   // output of the running command
	w       io.Writer      // where output goes
	term    *term.Terminal // interactive only
	guard   *inputGuard    // interactive only
	failed  bool           // some command failed (exit status)
	leadCol int            // columns on screen before the command line (prompt)
	// echoOnError: print the command above its caret (exec: no prompt and
	// no echo show it).
	echoOnError bool
	inCallback  bool         // output of '?', Tab, Ctrl-Z: never paged
	height      atomic.Int32 // terminal height (window-change updates it)
	pageSet     bool         // screen-length set for this session
	pageLines   int
}

func (s *session) printf(format string, a ...any) { fmt.Fprintf(&s.out, format, a...) }

// prompt is VRP's: <NAME> in the user view; in the system view [~NAME] when
// the candidate holds no uncommitted change and [*NAME] when it does (VRP's
// two-stage configuration mode). NAME is the running sysname.
func (s *session) prompt() string {
	name := s.running().GetSystem().GetSysname()
	if name == "" {
		name = "ntpagent"
	}
	if s.view == userView {
		return "<" + name + ">"
	}
	mark := "~"
	if s.c.store.CandidateModified() {
		mark = "*"
	}
	return "[" + mark + name + "]"
}

func (s *session) flush() {
	if s.out.Len() == 0 {
		return
	}
	if s.term != nil && !s.inCallback {
		s.page()
	} else {
		s.w.Write(s.out.Bytes())
	}
	s.out.Reset()
}

// page writes the output of a command a screen at a time, as VRP does: at
// "---- More ----" the space bar shows the next screen, Enter the next line,
// any other key (or Ctrl-C) the prompt. screen-length N temporary sets the
// screen (0: no paging); by default it is the terminal's height less one.
func (s *session) page() {
	lines := strings.SplitAfter(s.out.String(), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	size := s.screenLength()
	if size <= 0 || len(lines) <= size {
		s.w.Write(s.out.Bytes())
		return
	}
	next := size
	s.w.Write([]byte(strings.Join(lines[:next], "")))
	for next < len(lines) {
		const more = "  ---- More ----"
		s.w.Write([]byte(more))
		key, err := s.guard.readKey()
		// Erase the More prompt (x/term writes straight through here: the
		// cursor is at the start of an empty line between ReadLine calls).
		s.ts.Stdout.Write([]byte("\r" + strings.Repeat(" ", len(more)) + "\r"))
		step := 0
		switch {
		case err != nil:
		case key == ' ':
			step = size
		case key == '\r' || key == '\n':
			step = 1
			if key == '\r' {
				s.guard.skipLF()
			}
		}
		if step == 0 {
			return
		}
		end := min(next+step, len(lines))
		s.w.Write([]byte(strings.Join(lines[next:end], "")))
		next = end
	}
}

// ask shows a question and reads the answer line (interactive sessions);
// ok is false when the session's input ended.
func (s *session) ask(question string) (answer string, ok bool) {
	s.flush()
	s.term.SetPrompt(question)
	line, err := s.term.ReadLine()
	if errors.Is(err, term.ErrPasteIndicator) {
		err = nil
	}
	return line, err == nil
}

// screenLength is the paging size of the session.
func (s *session) screenLength() int {
	if s.pageSet {
		return s.pageLines
	}
	return int(s.height.Load()) - 1
}

// execute runs one command line and reports whether it succeeded. Its output
// (and errors) go to s.w.
func (s *session) execute(line string) (ok bool) {
	defer s.flush()
	defer func() {
		// A bug in a command (or in the State it renders, which the agent
		// provides) ends that command, not the daemon and its other
		// sessions. Edits cannot be left half-done: the store applies them
		// to a copy.
		if r := recover(); r != nil {
			s.c.log.Error("cli command panicked", "session", s.ts.ID, "user", s.ts.User, "panic", fmt.Sprint(r))
			s.printf("Error: The command failed with an internal error.\n")
			ok = false
		}
	}()
	line = strings.TrimRight(line, "\r\n")
	trimmed := strings.TrimLeft(line, " \t")
	if trimmed == "" || trimmed[0] == '#' || trimmed[0] == '!' {
		return true // comment lines of display current-configuration
	}
	p, serr := parse(s.c.roots[s.view], line)
	if serr != nil {
		if s.echoOnError {
			// Nothing shows the command above the caret: show it.
			s.printf("%s\n", printableEcho(line))
		}
		s.caret(serr)
		return false
	}
	if p.op != ([2]string{}) && !s.may(p.op) {
		s.printf("Error: Access control does not permit this user to run this command.\n")
		s.c.log.Info("cli command denied", "session", s.ts.ID, "user", s.ts.User, "operation", p.op[1])
		return false
	}
	err := p.run(s, p.args)
	if err == nil && p.args.has("pipe") {
		err = s.filterOutput(p.args["pipe"], p.args["regex"])
	}
	s.c.log.Info("cli command", "session", s.ts.ID, "user", s.ts.User, "command", auditLine(line, p.args), "ok", err == nil)
	if err != nil {
		s.printError(err)
		return false
	}
	return true
}

// auditLine is the command as the log records it: a key value is masked.
func auditLine(line string, a args) string {
	if k, ok := a["key"]; ok && k != "" {
		line = strings.ReplaceAll(line, k, "******")
	}
	if len(line) > 256 {
		line = line[:256] + "..."
	}
	return strings.ToValidUTF8(line, "?")
}

func roleName(r Role) string {
	if r == "" {
		return "operator"
	}
	return string(r)
}

// caret prints VRP's syntax error: a caret under the failing word, then the
// error line.
func (s *session) caret(e *syntaxError) {
	s.printf("%s^\n%s\n", strings.Repeat(" ", s.leadCol+e.col), e.Error())
}

// printError prints each rpc-error as "Error: <message>", the error-message
// NETCONF shows for the same failure.
func (s *session) printError(err error) {
	_, located := err.(locatedError)
	for _, e := range rpcerror.All(err) {
		s.printf("Error: %s\n", e.Message)
		if located && (strings.HasPrefix(e.Path, "/ntpa:ntp") || strings.HasPrefix(e.Path, "/ntps:system")) {
			s.printf("       (at %s)\n", e.Path)
		}
		if e.Tag == rpcerror.TagLockDenied {
			for _, l := range s.c.store.Locks() {
				if l.SessionID != s.ss.ID {
					s.printf("Info: Session %d of user %s has held the lock on %s since %s.\n",
						l.SessionID, l.User, l.Datastore, l.Since.UTC().Format(vrpTime))
				}
			}
		}
	}
}

// filterOutput keeps the lines of the command's output that the pipe
// selects.
func (s *session) filterOutput(mode, expr string) error {
	re, err := regexp.Compile(expr)
	if err != nil {
		s.out.Reset()
		return cliErrorf("The regular expression is not valid: %s.", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	var kept bytes.Buffer
	begun := false
	for _, l := range strings.SplitAfter(s.out.String(), "\n") {
		if l == "" {
			continue
		}
		m := re.MatchString(strings.TrimRight(l, "\n"))
		switch mode {
		case "include":
			if m {
				kept.WriteString(l)
			}
		case "exclude":
			if !m {
				kept.WriteString(l)
			}
		case "begin":
			if m {
				begun = true
			}
			if begun {
				kept.WriteString(l)
			}
		}
	}
	s.out.Reset()
	s.out.Write(kept.Bytes())
	return nil
}

// locatedError marks the errors of commit and rollback: they may concern
// any part of the configuration, so their paths are printed too.
type locatedError struct{ error }

func (e locatedError) Unwrap() error { return e.error }

// cliErrorf makes the CLI's own errors rpc-errors too, so every failure
// prints the same way.
func cliErrorf(format string, a ...any) error {
	return rpcerror.New(rpcerror.TagOperationFailed, "", format, a...)
}

// serveExec runs the command of an exec request: commands separated by ';'
// or new lines, run in order from the user view; the first failure stops the
// rest and makes the exit status 1.
func (s *session) serveExec(command string) int {
	s.w = s.plainOut()
	s.echoOnError = true
	for _, line := range strings.FieldsFunc(command, func(r rune) bool { return r == ';' || r == '\n' }) {
		if s.ctx.Err() != nil || s.done {
			break
		}
		if len(line) > maxLineBytes {
			fmt.Fprintf(s.w, "Error: The command is longer than %d bytes.\n", maxLineBytes)
			return 1
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !s.execute(line) {
			return 1
		}
	}
	return 0
}

// serveBatch reads lines from stdin (a shell without a PTY): each is echoed
// after the prompt, like a transcript, and run; a failing line does not stop
// the batch but makes the exit status 1.
func (s *session) serveBatch() int {
	s.w = s.plainOut()
	br := bufio.NewReaderSize(s.ts.Stdin, maxLineBytes+2)
	for s.ctx.Err() == nil && !s.done {
		line, tooLong, err := readBoundedLine(br)
		if line == "" && !tooLong && err != nil {
			break
		}
		p := s.prompt()
		s.leadCol = len([]rune(p))
		if tooLong {
			fmt.Fprintf(s.w, "%s%s...\nError: The command is longer than %d bytes.\n", p, line[:min(len(line), 40)], maxLineBytes)
			s.failed = true
		} else {
			fmt.Fprintf(s.w, "%s%s\n", p, printableEcho(line))
			if !s.execute(line) {
				s.failed = true
			}
		}
		if err != nil {
			break
		}
	}
	if s.failed {
		return 1
	}
	return 0
}

// plainOut is stdout for exec and batch output: with a PTY (ssh -t) the
// client's terminal is raw, so new lines become CR LF.
func (s *session) plainOut() io.Writer {
	if s.ts.PTY {
		return crlfWriter{s.ts.Stdout}
	}
	return s.ts.Stdout
}

type crlfWriter struct{ w io.Writer }

func (c crlfWriter) Write(p []byte) (int, error) {
	if _, err := c.w.Write(bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n"))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// printableEcho shows control characters of an echoed line as pictures, so a batch
// cannot drive the client's terminal.
func printableEcho(line string) string {
	if printable(line) {
		return line
	}
	// One column for one rune of the tokenizer, so the caret stays aligned:
	// control characters as their Unicode control pictures (U+2400...), bytes
	// that are not UTF-8 as U+FFFD.
	var b strings.Builder
	for i := 0; i < len(line); {
		r, sz := utf8.DecodeRuneInString(line[i:])
		i += sz
		switch {
		case r < 0x20:
			b.WriteRune(0x2400 + r)
		case r == 0x7f:
			b.WriteRune(0x2421)
		case r >= 0x80 && r < 0xa0:
			b.WriteRune(0xFFFD)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// readBoundedLine reads one line of at most maxLineBytes bytes; a longer line
// is consumed to its end and reported with tooLong (line holds its start).
func readBoundedLine(br *bufio.Reader) (line string, tooLong bool, err error) {
	b, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || len(bytes.TrimRight(b, "\r\n")) > maxLineBytes {
		head := string(b[:min(len(b), 64)])
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n')
		}
		return head, true, err
	}
	return strings.TrimRight(string(b), "\r\n"), false, err
}

// serveInteractive runs a shell with a PTY: golang.org/x/term's line editor
// (history, cursor keys), '?' help and Tab completion.
func (s *session) serveInteractive() int {
	s.guard = &inputGuard{r: s.ts.Stdin}
	rw := struct {
		io.Reader
		io.Writer
	}{s.guard, s.ts.Stdout}
	t := term.NewTerminal(rw, "")
	s.term = t
	s.w = t
	if s.ts.Width > 0 && s.ts.Height > 0 {
		t.SetSize(s.ts.Width, s.ts.Height)
	}
	s.height.Store(int32(s.ts.Height))
	stop := make(chan struct{})
	defer close(stop)
	if s.ts.Resize != nil {
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-s.ctx.Done():
					return
				case wh, ok := <-s.ts.Resize:
					if !ok {
						return
					}
					t.SetSize(wh[0], wh[1])
					s.height.Store(int32(wh[1]))
				}
			}
		}()
	}
	t.AutoCompleteCallback = s.keypress
	for s.ctx.Err() == nil && !s.done {
		p := s.prompt()
		s.leadCol = len([]rune(p))
		t.SetPrompt(p)
		line, err := t.ReadLine()
		if errors.Is(err, term.ErrPasteIndicator) {
			err = nil
		}
		if err != nil {
			break
		}
		if s.guard.overflow {
			s.guard.overflow = false
			fmt.Fprintf(t, "Error: The command is longer than %d bytes.\n", maxLineBytes)
			continue
		}
		s.execute(line)
	}
	return 0
}

// inputGuard filters the keystrokes of an interactive session before the
// line editor sees them: a line longer than maxLineBytes is cut and flagged
// (refused when Enter comes); Ctrl-C (which x/term would turn into end of
// file) becomes Ctrl-U, which abandons the line typed so far; bytes that are
// not UTF-8 are dropped (x/term would wait forever for the rest of such a
// "rune"). It hands the line editor at most one line per Read, so that what
// was typed after Enter is still here for the pager (readKey).
type inputGuard struct {
	r        io.Reader
	n        int
	drop     bool
	overflow bool
	err      error
	partial  []byte // the start of a rune split across reads
	queue    []byte // filtered bytes not handed out yet
	buf      [512]byte
}

// fill reads once from the client and queues what passes the filter.
func (g *inputGuard) fill() {
	if g.err != nil {
		return
	}
	copy(g.buf[:], g.partial)
	n, err := g.r.Read(g.buf[len(g.partial):])
	in := g.buf[:len(g.partial)+n]
	g.partial = g.partial[:0]
	g.err = err
	for len(in) > 0 {
		b := in[0]
		size := 1
		if b >= utf8.RuneSelf {
			if !utf8.FullRune(in) && err == nil {
				g.partial = append(g.partial, in...)
				break
			}
			r, sz := utf8.DecodeRune(in)
			if r == utf8.RuneError && sz <= 1 {
				in = in[1:]
				continue
			}
			size = sz
		}
		switch {
		case b == '\r' || b == '\n':
			g.n, g.drop = 0, false
			g.queue = append(g.queue, b)
		case g.drop:
		case b == 0x03:
			g.n = 0
			g.queue = append(g.queue, 0x15)
		default:
			g.n += size
			if g.n > maxLineBytes {
				g.drop, g.overflow = true, true
				break
			}
			g.queue = append(g.queue, in[:size]...)
		}
		in = in[size:]
	}
}

func (g *inputGuard) Read(p []byte) (int, error) {
	for i := 0; len(g.queue) == 0 && g.err == nil && i < 1<<16; i++ {
		g.fill()
	}
	if len(g.queue) == 0 {
		return 0, g.err
	}
	n := 0
	for n < len(p) && n < len(g.queue) {
		b := g.queue[n]
		p[n] = b
		n++
		if b == '\r' || b == '\n' {
			if b == '\r' && n < len(p) && n < len(g.queue) && g.queue[n] == '\n' {
				p[n] = '\n'
				n++
			}
			break
		}
	}
	g.queue = g.queue[n:]
	return n, nil
}

// readKey returns the next byte typed (for the pager).
func (g *inputGuard) readKey() (byte, error) {
	for i := 0; len(g.queue) == 0 && g.err == nil && i < 1<<16; i++ {
		g.fill()
	}
	if len(g.queue) == 0 {
		return 0, g.err
	}
	b := g.queue[0]
	g.queue = g.queue[1:]
	return b, nil
}

// keypress is x/term's AutoCompleteCallback: '?' shows help for the words
// before the cursor, Tab completes the word at the cursor, Ctrl-Z returns to
// the user view.
func (s *session) keypress(line string, pos int, key rune) (string, int, bool) {
	s.inCallback = true
	defer func() { s.inCallback = false }()
	switch key {
	case '?':
		before := line[:pos]
		s.leadCol = len([]rune(s.prompt()))
		s.printf("%s%s?\n", s.prompt(), before)
		s.help(before)
		s.flush()
		return line, pos, true
	case '\t':
		return s.tab(line, pos)
	case 0x1a:
		// Ctrl-Z: VRP's shortcut for return, from any view.
		if s.view == userView {
			return line, pos, true
		}
		s.printf("%s%s^Z\n", s.prompt(), line)
		cmdReturn(s, nil)
		s.term.SetPrompt(s.prompt())
		s.flush()
		return "", 0, true
	}
	return "", 0, false
}

// help writes '?' help for the text before the cursor: "dis?" lists the
// words starting with dis, "dis ?" what may follow display.
func (s *session) help(before string) {
	items, serr := helpFor(s.c.roots[s.view], before, s.may)
	if serr != nil {
		s.caret(serr)
		return
	}
	width := 0
	for _, it := range items {
		width = max(width, len(it.word))
	}
	for _, it := range items {
		if it.help == "" {
			s.printf("  %s\n", it.word)
			continue
		}
		s.printf("  %-*s  %s\n", width, it.word, it.help)
	}
}

func (s *session) tab(line string, pos int) (string, int, bool) {
	before, after := line[:pos], line[pos:]
	words, start := complete(s.c.roots[s.view], before, s.may)
	partial := before[start:]
	switch len(words) {
	case 0:
		return line, pos, true
	case 1:
		nl := before[:start] + words[0] + " "
		return nl + strings.TrimLeft(after, " "), len(nl), true
	}
	lcp := words[0]
	for _, w := range words[1:] {
		for !strings.HasPrefix(w, lcp) {
			lcp = lcp[:len(lcp)-1]
		}
	}
	if len(lcp) > len(partial) {
		nl := before[:start] + lcp
		return nl + after, len(nl), true
	}
	s.printf("%s%s\n  %s\n", s.prompt(), line, strings.Join(words, "  "))
	s.flush()
	return line, pos, true
}

// skipLF drops a LF that follows the CR of an Enter key.
func (g *inputGuard) skipLF() {
	if len(g.queue) > 0 && g.queue[0] == '\n' {
		g.queue = g.queue[1:]
	}
}
