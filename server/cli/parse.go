package cli

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// The command grammar is a graph of nodes. A keyword node matches a word or
// any unique prefix of it (case-insensitive), a parameter node matches a
// value its check accepts. A node with neither word nor parameter is a hub:
// its successors are spliced into those of whatever points at it, which is
// how options that may come in any order loop back (each option at most once,
// named by once).
type node struct {
	word  string     // keyword, or "" for a parameter or a hub
	param *paramSpec // parameter, or nil
	help  string
	next  []*node
	run   cmdFunc // the command may end after this node
	tag   string  // records the matched value (keyword: its word) under this name
	once  string  // option identity: at most once per command
	// op is the NETCONF operation the command amounts to (module, rpc):
	// access control (RFC 8341 §3.4.4) must permit the user to execute it.
	op [2]string
}

func (n *node) isHub() bool { return n.word == "" && n.param == nil }

// paramSpec is a parameter type: its name as help shows it and a check that
// returns the canonical value.
type paramSpec struct {
	name  string
	rest  bool // takes the rest of the line (a regular expression)
	check func(tok string) (string, bool)
}

type errKind int

const (
	errUnrecognized errKind = iota
	errWrongParam
	errIncomplete
	errTooMany
	errAmbiguous
)

var errText = [...]string{
	errUnrecognized: "Unrecognized command found at '^' position.",
	errWrongParam:   "Wrong parameter found at '^' position.",
	errIncomplete:   "Incomplete command found at '^' position.",
	errTooMany:      "Too many parameters found at '^' position.",
	errAmbiguous:    "Ambiguous command found at '^' position.",
}

// syntaxError is a parse failure; col is the column (in runes, from the start
// of the line) under which the caret goes.
type syntaxError struct {
	kind errKind
	col  int
}

func (e *syntaxError) Error() string { return "Error: " + errText[e.kind] }

// token is one word of a command line: its text, its first column (runes)
// and its byte offset.
type token struct {
	text string
	col  int
	off  int
	end  int // column after the last rune
}

// maxTokens bounds the words of one line (the line itself is bounded by
// maxLineBytes).
const maxTokens = 256

// tokenize splits a line into words at spaces and tabs. A word that starts
// with a double quote runs to the next double quote, so a value may hold
// spaces ("a b"); the quotes are not part of the value.
func tokenize(line string) ([]token, *syntaxError) {
	var toks []token
	col := 0
	i := 0
	for i < len(line) {
		r, sz := utf8.DecodeRuneInString(line[i:])
		if r == ' ' || r == '\t' {
			i += sz
			col++
			continue
		}
		if len(toks) == maxTokens {
			return nil, &syntaxError{kind: errTooMany, col: col}
		}
		start, startCol := i, col
		if r == '"' {
			i += sz
			col++
			var b strings.Builder
			closed := false
			for i < len(line) {
				r, sz = utf8.DecodeRuneInString(line[i:])
				i += sz
				col++
				if r == '"' {
					closed = true
					break
				}
				b.WriteRune(r)
			}
			if !closed {
				return nil, &syntaxError{kind: errIncomplete, col: col}
			}
			toks = append(toks, token{text: b.String(), col: startCol, off: start, end: col})
			continue
		}
		for i < len(line) {
			r, sz = utf8.DecodeRuneInString(line[i:])
			if r == ' ' || r == '\t' {
				break
			}
			i += sz
			col++
		}
		toks = append(toks, token{text: line[start:i], col: startCol, off: start, end: col})
	}
	return toks, nil
}

// args are the values a parse recorded, by tag.
type args map[string]string

func (a args) has(tag string) bool { _, ok := a[tag]; return ok }

// parsed is a successful parse of a whole line.
type parsed struct {
	run  cmdFunc
	args args
	op   [2]string // the operation access control must permit, if any
}

// successors returns the nodes that may follow n, hubs expanded and options
// already used left out, in grammar order.
func successors(n *node, used map[string]bool) []*node {
	var out []*node
	seen := map[*node]bool{}
	var walk func(list []*node, depth int)
	walk = func(list []*node, depth int) {
		if depth > 8 {
			return
		}
		for _, c := range list {
			if seen[c] {
				continue
			}
			seen[c] = true
			if c.isHub() {
				walk(c.next, depth+1)
				continue
			}
			if c.once != "" && used[c.once] {
				continue
			}
			out = append(out, c)
		}
	}
	walk(n.next, 0)
	return out
}

// runnable returns the command that may end at n: its own or that of a hub
// it leads to.
func runnable(n *node) cmdFunc {
	if n.run != nil {
		return n.run
	}
	for _, c := range n.next {
		if c.isHub() && c.run != nil {
			return c.run
		}
	}
	return nil
}

// match picks the successor a token stands for. Keywords come first: an exact
// word, else the only word the token is a prefix of (several: ambiguous).
// Then parameters, in grammar order.
func match(cands []*node, tok token) (*node, string, *syntaxError) {
	lower := strings.ToLower(tok.text)
	var prefixed []*node
	hasParam := false
	for _, c := range cands {
		if c.param != nil {
			hasParam = true
			continue
		}
		if c.word == lower {
			return c, c.word, nil
		}
		if strings.HasPrefix(c.word, lower) {
			prefixed = append(prefixed, c)
		}
	}
	switch len(prefixed) {
	case 1:
		return prefixed[0], prefixed[0].word, nil
	case 0:
	default:
		return nil, "", &syntaxError{kind: errAmbiguous, col: tok.col}
	}
	for _, c := range cands {
		if c.param == nil {
			continue
		}
		if v, ok := c.param.check(tok.text); ok {
			return c, v, nil
		}
	}
	if hasParam {
		return nil, "", &syntaxError{kind: errWrongParam, col: tok.col}
	}
	return nil, "", &syntaxError{kind: errUnrecognized, col: tok.col}
}

