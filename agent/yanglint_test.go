package agent

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/testtool"
	"github.com/ntpagent/ntpagent/server/netconf/xmlcodec"
)

// yanglintGet encodes root (configuration and state, as a <get> returns
// it) with the NETCONF XML codec and has libyang's yanglint validate it as
// <get> data against our YANG modules.
func yanglintGet(t *testing.T, root *gen.Device) {
	t.Helper()
	if out, err := runYanglintGet(t, root); err != nil {
		t.Errorf("yanglint -t get rejects the state: %v\n%s", err, out)
	}
}

func runYanglintGet(t *testing.T, root *gen.Device) (string, error) {
	t.Helper()
	yl := testtool.Require(t, "yanglint")
	var b bytes.Buffer
	if err := xmlcodec.Encode(&b, root, xmlcodec.EncodeOptions{}); err != nil {
		t.Fatalf("encode: %v", err)
	}
	f := filepath.Join(t.TempDir(), "get.xml")
	if err := os.WriteFile(f, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(yl, "-t", "get", "../yang/ntpagent-ntp.yang", "../yang/ntpagent-system.yang", f).CombinedOutput()
	if err == nil && len(bytes.TrimSpace(out)) > 0 {
		err = errors.New("warnings")
	}
	return string(out) + "\n" + b.String(), err
}

// The check above is not vacuous: a state value outside its YANG range
// (stratum 0) is refused.
func TestYanglintRefusesBadState(t *testing.T) {
	t.Parallel()
	root := &gen.Device{}
	st := root.GetOrCreateNtp().GetOrCreateStatus()
	st.Stratum = ptr(uint8(0))
	if out, err := runYanglintGet(t, root); err == nil {
		t.Errorf("yanglint accepted stratum 0:\n%s", out)
	}
}
