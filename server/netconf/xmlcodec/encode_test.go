package xmlcodec

import (
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/testtool"
)

// wdDevice is the data of RFC 6243 Appendix A written as NTP: the default
// of minpoll is 6; peer .1 sets 4, peer .2 sets 6 (the default, set
// explicitly), peer .3 sets nothing. The session list is state data.
func wdDevice(t testing.TB) *gen.Device {
	d := mustDecode(t, ntp(peer("10.0.0.1", `<minpoll>4</minpoll>`)+peer("10.0.0.2", `<minpoll>6</minpoll>`)+peer("10.0.0.3", ``)))
	s := d.GetOrCreateNtp().GetOrCreateSessions().GetOrCreateSession("10.0.0.1", "_public_", 123)
	s.SetStratum(2)
	s.SetOffset(-0.25)
	s.SetLocalMode(gen.NtpagentNtp_Ntp_Sessions_Session_LocalMode_symmetric_active)
	return d
}

func TestWithDefaultsRFC6243(t *testing.T) {
	p := func(addr, inner string) string {
		return `<unicast-peer><address>` + addr + `</address><vpn-instance>_public_</vpn-instance>` + inner + `</unicast-peer>`
	}
	all := func(addr, min string) string {
		return p(addr, `<version>4</version><port>123</port><preferred>false</preferred><minpoll>`+min+`</minpoll><maxpoll>10</maxpoll><preempt>false</preempt><iburst>false</iburst><burst>false</burst>`)
	}
	tag := func(name, v string) string { return `<` + name + ` wd:default="true">` + v + `</` + name + `>` }
	tagged := func(addr, min string, minDefault bool) string {
		m := `<minpoll>` + min + `</minpoll>`
		if minDefault {
			m = tag("minpoll", min)
		}
		return p(addr, tag("version", "4")+tag("port", "123")+tag("preferred", "false")+m+tag("maxpoll", "10")+tag("preempt", "false")+tag("iburst", "false")+tag("burst", "false"))
	}
	const ntpOpen = `<ntp xmlns="urn:ntpagent:yang:ntpagent-ntp">`
	const ntpOpenWD = `<ntp xmlns="urn:ntpagent:yang:ntpagent-ntp" xmlns:wd="urn:ietf:params:xml:ns:netconf:default:1.0">`
	const sysOpenWD = `<system xmlns="urn:ntpagent:yang:ntpagent-system" xmlns:wd="urn:ietf:params:xml:ns:netconf:default:1.0">`
	const session = `<sessions><session><address>10.0.0.1</address><vpn-instance>_public_</vpn-instance><port>123</port><local-mode>symmetric-active</local-mode><stratum>2</stratum><offset>-0.25</offset></session></sessions>`
	cases := []struct {
		name       string
		mode       WithDefaults
		configOnly bool
		want       string
	}{
		{"RFC6243 3.1 report-all: every default is reported, in every existing container and list entry", WDReportAll, true,
			nacmDefaults + ntpOpen + all("10.0.0.1", "4") + all("10.0.0.2", "6") + all("10.0.0.3", "6") + `<allow-unauthenticated-passive-peers>false</allow-unauthenticated-passive-peers><authentication><enable>false</enable></authentication></ntp>` +
				`<system xmlns="urn:ntpagent:yang:ntpagent-system"><sysname>ntpagent</sysname></system>`},
		{"RFC6243 3.2 trim: values equal to the schema default are left out, even when set", WDTrim, true,
			ntpOpen + p("10.0.0.1", `<minpoll>4</minpoll>`) + p("10.0.0.2", ``) + p("10.0.0.3", ``) + `</ntp>`},
		{"RFC6243 3.3 explicit: what was set is reported, defaults that were not set are not", WDExplicit, true,
			ntpOpen + p("10.0.0.1", `<minpoll>4</minpoll>`) + p("10.0.0.2", `<minpoll>6</minpoll>`) + p("10.0.0.3", ``) + `</ntp>`},
		{"RFC6243 2.1 the basic mode (no with-defaults parameter, the zero value) is explicit", 0, true,
			ntpOpen + p("10.0.0.1", `<minpoll>4</minpoll>`) + p("10.0.0.2", `<minpoll>6</minpoll>`) + p("10.0.0.3", ``) + `</ntp>`},
		{"RFC6243 3.4 report-all-tagged: defaults are reported and tagged wd:default, also when set to the default", WDReportAllTagged, true,
			nacmDefaultsTagged + ntpOpenWD + p("10.0.0.1", tag("version", "4")+tag("port", "123")+tag("preferred", "false")+`<minpoll>4</minpoll>`+tag("maxpoll", "10")+tag("preempt", "false")+tag("iburst", "false")+tag("burst", "false")) +
				tagged("10.0.0.2", "6", true) + tagged("10.0.0.3", "6", true) + tag("allow-unauthenticated-passive-peers", "false") + `<authentication>` + tag("enable", "false") + `</authentication></ntp>` +
				sysOpenWD + tag("sysname", "ntpagent") + `</system>`},
		{"RFC6243 3.3 explicit on <get>: state data is reported as it is", WDExplicit, false,
			ntpOpen + p("10.0.0.1", `<minpoll>4</minpoll>`) + p("10.0.0.2", `<minpoll>6</minpoll>`) + p("10.0.0.3", ``) + session + `</ntp>`},
		{"RFC6243 3.2 trim on <get>: state data without defaults is unaffected", WDTrim, false,
			ntpOpen + p("10.0.0.1", `<minpoll>4</minpoll>`) + p("10.0.0.2", ``) + p("10.0.0.3", ``) + session + `</ntp>`},
	}
	d := wdDevice(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := encodeString(t, d, EncodeOptions{WithDefaults: c.mode, ConfigOnly: c.configOnly})
			if got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
	if err := Encode(&strings.Builder{}, d, EncodeOptions{WithDefaults: WithDefaults(9)}); err == nil {
		t.Error("an unknown with-defaults mode was accepted")
	}
}

// The defaults of /nacm (RFC 8341 §3.5.2), which report-all shows in an
// empty tree as in any other: /nacm is a non-presence container.
const (
	nacmDefaults       = `<nacm xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-acm"><enable-nacm>true</enable-nacm><read-default>permit</read-default><write-default>deny</write-default><exec-default>permit</exec-default><enable-external-groups>true</enable-external-groups></nacm>`
	nacmDefaultsTagged = `<nacm xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-acm" xmlns:wd="urn:ietf:params:xml:ns:netconf:default:1.0"><enable-nacm wd:default="true">true</enable-nacm><read-default wd:default="true">permit</read-default><write-default wd:default="true">deny</write-default><exec-default wd:default="true">permit</exec-default><enable-external-groups wd:default="true">true</enable-external-groups></nacm>`
)

func TestEncodeEmptyAndNil(t *testing.T) {
	for _, d := range []*gen.Device{nil, {}, {Ntp: &gen.NtpagentNtp_Ntp{Unsync: &gen.NtpagentNtp_Ntp_Unsync{}}}} {
		if got := encodeString(t, d, EncodeOptions{}); got != "" {
			t.Errorf("empty tree encodes as %q", got)
		}
	}
	// report-all of an empty tree still shows the defaults: non-presence
	// containers always exist (RFC 7950 §7.5.1, RFC 6243 §3.1).
	got := encodeString(t, &gen.Device{}, EncodeOptions{WithDefaults: WDReportAll, ConfigOnly: true})
	want := nacmDefaults + `<ntp xmlns="urn:ntpagent:yang:ntpagent-ntp"><allow-unauthenticated-passive-peers>false</allow-unauthenticated-passive-peers><authentication><enable>false</enable></authentication></ntp><system xmlns="urn:ntpagent:yang:ntpagent-system"><sysname>ntpagent</sysname></system>`
	if got != want {
		t.Errorf("report-all of an empty tree:\n%s\nwant\n%s", got, want)
	}
}

// TestEncodeCanonical: the same tree gives the same bytes however it was
// built (Ansible decides "changed" by comparing get-config text).
func TestEncodeCanonical(t *testing.T) {
	var peers []string
	for i := 0; i < 50; i++ {
		peers = append(peers, peer("10.0.0."+itoa(i), `<minpoll>`+itoa(3+i%10)+`</minpoll>`))
	}
	var first string
	r := rand.New(rand.NewSource(1))
	for round := 0; round < 5; round++ {
		r.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
		d := mustDecode(t, ntp(strings.Join(peers, "")+`<authentication>`+key("9", `<key-value>x</key-value><mode>sha1</mode>`)+key("10", `<mode>md5</mode><key-value>y</key-value>`)+`</authentication>`))
		got := encodeString(t, d, EncodeOptions{})
		if round == 0 {
			first = got
		} else if got != first {
			t.Fatalf("round %d gives other bytes", round)
		}
	}
	// Keys first in key order, then schema order (RFC 7950 §7.8.5);
	// numeric keys in numeric order.
	if !strings.Contains(first, `<key><key-id>9</key-id><mode>sha1</mode><key-value>x</key-value></key><key><key-id>10</key-id>`) {
		t.Errorf("key list not in canonical order: %s", first)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestEncodeValues(t *testing.T) {
	d := &gen.Device{}
	st := d.GetOrCreateNtp().GetOrCreateStatus()
	st.SetOffset(1.23456789)    // decimal64 fraction-digits 6: rounded
	st.SetFrequency(-12)        // one digit after the point at least
	st.SetJitter(0.000001)      // the smallest step
	st.SetRootDelay(-0.0000001) // rounds to zero, without a sign
	st.SetPrecision(-20)
	st.SetClockState(gen.NtpagentNtp_Ntp_Status_ClockState_synchronized)
	st.SetReferenceId(`<&>"'`)
	d.GetOrCreateSystem().SetSysname("r&d")
	got := encodeString(t, d, EncodeOptions{})
	want := `<ntp xmlns="urn:ntpagent:yang:ntpagent-ntp"><status><clock-state>synchronized</clock-state><reference-id>&lt;&amp;&gt;"'</reference-id>` +
		`<offset>1.234568</offset><frequency>-12.0</frequency><jitter>0.000001</jitter><precision>-20</precision><root-delay>0.0</root-delay></status></ntp>` +
		`<system xmlns="urn:ntpagent:yang:ntpagent-system"><sysname>r&amp;d</sysname></system>`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := encodeString(t, d, EncodeOptions{ConfigOnly: true}); got != `<system xmlns="urn:ntpagent:yang:ntpagent-system"><sysname>r&amp;d</sysname></system>` {
		t.Errorf("ConfigOnly kept state data: %s", got)
	}
}

// nativeModules are yanglint's arguments for the modules of gen.Device:
// ours, ietf-netconf-acm (/nacm) with our deviation of it, the standard
// imports found in yang/ietf.
var nativeModules = []string{"-p", "../../../yang/ietf", "../../../yang/ietf/ietf-netconf-acm@2018-02-14.yang",
	"../../../yang/ntpagent-nacm-deviations.yang", "../../../yang/ntpagent-ntp.yang", "../../../yang/ntpagent-system.yang"}

// yanglintArgs is yanglint's command line for data file f of type typ.
// A complete data tree (-t data) of the codec has no /nacm state, whose
// counters are mandatory (the server fills them): there ietf-netconf-acm
// is only imported.
func yanglintArgs(typ, f string, extra ...string) []string {
	mods := nativeModules
	if typ == "data" {
		mods = []string{"-p", "../../../yang/ietf", "../../../yang/ntpagent-ntp.yang", "../../../yang/ntpagent-system.yang"}
	}
	return append(append(append([]string{"-t", typ}, mods...), extra...), f)
}

// yanglint runs libyang's yanglint (RFC 7950 validation) on XML data.
func yanglint(t *testing.T, typ, data string) {
	t.Helper()
	bin := testtool.Require(t, "yanglint")
	dir := t.TempDir()
	f := filepath.Join(dir, "data.xml")
	if err := os.WriteFile(f, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, yanglintArgs(typ, f)...).CombinedOutput()
	if err != nil {
		t.Errorf("yanglint -t %s rejects our output: %v\n%s\n%s", typ, err, out, data)
	}
}

func fullConfig() string {
	return ntp(`<unsync><max-poll-interval>8</max-poll-interval><dec-step>2</dec-step></unsync>`+
		`<source-interface><address-family>ipv4</address-family><interface>eth0</interface></source-interface>`+
		`<source-interface><address-family>ipv6</address-family><interface>eth1</interface><vpn-instance>blue</vpn-instance></source-interface>`+
		peer("10.0.0.1", `<minpoll>4</minpoll><maxpoll>6</maxpoll><authentication-keyid>7</authentication-keyid><preferred>true</preferred>`)+
		peer("2001:db8::1", `<version>4</version><source-interface>eth1</source-interface>`)+
		peer("ntp.example.net", `<port>1123</port><preempt>true</preempt>`)+
		`<authentication><enable>true</enable>`+key("7", `<mode>hmac-sha256</mode><key-value>%^%#secret%^%#</key-value><trusted>true</trusted>`)+`</authentication>`) +
		sys(`<sysname>edge-1</sysname>`)
}

func TestEncodedOutputValidatesWithYanglint(t *testing.T) {
	d := mustDecode(t, fullConfig())
	for _, mode := range []WithDefaults{WDExplicit, WDReportAll, WDTrim} {
		yanglint(t, "config", encodeString(t, d, EncodeOptions{WithDefaults: mode, ConfigOnly: true}))
	}
	d = wdDevice(t)
	d.Ntp.Sessions.Session[gen.NtpagentNtp_Ntp_Sessions_Session_Key{Address: "10.0.0.1", VpnInstance: "_public_", Port: 123}].
		GetOrCreateFilter(1).SetDelay(0.5)
	st := d.Ntp.GetOrCreateStatus()
	st.SetStratum(3)
	st.SetOffset(0.000123)
	st.SetSyncState(gen.NtpagentNtp_Ntp_Status_SyncState_synchronized)
	d.GetOrCreateCommitHistory().GetOrCreateCommit(4).SetUser("admin")
	yanglint(t, "data", encodeString(t, d, EncodeOptions{}))
	// A broken value is caught, so the check above means something.
	t.Run("yanglint catches a bad value", func(t *testing.T) {
		bad := strings.Replace(encodeString(t, mustDecode(t, fullConfig()), EncodeOptions{ConfigOnly: true}), "<minpoll>4</minpoll>", "<minpoll>40</minpoll>", 1)
		bin := testtool.Require(t, "yanglint")
		f := filepath.Join(t.TempDir(), "bad.xml")
		if err := os.WriteFile(f, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, yanglintArgs("config", f)...).CombinedOutput(); err == nil {
			t.Errorf("yanglint accepted minpoll 40: %s", out)
		}
	})
}

// TestTaggedOutputFedBack: a report-all-tagged <get-config> used as an
// edit leaves the effective configuration as it was (RFC 6243 §6). Leaves
// tagged as defaults go back to being defaults, so a leaf that was set
// explicitly to its default value (version 4 of the IPv6 peer) is no longer
// shown in explicit mode: the tag carries no more than that.
func TestTaggedOutputFedBack(t *testing.T) {
	d := mustDecode(t, fullConfig())
	effective := encodeString(t, d, EncodeOptions{WithDefaults: WDReportAll})
	trimmed := encodeString(t, d, EncodeOptions{WithDefaults: WDTrim})
	tagged := encodeString(t, d, EncodeOptions{WithDefaults: WDReportAllTagged, ConfigOnly: true})
	tree, err := ParseConfig([]byte(tagged), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.Apply(d, OpMerge, StopOnError); err != nil {
		t.Fatal(err)
	}
	if after := encodeString(t, d, EncodeOptions{WithDefaults: WDReportAll}); after != effective {
		t.Errorf("effective configuration changed:\n%s\n%s", effective, after)
	}
	if after := encodeString(t, d, EncodeOptions{WithDefaults: WDTrim}); after != trimmed {
		t.Errorf("trimmed configuration changed:\n%s\n%s", trimmed, after)
	}
	if strings.Contains(encodeString(t, d, EncodeOptions{}), "<version>") {
		t.Error("a leaf tagged as default is still explicitly set")
	}
}
