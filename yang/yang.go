package yang

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/openconfig/goyang/pkg/yang"
)

// files holds ntpagent's own modules (*.yang) and the standard modules the
// server implements or imports, verbatim as published, as
// NAME@REVISION.yang: the IETF's under ietf/, OpenConfig's under
// openconfig/. openconfig/ also holds ntpagent's deviations of OpenConfig's
// modules (ntpagent-*.yang), which are ours, not published; views/ holds
// the other modules we wrote for views: a model that is not published
// (Huawei's) and ntpagent's deviations of ietf-ntp.
//
//go:embed *.yang ietf/*.yang openconfig/*.yang views/*.yang
var files embed.FS

// Module describes one YANG module of the device's YANG library.
type Module struct {
	Name      string
	Namespace string
	Prefix    string
	Revision  string // newest revision date, YYYY-MM-DD
	// YangVersion is "1" (RFC 6020) or "1.1" (RFC 7950).
	YangVersion string
	// Implemented is the conformance type: true for a module the server
	// implements (RFC 7950 §5.6.5), false for one it only imports.
	Implemented bool
	// Features are the features of the module the server supports, in the
	// module's order.
	Features []string
	// Deviations are the names of the modules that deviate this one.
	Deviations []string
	// Standard marks a module published by the IETF or OpenConfig (served
	// verbatim); the others are ntpagent's own: those whose data the
	// device stores (gen), and its deviations of standard modules.
	Standard bool
	// Text is the module's YANG source, as served by <get-schema>.
	Text string
	// Submodules are the module's submodules (RFC 7950 §5.1), in name
	// order: listed with it in the YANG library, served by <get-schema>.
	Submodules []*Submodule
	// Entry is the module's schema tree, resolved by goyang (augmented and
	// deviated); nil for a module the server only imports.
	Entry *yang.Entry
}

// Submodule is a submodule of a module of the library (RFC 7950 §5.1).
type Submodule struct {
	Name     string
	Revision string // newest revision date, YYYY-MM-DD
	Text     string // the YANG source, as served by <get-schema>
}

// Schema is the parsed set of modules. It is read-only once Load returns
// and safe for concurrent use.
type Schema struct {
	modules   []*Module // those with stored data (ours, ietf-netconf-acm), name order
	library   []*Module // every module of the YANG library, name order
	byName    map[string]*Module
	byNS      map[string]*Module // of modules
	contentID string
	leafrefs  map[leafref]*yang.Entry // LeafrefTarget's table
}

// Load returns the embedded modules, parsed at the first call. Every
// caller gets the same Schema, which nobody changes: the daemon's NETCONF
// server, its XML codecs and views then share one parse (megabytes of
// goyang entries and tens of milliseconds) instead of each making its own.
func Load() (*Schema, error) { return loadEmbedded() }

// loadEmbedded parses the embedded modules once per process; the result is
// immutable, like the embedded files it comes from.
var loadEmbedded = sync.OnceValues(func() (*Schema, error) { return LoadFS(files) })

// LoadFS parses every *.yang file at the root of fsys (ntpagent's modules),
// every ietf/NAME@REVISION.yang and openconfig/NAME@REVISION.yang
// (standard modules), and every openconfig/ntpagent-*.yang (ntpagent's
// deviation modules, implemented, holding no data of their own). A module that does
// not parse gives an error naming the file and line; so does a standard
// module whose name or revision differs from its file name, one the
// library neither implements nor needs for an import, and a supported
// feature a module does not define. Once the trees are built and every
// leafref resolved, what only goyang's building needed is released
// (release): the trees of import-only modules and goyang's entry cache.
func LoadFS(fsys fs.FS) (*Schema, error) { return loadFS(fsys, true) }

