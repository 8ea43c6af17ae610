package netconf

import (
	"encoding/xml"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/yang"
)

// dataOf returns the content of the <data> element of a reply.
func dataOf(t *testing.T, reply string) string {
	t.Helper()
	i := strings.Index(reply, "<data")
	if i < 0 {
		t.Fatalf("no <data> in %s", reply)
	}
	if strings.HasPrefix(reply[i:], "<data/>") {
		return ""
	}
	j := strings.Index(reply[i:], ">")
	k := strings.LastIndex(reply, "</data>")
	return reply[i+j+1 : k]
}

// yanglintData validates data (children of <data>) with yanglint against
// every module of the library; typ is yanglint's -t (config, data or get).
func yanglintData(t *testing.T, typ, data string) {
	t.Helper()
	yl := testtool.Require(t, "yanglint")
	sch, err := yang.Load()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lib, err := sch.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-t", typ}, lib...)
	f := filepath.Join(dir, "data.xml")
	if err := os.WriteFile(f, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(yl, append(args, f)...).CombinedOutput()
	if err != nil {
		t.Fatalf("yanglint -t %s: %v\n%s\ndata: %s", typ, err, out, data)
	}
}

var contentIDRe = regexp.MustCompile(`yang-library:1\.1\?revision=2019-01-04&amp;content-id=([0-9a-f]+)<`)

// RFC 7950 §5.6.4, RFC 8526 §2: the hello announces the YANG library with
// its content-id; YANG 1.1 modules are left to the library, YANG 1.0
// modules the server implements stay, ietf-netconf with its features.
func TestHelloAnnouncesYangLibrary(t *testing.T) {
	srv := newTestServer(t)
	_, hello := startPipeSession(t, srv, 1)
	m := contentIDRe.FindStringSubmatch(hello)
	if m == nil || m[1] != srv.cfg.Schema.ContentID() {
		t.Fatalf("hello has no yang-library:1.1 capability with content-id %s: %s", srv.cfg.Schema.ContentID(), hello)
	}
	for _, want := range []string{
		"urn:ietf:params:xml:ns:netconf:base:1.0?module=ietf-netconf&amp;revision=2011-06-01&amp;features=writable-running,candidate,confirmed-commit,rollback-on-error,validate,startup,xpath<",
		NSMonitoring + "?module=ietf-netconf-monitoring&amp;revision=2010-10-04<",
		NSWithDefaults + "?module=ietf-netconf-with-defaults&amp;revision=2011-06-01<",
		NSNotifications + "?module=ietf-netconf-notifications&amp;revision=2012-02-06<",
		"urn:ietf:params:netconf:capability:with-operational-defaults:1.0?basic-mode=explicit&amp;also-supported=report-all,trim,report-all-tagged<",
		"urn:ietf:params:netconf:capability:yang-library:1.0?revision=2019-01-04&amp;module-set-id=" + srv.cfg.Schema.ContentID() + "<",
	} {
		if !strings.Contains(hello, "<capability>"+want) {
			t.Errorf("hello lacks %s", want)
		}
	}
	for _, m := range srv.cfg.Schema.Library() {
		announced := strings.Contains(hello, "module="+m.Name+"&amp;")
		if want := m.Implemented && m.YangVersion == "1"; announced != want {
			t.Errorf("module %s (yang-version %s, implemented %t) announced in hello: %t", m.Name, m.YangVersion, m.Implemented, announced)
		}
	}
	// RFC 6241 §8: every supported ietf-netconf feature is a capability.
	nc, _ := srv.cfg.Schema.ByName("ietf-netconf")
	for _, f := range nc.Features {
		if c := featureCapability(f); c == "" || !strings.Contains(hello, "<capability>"+c+"</capability>") {
			t.Errorf("feature %s has no capability in hello", f)
		}
	}
	if !strings.Contains(hello, "<capability>urn:ietf:params:netconf:capability:startup:1.0</capability>") {
		t.Errorf("hello lacks :startup (RFC 6241 §8.7)")
	}
	if strings.Contains(hello, ":url") {
		t.Errorf("hello announces a datastore that does not exist: %s", hello)
	}
}

// RFC 8525 §3, RFC 7895: the library lists every module of package yang
// with its conformance, features and deviations; content-id and the
// deprecated module-set-id are the hello's; yanglint accepts the content
// against the modules it lists.
func TestYangLibraryListsEveryModule(t *testing.T) {
	srv := newTestServer(t)
	c := helloed(t, srv, SessionInfo{ID: 1, User: "admin"})
	data := dataOf(t, c.rpc(`<get><filter type="subtree"><yang-library xmlns="`+NSYangLibrary+`"/><modules-state xmlns="`+NSYangLibrary+`"/></filter></get>`))
	id := srv.cfg.Schema.ContentID()
	for _, want := range []string{
		"<content-id>" + id + "</content-id>", "<module-set-id>" + id + "</module-set-id>",
		"<datastore><name>ds:running</name><schema>complete</schema></datastore>",
		"<datastore><name>ds:candidate</name><schema>complete</schema></datastore>",
		"<datastore><name>ds:startup</name><schema>complete</schema></datastore>",
		"<datastore><name>ds:intended</name><schema>complete</schema></datastore>",
		"<datastore><name>ds:operational</name><schema>complete</schema></datastore>",
		"<module><name>ietf-netconf-nmda</name><revision>2019-01-07</revision><namespace>" + NSNMDA + "</namespace><feature>origin</feature><feature>with-defaults</feature></module>",
		"<import-only-module><name>ietf-yang-metadata</name><revision>2016-08-05</revision>",
	} {
		if !strings.Contains(data, want) {
			t.Errorf("library lacks %s", want)
		}
	}
	if strings.Contains(data, "netconf-state") {
		t.Errorf("library filter returned more than asked: %s", data)
	}
	lib := srv.cfg.Schema.Library()
	if len(lib) < 13 {
		t.Fatalf("only %d modules in the library", len(lib))
	}
	for _, m := range lib {
		entry := "<module><name>" + m.Name + "</name><revision>" + m.Revision + "</revision>"
		if !m.Implemented {
			entry = "<import-only-module><name>" + m.Name + "</name><revision>" + m.Revision + "</revision>"
		}
		if !strings.Contains(data, entry) {
			t.Errorf("module-set lacks %s", entry)
		}
		conf := "implement"
		if !m.Implemented {
			conf = "import"
		}
		if !regexp.MustCompile(`<module><name>` + m.Name + `</name><revision>` + m.Revision + `</revision>.*?<conformance-type>` + conf + `</conformance-type>`).MatchString(data) {
			t.Errorf("modules-state lacks %s as %s", m.Name, conf)
		}
	}
	// A filtered reply (-t get): complete data would also need the
	// mandatory state of other modules (/nacm's counters).
	yanglintData(t, "get", data)
}

// RFC 6022 §3.1: <get-schema> returns every module of the library, as
// written, and /netconf-state/schemas lists each.
func TestGetSchemaServesEveryLibraryModule(t *testing.T) {
	srv := newTestServer(t)
	c := helloed(t, srv, SessionInfo{ID: 1, User: "operator", ReadOnly: true})
	schemas := c.rpc(`<get><filter type="subtree"><netconf-state xmlns="` + NSMonitoring + `"><schemas/></netconf-state></filter></get>`)
	for _, m := range srv.cfg.Schema.Library() {
		r := c.rpc(`<get-schema xmlns="` + NSMonitoring + `"><identifier>` + m.Name + `</identifier><version>` + m.Revision + `</version></get-schema>`)
		got, err := unescapeData(dataOf(t, r))
		if err != nil || got != m.Text {
			t.Errorf("get-schema %s: %v, %d bytes, want the module's %d", m.Name, err, len(got), len(m.Text))
		}
		if !strings.Contains(schemas, "<identifier>"+m.Name+"</identifier><version>"+m.Revision+"</version>") {
			t.Errorf("netconf-state/schemas lacks %s", m.Name)
		}
	}
}

// unescapeData decodes the character data of a reply's <data>.
func unescapeData(s string) (string, error) {
	var v struct {
		Text string `xml:",chardata"`
	}
	err := xml.Unmarshal([]byte("<d>"+s+"</d>"), &v)
	return v.Text, err
}

// helloContentID starts a session on srv and returns the content-id of its
// hello and of its /yang-library.
func helloContentID(t *testing.T, srv *Server) (hello, library string) {
	t.Helper()
	c, h := startPipeSession(t, srv, 1)
	if err := c.w.WriteMessage([]byte(helloBase10)); err != nil {
		t.Fatal(err)
	}
	m := contentIDRe.FindStringSubmatch(h)
	if m == nil {
		t.Fatalf("no content-id in hello %s", h)
	}
	r := c.rpc(`<get><filter type="subtree"><yang-library xmlns="` + NSYangLibrary + `"><content-id/></yang-library></filter></get>`)
	l := regexp.MustCompile(`<content-id>([0-9a-f]+)</content-id>`).FindStringSubmatch(r)
	if l == nil {
		t.Fatalf("no content-id in %s", r)
	}
	return m[1], l[1]
}

// RFC 8525 §3, RFC 8526 §2: the content-id stays the same for the same
// module set (another server, another load of the modules) and changes
// with it (here: one module's text).
func TestContentIDFollowsTheModuleSet(t *testing.T) {
	h1, l1 := helloContentID(t, newTestServer(t))
	h2, l2 := helloContentID(t, newTestServer(t))
	if h1 != l1 || h1 != h2 || l1 != l2 {
		t.Fatalf("same modules: hello %s/%s, library %s/%s", h1, h2, l1, l2)
	}
	files := fstest.MapFS{}
	if err := fs.WalkDir(os.DirFS("../../yang"), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yang") {
			return err
		}
		b, err := os.ReadFile(filepath.Join("../../yang", p))
		files[p] = &fstest.MapFile{Data: b}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	sys := files["ntpagent-system.yang"]
	sys.Data = []byte(strings.Replace(string(sys.Data), "Device-wide settings.", "Device-wide settings, changed.", 1))
	changed, err := yang.LoadFS(files)
	if err != nil {
		t.Fatal(err)
	}
	srv := newTestServerConfig(t, Config{})
	srv3, err := New(Config{Store: srv.cfg.Store, Schema: changed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv3.Close)
	h3, l3 := helloContentID(t, srv3)
	if h3 != l3 || h3 == h1 {
		t.Fatalf("changed modules: hello %s, library %s, before %s", h3, l3, h1)
	}
}

// RFC 6241 §8.9: an XPath filter selects inside the server's own state
// too, with the ancestors and list keys of what it selects; the standard
// modules' prefixes need no declaration (as ours).
func TestXPathSelectsInsideServerState(t *testing.T) {
	srv := newTestServer(t)
	c := helloed(t, srv, SessionInfo{ID: 7, User: "admin"})
	for _, tc := range []struct {
		name, rpc  string
		want, omit []string
	}{
		{"one module of the library by its name",
			`<get><filter type="xpath" select="/yanglib:yang-library/yanglib:module-set/yanglib:module[yanglib:name='ietf-origin']"/></get>`,
			[]string{`<yang-library xmlns="` + NSYangLibrary + `" xmlns:ds="` + NSDatastores + `"><module-set><name>complete</name><module><name>ietf-origin</name><revision>2018-02-14</revision><namespace>` + NSOrigin + `</namespace></module></module-set></yang-library>`},
			[]string{"ietf-netconf-nmda", "<content-id>", "netconf-state", "modules-state"}},
		{"a leaf of every session, with the session's key",
			`<get><filter type="xpath" select="//ncm:session/ncm:username"/></get>`,
			[]string{`<netconf-state xmlns="` + NSMonitoring + `"><sessions><session><session-id>7</session-id><username>admin</username></session></sessions></netconf-state>`},
			[]string{"<capabilities>", "<login-time>", "yang-library"}},
		{"get-data: the content-id only",
			wrapGetData("operational", `<xpath-filter>/yanglib:yang-library/yanglib:content-id</xpath-filter><with-origin/>`),
			[]string{`or:origin="or:system"><content-id>` + srv.cfg.Schema.ContentID() + `</content-id></yang-library>`},
			[]string{"<module-set>", "netconf-state"}},
	} {
		r := c.rpc(tc.rpc)
		wantHolds(t, tc.name, r, tc.want, tc.omit)
	}
	yanglintData(t, "get", dataOf(t, c.rpc(`<get><filter type="xpath" select="/yanglib:yang-library/yanglib:module-set/yanglib:module[yanglib:name='ietf-origin'] | //ncm:session"/></get>`)))
}
