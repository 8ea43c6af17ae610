// Package huawei is the view of ntpagent's configuration in Huawei VRP's
// legacy NETCONF schema (namespace http://www.huawei.com/netconf/vrp), for
// clients such as Ansible's community.network.ce_ntp: the unicast peers and
// servers of /ntp/ntpUCastCfgs/ntpUCastCfg. Its module,
// yang/huawei/ntpagent-huawei-vrp.yang, is ntpagent's own text written from
// that schema's wire format (Huawei's is not public); gen/huawei is
// generated from it.
//
// It owns the translation between that list and ntpagent-ntp's
// unicast-peer and unicast-server lists, and the interface-name rule
// (ifname.go) between VRP interface names and Linux ones. It keeps no
// state and never touches a datastore: package view calls it.
package huawei

import (
	"fmt"

	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/gen"
	hw "github.com/ntpagent/ntpagent/gen/huawei"
	"github.com/ntpagent/ntpagent/server/netconf/xmlcodec"
)

// Module is the name of the view's YANG module.
const Module = "ntpagent-huawei-vrp"

// View is the Huawei legacy view. Build it with New; it is read-only and
// safe for concurrent use.
type View struct {
	schema *xmlcodec.Schema
}

// New builds the view's codec schema from its module.
func New() (*View, error) {
	s, err := xmlcodec.NewSchema(xmlcodec.Model{
		Root:    &hw.Device{},
		Modules: []string{Module},
		// VRP's clients mark the elements of this schema with its
		// version; ce_ntp's <get> filter carries them.
		AnnotationAttributes: []string{"content-version", "format-version"},
		// VRP deletes an entry that does not exist without an error;
		// ce_ntp sends its delete on every state: absent run.
		DeleteAbsentIsRemove: true,
	})
	if err != nil {
		return nil, fmt.Errorf("huawei view: %w", err)
	}
	return &View{schema: s}, nil
}

// Name is the view's short name.
func (*View) Name() string { return "huawei" }

// Schema is the codec's schema of the view's module.
func (v *View) Schema() *xmlcodec.Schema { return v.schema }

// Project returns the view of native: one ntpUCastCfg per unicast peer and
// server with an IP address, every leaf set.
func (*View) Project(native *gen.Device) ygot.GoStruct {
	if native == nil {
		return &hw.Device{}
	}
	return project(native)
}

// Apply puts the view's entries back into native's peers and servers.
func (*View) Apply(native *gen.Device, v ygot.GoStruct) error {
	d, ok := v.(*hw.Device)
	if !ok {
		return fmt.Errorf("huawei view: Apply of a %T", v)
	}
	return apply(d, native)
}

// Path names in the view the node at a native error-path.
func (*View) Path(native string) string { return viewPath(native) }