// loadFS is LoadFS; cut false keeps everything goyang built (tests
// compare the two).
func loadFS(fsys fs.FS, cut bool) (*Schema, error) {
	own, err := fs.Glob(fsys, "*.yang")
	if err != nil {
		return nil, err
	}
	if len(own) == 0 {
		return nil, fmt.Errorf("yang: no *.yang files")
	}
	std, err := fs.Glob(fsys, "ietf/*.yang")
	if err != nil {
		return nil, err
	}
	oc, err := fs.Glob(fsys, "openconfig/*.yang")
	if err != nil {
		return nil, err
	}
	// views/ holds modules we wrote for views of the configuration
	// (package view) that are not deviations of a standard one, such as
	// Huawei's legacy schema: like our deviations, implemented, served and
	// never native.
	devs, err := fs.Glob(fsys, "views/*.yang")
	if err != nil {
		return nil, err
	}
	for _, n := range oc {
		if strings.HasPrefix(path.Base(n), "ntpagent-") {
			devs = append(devs, n)
		} else {
			std = append(std, n)
		}
	}
	sort.Strings(own)
	sort.Strings(std)
	sort.Strings(devs)
	ms := yang.NewModules()
	texts := map[string]string{}
	for _, n := range slices.Concat(own, std, devs) {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		// One copy of the text: the parse tree's strings point into it,
		// and <get-schema> serves it.
		text := string(b)
		if err := ms.Parse(text, n); err != nil {
			return nil, fmt.Errorf("yang: %w", err)
		}
		texts[n] = text
	}
	if errs := ms.Process(); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("yang: %s", strings.Join(msgs, "; "))
	}
	s := &Schema{byName: map[string]*Module{}, byNS: map[string]*Module{}}
	parsed := map[string]*yang.Module{}
	var subs []string // files holding submodules, attached to their modules below
	add := func(file, name string, standard bool) error {
		if _, ok := ms.SubModules[name]; ok && standard {
			subs = append(subs, file)
			return nil
		}
		m, ok := ms.Modules[name]
		if !ok {
			return fmt.Errorf("yang: file %s does not hold module %s", file, name)
		}
		mod := &Module{
			Name:        m.Name,
			Namespace:   m.Namespace.Name,
			Prefix:      m.Prefix.Name,
			Revision:    m.Current(),
			YangVersion: "1",
			Standard:    standard,
			Text:        texts[file],
			Entry:       yang.ToEntry(m),
		}
		if m.YangVersion != nil {
			mod.YangVersion = m.YangVersion.Name
		}
		if errs := mod.Entry.GetErrors(); len(errs) > 0 {
			return fmt.Errorf("yang: module %s: %v", m.Name, errs[0])
		}
		if _, dup := s.byName[mod.Name]; dup {
			return fmt.Errorf("yang: module %s is in two files", mod.Name)
		}
		parsed[mod.Name] = m
		s.byName[mod.Name] = mod
		s.library = append(s.library, mod)
		return nil
	}
	for _, n := range own {
		if err := add(n, strings.TrimSuffix(n, ".yang"), false); err != nil {
			return nil, err
		}
		mod := s.library[len(s.library)-1]
		mod.Implemented = true
		s.modules = append(s.modules, mod)
		s.byNS[mod.Namespace] = mod
	}
	for _, n := range std {
		base := strings.TrimSuffix(path.Base(n), ".yang")
		name, rev, ok := strings.Cut(base, "@")
		if !ok {
			return nil, fmt.Errorf("yang: standard module file %s is not named NAME@REVISION.yang", n)
		}
		if err := add(n, name, true); err != nil {
			return nil, err
		}
		if sm, ok := ms.SubModules[name]; ok {
			if sm.Current() != rev {
				return nil, fmt.Errorf("yang: %s holds revision %s of %s, not %s", n, sm.Current(), name, rev)
			}
			continue
		}
		if m := s.byName[name]; m.Revision != rev {
			return nil, fmt.Errorf("yang: %s holds revision %s of %s, not %s", n, m.Revision, name, rev)
		}
	}
	for _, n := range subs { // sorted: std is
		name, _, _ := strings.Cut(strings.TrimSuffix(path.Base(n), ".yang"), "@")
		sm := ms.SubModules[name]
		owner := ""
		if sm.BelongsTo != nil {
			owner = sm.BelongsTo.Name
		}
		m, ok := s.byName[owner]
		if !ok {
			return nil, fmt.Errorf("yang: submodule %s belongs to %q, which is not in the library", name, owner)
		}
		m.Submodules = append(m.Submodules, &Submodule{Name: name, Revision: sm.Current(), Text: texts[n]})
	}
	for _, n := range devs {
		if err := add(n, strings.TrimSuffix(path.Base(n), ".yang"), false); err != nil {
			return nil, err
		}
		s.library[len(s.library)-1].Implemented = true
	}
	if err := s.conform(parsed); err != nil {
		return nil, err
	}
	// The standard modules with configuration the device stores (package
	// gen) join ours: their namespaces are accepted in configuration.
	for _, m := range s.library {
		if m.Standard && standardConfigured(m.Name) {
			s.modules = append(s.modules, m)
			s.byNS[m.Namespace] = m
		}
	}
	sort.Slice(s.modules, func(i, j int) bool { return s.modules[i].Name < s.modules[j].Name })
	sort.Slice(s.library, func(i, j int) bool { return s.library[i].Name < s.library[j].Name })
	s.contentID = contentID(s.library)
	s.leafrefs = resolveLeafrefs(s.library)
	if cut {
		release(ms, s.library)
	}
	return s, nil
}

