package yang

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/openconfig/goyang/pkg/yang"
)

//go:embed *.yang
var files embed.FS

// Module describes one of ntpagent's YANG modules.
type Module struct {
	Name      string
	Namespace string
	Prefix    string
	Revision  string // newest revision date, YYYY-MM-DD
	// Text is the module's YANG source, as served by <get-schema>.
	Text string
	// Entry is the module's schema tree, resolved by goyang.
	Entry *yang.Entry
}

// Schema is the parsed set of ntpagent's modules. It is read-only once
// Load returns and safe for concurrent use.
type Schema struct {
	modules []*Module
	byName  map[string]*Module
	byNS    map[string]*Module
}

// Load parses the embedded modules.
func Load() (*Schema, error) {
	return LoadFS(files)
}

// LoadFS parses every *.yang file at the root of fsys. A module that does not
// parse gives an error naming the file and line.
func LoadFS(fsys fs.FS) (*Schema, error) {
	names, err := fs.Glob(fsys, "*.yang")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("yang: no *.yang files")
	}
	sort.Strings(names)
	ms := yang.NewModules()
	texts := map[string]string{}
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		if err := ms.Parse(string(b), n); err != nil {
			return nil, fmt.Errorf("yang: %w", err)
		}
		texts[strings.TrimSuffix(n, ".yang")] = string(b)
	}
	if errs := ms.Process(); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("yang: %s", strings.Join(msgs, "; "))
	}
	s := &Schema{byName: map[string]*Module{}, byNS: map[string]*Module{}}
	for _, n := range names {
		name := strings.TrimSuffix(n, ".yang")
		m, ok := ms.Modules[name]
		if !ok {
			return nil, fmt.Errorf("yang: file %s does not hold module %s", n, name)
		}
		mod := &Module{
			Name:      m.Name,
			Namespace: m.Namespace.Name,
			Prefix:    m.Prefix.Name,
			Revision:  m.Current(),
			Text:      texts[name],
			Entry:     yang.ToEntry(m),
		}
		if errs := mod.Entry.GetErrors(); len(errs) > 0 {
			return nil, fmt.Errorf("yang: module %s: %v", m.Name, errs[0])
		}
		s.modules = append(s.modules, mod)
		s.byName[mod.Name] = mod
		s.byNS[mod.Namespace] = mod
	}
	return s, nil
}

// Modules returns the modules in name order.
func (s *Schema) Modules() []*Module { return append([]*Module(nil), s.modules...) }

// ByName returns the module with the given name.
func (s *Schema) ByName(name string) (*Module, bool) {
	m, ok := s.byName[name]
	return m, ok
}

// ByNamespace returns the module whose namespace is ns.
func (s *Schema) ByNamespace(ns string) (*Module, bool) {
	m, ok := s.byNS[ns]
	return m, ok
}

// Text returns the YANG source of a module. If revision is not empty it must
// match the module's revision (RFC 6022 §3.1 get-schema semantics).
func (s *Schema) Text(name, revision string) (string, error) {
	m, ok := s.byName[name]
	if !ok {
		return "", fmt.Errorf("yang: no module %q", name)
	}
	if revision != "" && revision != m.Revision {
		return "", fmt.Errorf("yang: module %q has revision %s, not %s", name, m.Revision, revision)
	}
	return m.Text, nil
}

// TopLevel returns the schema entry of a top-level data node by its module
// namespace and local name, e.g. ("urn:ntpagent:yang:ntpagent-ntp", "ntp").
func (s *Schema) TopLevel(ns, name string) (*yang.Entry, bool) {
	m, ok := s.byNS[ns]
	if !ok {
		return nil, false
	}
	e, ok := m.Entry.Dir[name]
	if !ok || e.RPC != nil || e.Kind == yang.NotificationEntry {
		return nil, false
	}
	return e, true
}