// walkResult is where a walk over some tokens ended.
type walkResult struct {
	at   *node
	used map[string]bool
	args args
	op   [2]string
	rest bool // a rest-of-line parameter took the remaining text
}

// walk matches toks from root. line is the raw text the tokens came from
// (for a rest-of-line parameter).
func walk(root *node, line string, toks []token) (walkResult, *syntaxError) {
	w := walkResult{at: root, used: map[string]bool{}, args: args{}}
	for _, tok := range toks {
		cands := successors(w.at, w.used)
		if len(cands) == 0 {
			return w, &syntaxError{kind: errTooMany, col: tok.col}
		}
		n, v, err := match(cands, tok)
		if err != nil {
			return w, err
		}
		if n.param != nil && n.param.rest {
			v = strings.TrimSpace(line[tok.off:])
			if w.args != nil && n.tag != "" {
				w.args[n.tag] = v
			}
			w.at = n
			w.rest = true
			return w, nil
		}
		if n.tag != "" {
			w.args[n.tag] = v
		}
		if n.once != "" {
			w.used[n.once] = true
		}
		if n.op != ([2]string{}) {
			w.op = n.op
		}
		w.at = n
	}
	return w, nil
}

// parse matches a whole line against the grammar of a view.
func parse(root *node, line string) (*parsed, *syntaxError) {
	toks, serr := tokenize(line)
	if serr != nil {
		return nil, serr
	}
	if len(toks) == 0 {
		return nil, nil
	}
	w, serr := walk(root, line, toks)
	if serr != nil {
		return nil, serr
	}
	run := runnable(w.at)
	if run == nil {
		last := toks[len(toks)-1]
		return nil, &syntaxError{kind: errIncomplete, col: last.end + 1}
	}
	return &parsed{run: run, args: w.args, op: w.op}, nil
}

// helpItem is one line of '?' help.
type helpItem struct {
	word, help string
}

// helpFor lists what may come at the cursor: with partial != "" the keywords
// it is a prefix of (and the parameters of that position), else every
// successor of the words before it, and <cr> when the command may end there.
//
// Commands whose operation may does not permit are left out (VRP shows a
// user only the commands of its level).
func helpFor(root *node, line string, may func(op [2]string) bool) ([]helpItem, *syntaxError) {
	toks, serr := tokenize(line)
	if serr != nil {
		return nil, serr
	}
	partial := ""
	partialCol := utf8.RuneCountInString(line)
	if len(toks) > 0 && !strings.HasSuffix(line, " ") && !strings.HasSuffix(line, "\t") {
		partial = strings.ToLower(toks[len(toks)-1].text)
		partialCol = toks[len(toks)-1].col
		toks = toks[:len(toks)-1]
	}
	w, serr := walk(root, line, toks)
	if serr != nil {
		return nil, serr
	}
	if w.rest {
		return []helpItem{{"<cr>", ""}}, nil
	}
	// VRP's order: parameters, keywords alphabetically, the pipe, <cr>.
	var items, words []helpItem
	var pipeItem *helpItem
	for _, c := range successors(w.at, w.used) {
		switch {
		case c.op != [2]string{} && !may(c.op):
		case c.param != nil:
			items = append(items, helpItem{c.param.name, c.help})
		case !strings.HasPrefix(c.word, partial):
		case c.word == "|":
			pipeItem = &helpItem{c.word, c.help}
		default:
			words = append(words, helpItem{c.word, c.help})
		}
	}
	sort.Slice(words, func(i, j int) bool { return words[i].word < words[j].word })
	items = append(items, words...)
	if pipeItem != nil {
		items = append(items, *pipeItem)
	}
	if partial == "" && runnable(w.at) != nil {
		items = append(items, helpItem{"<cr>", ""})
	}
	if len(items) == 0 {
		return nil, &syntaxError{kind: errUnrecognized, col: partialCol}
	}
	return items, nil
}

// complete returns the keywords at the cursor that start with the partial
// last word (sorted), and where that word starts (bytes).
func complete(root *node, line string, may func(op [2]string) bool) (words []string, start int) {
	toks, serr := tokenize(line)
	if serr != nil {
		return nil, 0
	}
	partial := ""
	start = len(line)
	if len(toks) > 0 && !strings.HasSuffix(line, " ") && !strings.HasSuffix(line, "\t") {
		last := toks[len(toks)-1]
		partial = strings.ToLower(last.text)
		start = last.off
		toks = toks[:len(toks)-1]
	}
	w, serr := walk(root, line, toks)
	if serr != nil || w.rest {
		return nil, start
	}
	for _, c := range successors(w.at, w.used) {
		if c.param == nil && strings.HasPrefix(c.word, partial) && (c.op == [2]string{} || may(c.op)) {
			words = append(words, c.word)
		}
	}
	sort.Strings(words)
	return words, start
}