// leafref names one leafref type of a schema node: the node and the
// type's path (a union may hold several).
type leafref struct {
	e    *yang.Entry
	path string
}

// resolveLeafrefs finds the target of every leafref of the implemented
// modules' trees (RFC 7950 §9.9.2), following a target that is itself a
// leafref. It runs while goyang's entry cache still holds every module's
// tree as Process left it (augmented and deviated): a path into another
// module looks that module's tree up in the cache.
func resolveLeafrefs(lib []*Module) map[leafref]*yang.Entry {
	out := map[leafref]*yang.Entry{}
	var typ func(e *yang.Entry, t *yang.YangType, depth int)
	typ = func(e *yang.Entry, t *yang.YangType, depth int) {
		if t == nil || depth > 16 {
			return
		}
		switch t.Kind {
		case yang.Yleafref:
			k := leafref{e, t.Path}
			if _, done := out[k]; done {
				return
			}
			target := e.Find(t.Path)
			out[k] = target
			if target != nil {
				typ(target, target.Type, depth+1)
			}
		case yang.Yunion:
			for _, m := range t.Type {
				typ(e, m, depth+1)
			}
		}
	}
	var walk func(e *yang.Entry)
	walk = func(e *yang.Entry) {
		if e == nil {
			return
		}
		typ(e, e.Type, 0)
		for _, c := range e.Dir {
			walk(c)
		}
		if e.RPC != nil {
			walk(e.RPC.Input)
			walk(e.RPC.Output)
		}
	}
	for _, m := range lib {
		if m.Implemented {
			walk(m.Entry)
		}
	}
	return out
}

// release drops what the schema no longer needs once every tree is built
// and every leafref resolved: goyang's entry cache (every node's entry as
// first built, including each grouping's copy per use and the subtrees
// that deviations later removed) and the trees of the modules the server
// only imports (the library needs only their name, revision and text).
// From then on nothing may ask goyang to build an entry: a module's tree
// built again would lack augments and deviations. Leafrefs go through
// LeafrefTarget, never Entry.Find across modules.
func release(ms *yang.Modules, lib []*Module) {
	ms.ClearEntryCache()
	for _, m := range lib {
		if !m.Implemented {
			m.Entry = nil
		}
	}
}

