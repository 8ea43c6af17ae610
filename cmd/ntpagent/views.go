package main

import (
	"github.com/ntpagent/ntpagent/view"
	"github.com/ntpagent/ntpagent/view/huawei"
	"github.com/ntpagent/ntpagent/view/ietfntp"
	"github.com/ntpagent/ntpagent/view/ocsys"
)

// daemonViews is the set of models the daemon's NETCONF server speaks:
// ntpagent's own modules and every view of the same configuration. A view
// joins by one line here.
func daemonViews() (*view.Set, error) {
	iv, err := ietfntp.New()
	if err != nil {
		return nil, err
	}
	hv, err := huawei.New()
	if err != nil {
		return nil, err
	}
	return view.NewSet(iv, ocsys.New(), hv)
}
