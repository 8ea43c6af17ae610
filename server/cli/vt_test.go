package cli

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// screen is a minimal VT100 model of what a terminal shows for the bytes
// x/term and the CLI write: printable runes with pending wrap at the right
// margin, CR, LF, backspace, and the CSI sequences x/term uses (cursor
// up/down/right/left, erase to end of line, clear screen). Lines scroll
// without limit, so a whole session is one screen.
type screen struct {
	lines    [][]rune
	row, col int
	width    int
	wrap     bool // pending wrap: the last column was written
}

func newScreen(width int) *screen { return &screen{width: width, lines: [][]rune{nil}} }

func (s *screen) line() []rune {
	for len(s.lines) <= s.row {
		s.lines = append(s.lines, nil)
	}
	return s.lines[s.row]
}

func (s *screen) put(r rune) {
	if s.wrap {
		s.row++
		s.col = 0
		s.wrap = false
	}
	l := s.line()
	for len(l) <= s.col {
		l = append(l, ' ')
	}
	l[s.col] = r
	s.lines[s.row] = l
	if s.col == s.width-1 {
		s.wrap = true
	} else {
		s.col++
	}
}

func (s *screen) write(b []byte) {
	for len(b) > 0 {
		r, sz := utf8.DecodeRune(b)
		b = b[sz:]
		switch {
		case r == '\r':
			s.col, s.wrap = 0, false
		case r == '\n':
			s.row++
			s.wrap = false
			s.line()
		case r == '\b':
			if s.col > 0 {
				s.col--
			}
			s.wrap = false
		case r == 0x1b && len(b) > 0 && b[0] == '[':
			i := 1
			for i < len(b) && (b[i] >= '0' && b[i] <= '9' || b[i] == ';') {
				i++
			}
			if i == len(b) {
				return
			}
			n := 1
			if i > 1 {
				n, _ = strconv.Atoi(strings.Split(string(b[1:i]), ";")[0])
			}
			s.csi(b[i], n)
			b = b[i+1:]
		case r < 0x20:
		default:
			s.put(r)
		}
	}
}

func (s *screen) csi(op byte, n int) {
	s.wrap = false
	switch op {
	case 'A':
		s.row = max(0, s.row-n)
	case 'B':
		s.row += n
		s.line()
	case 'C':
		s.col = min(s.width-1, s.col+n)
	case 'D':
		s.col = max(0, s.col-n)
	case 'K':
		l := s.line()
		if s.col < len(l) {
			s.lines[s.row] = l[:s.col]
		}
	case 'J':
		// Clear screen: keep the transcript, mark it.
		s.lines = append(s.lines, []rune("<clear screen>"))
		s.row = len(s.lines)
		s.line()
	case 'H':
		s.col = 0
	}
}

// String is the screen with trailing spaces and empty last lines removed.
func (s *screen) String() string {
	var out []string
	for _, l := range s.lines {
		out = append(out, strings.TrimRight(string(l), " "))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return strings.Join(out, "\n") + "\n"
}