// LeafrefTarget returns the schema node a leafref type of e points to
// (RFC 7950 §9.9.2): path is the type's path, e a node of an implemented
// module's tree or a leafref's target. It answers from a table built at
// load, so a path into another module sees that module as augmented and
// deviated.
func (s *Schema) LeafrefTarget(e *yang.Entry, path string) (*yang.Entry, bool) {
	t, ok := s.leafrefs[leafref{e, path}]
	return t, ok && t != nil
}

// conform sets the conformance, features and deviations of every module of
// the library, and checks that the set is complete: every import resolves
// to a module of the set (goyang has checked that), and every module the
// server does not implement is imported by one of the set.
func (s *Schema) conform(parsed map[string]*yang.Module) error {
	imported := map[string]bool{}
	for _, m := range s.library {
		pm := parsed[m.Name]
		for _, imp := range pm.Import {
			imported[imp.Name] = true
		}
		if !m.Standard {
			continue
		}
		feats, ok := standardImplemented(m.Name)
		m.Implemented = ok
		defined := map[string]bool{}
		for _, f := range pm.Feature {
			defined[f.Name] = true
		}
		for _, f := range feats {
			if !defined[f] {
				return fmt.Errorf("yang: module %s has no feature %q", m.Name, f)
			}
		}
		for _, f := range pm.Feature { // the module's order
			if slices.Contains(feats, f.Name) {
				m.Features = append(m.Features, f.Name)
			}
		}
	}
	for _, m := range s.library {
		if !m.Implemented && !imported[m.Name] {
			return fmt.Errorf("yang: module %s is neither implemented nor imported", m.Name)
		}
		// RFC 7950 §7.20.3: a deviation's target path starts with the
		// prefix of the module it deviates.
		pm := parsed[m.Name]
		for _, d := range pm.Deviation {
			target := m.Name
			if first, _, ok := strings.Cut(strings.TrimPrefix(d.Name, "/"), ":"); ok && first != m.Prefix {
				target = ""
				for _, imp := range pm.Import {
					if imp.Prefix.Name == first {
						target = imp.Name
					}
				}
			}
			t, ok := s.byName[target]
			if !ok {
				return fmt.Errorf("yang: module %s deviates %s, which is not in the library", m.Name, d.Name)
			}
			if !m.Implemented {
				return fmt.Errorf("yang: deviation module %s must be implemented (RFC 8525 §3)", m.Name)
			}
			if !slices.Contains(t.Deviations, m.Name) {
				t.Deviations = append(t.Deviations, m.Name)
			}
		}
	}
	return nil
}

// standardImplemented says which standard modules the server implements
// and the features it supports of each; every other standard module is
// import-only. This is the one place that says what the server implements:
// the <hello> capabilities of ietf-netconf's features and the YANG library
// are derived from it.
func standardImplemented(name string) (features []string, ok bool) {
	switch name {
	case "ietf-netconf":
		// RFC 6241 §8: one feature per capability the server announces.
		return []string{"writable-running", "candidate", "confirmed-commit", "rollback-on-error", "validate", "startup", "xpath"}, true
	case "ietf-netconf-nmda":
		return []string{"origin", "with-defaults"}, true
	case "ietf-netconf-monitoring", "ietf-netconf-with-defaults", "ietf-netconf-notifications",
		"ietf-yang-library", "ietf-datastores", "ietf-origin", "ietf-netconf-acm":
		return nil, true
	case "ietf-ntp":
		// RFC 9249 as a view of ntpagent-ntp (package view/ietfntp); what
		// the device does not do is in ntpagent-ietf-ntp-deviations.
		return []string{"ntp-port", "authentication", "deprecated", "hex-key-string", "unicast-configuration"}, true
	case "openconfig-system":
		// A view of the NTP configuration: /system/ntp only, the rest
		// deviated as not supported (ntpagent-openconfig-deviations).
		return nil, true
	}
	return nil, false
}

// standardConfigured tells the standard modules whose configuration the
// device stores with its own (scripts/gen.sh generates them into package
// gen): access control's /nacm (RFC 8341).
func standardConfigured(name string) bool { return name == "ietf-netconf-acm" }

// contentID is a digest of everything the YANG library says about the set
// (RFC 8525 content-id): names, revisions, namespaces, conformance,
// features, deviations, submodules and each module's text, so that it changes exactly
// when what a client may have cached changes.
func contentID(lib []*Module) string {
	h := sha256.New()
	for _, m := range lib {
		th := sha256.Sum256([]byte(m.Text))
		fmt.Fprintf(h, "%s@%s %s %t [%s] [%s] %x\n", m.Name, m.Revision, m.Namespace, m.Implemented,
			strings.Join(m.Features, ","), strings.Join(m.Deviations, ","), th)
		for _, sm := range m.Submodules {
			fmt.Fprintf(h, " %s@%s %x\n", sm.Name, sm.Revision, sha256.Sum256([]byte(sm.Text)))
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Modules returns the modules whose data the device stores (package gen)
// and whose namespaces configuration may use, in name order: ntpagent's
// own and the standard ones with configuration (ietf-netconf-acm).
func (s *Schema) Modules() []*Module { return append([]*Module(nil), s.modules...) }

// Library returns every module of the YANG library (RFC 8525) in name
// order: ntpagent's own and the standard modules, implemented or imported.
func (s *Schema) Library() []*Module { return append([]*Module(nil), s.library...) }

// ContentID identifies the content of the YANG library (RFC 8525
// content-id, RFC 7895 module-set-id): the same set of modules always gives
// the same value, any change to it a different one.
func (s *Schema) ContentID() string { return s.contentID }

// WriteFiles writes every module and submodule of the library into dir as
// NAME@REVISION.yang, as a client would after fetching them with
// <get-schema>, and returns the arguments that make a YANG tool (yanglint)
// load the library as the server implements it: "-p dir", the implemented
// modules' files, and "-F module:features" for each module with features.
func (s *Schema) WriteFiles(dir string) ([]string, error) {
	args := []string{"-p", dir}
	write := func(name, rev, text string) (string, error) {
		f := filepath.Join(dir, name+"@"+rev+".yang")
		return f, os.WriteFile(f, []byte(text), 0o644)
	}
	for _, m := range s.library {
		f, err := write(m.Name, m.Revision, m.Text)
		if err != nil {
			return nil, err
		}
		for _, sm := range m.Submodules {
			if _, err := write(sm.Name, sm.Revision, sm.Text); err != nil {
				return nil, err
			}
		}
		if m.Implemented {
			args = append(args, f)
		}
		if len(m.Features) > 0 {
			args = append(args, "-F", m.Name+":"+strings.Join(m.Features, ","))
		}
	}
	return args, nil
}

// ByName returns the module of the library with the given name.
func (s *Schema) ByName(name string) (*Module, bool) {
	m, ok := s.byName[name]
	return m, ok
}

// ByNamespace returns the module of Modules whose namespace is ns.
func (s *Schema) ByNamespace(ns string) (*Module, bool) {
	m, ok := s.byNS[ns]
	return m, ok
}

// Text returns the YANG source of a module or submodule of the library.
// If revision is not empty it must match the module's revision (RFC 6022
// §3.1 get-schema semantics).
func (s *Schema) Text(name, revision string) (string, error) {
	m, ok := s.byName[name]
	if !ok {
		for _, lm := range s.library {
			for _, sm := range lm.Submodules {
				if sm.Name == name {
					m = &Module{Name: sm.Name, Revision: sm.Revision, Text: sm.Text}
				}
			}
		}
	}
	if m == nil {
		return "", fmt.Errorf("yang: no module %q", name)
	}
	if revision != "" && revision != m.Revision {
		return "", fmt.Errorf("yang: module %q has revision %s, not %s", name, m.Revision, revision)
	}
	return m.Text, nil
}

// TopLevel returns the schema entry of a top-level data node of the
// modules with stored data by its module namespace and local name, e.g.
// ("urn:ntpagent:yang:ntpagent-ntp", "ntp").
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
