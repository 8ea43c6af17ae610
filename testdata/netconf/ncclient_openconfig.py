#!/usr/bin/python3
"""ncclient drives ntpagent through its OpenConfig view (openconfig-system).

Started by server/openconfig_interop_test.go against an agent on loopback:
  ncclient_openconfig.py HOST PORT ADMIN_KEYFILE OUTDIR
Every check raises on failure (exit status 1). Each get-config reply is
written to OUTDIR/getconfig-N.xml, each <get> reply to OUTDIR/get/get-N.xml, and
every module and submodule of the YANG library, fetched with <get-schema>
as a client does, to OUTDIR/NAME.yang, for the Go test to validate the
replies with yanglint.
"""
import sys

from lxml import etree

from ncinterop import IETF, NC, NTP, YLIB, Replies, check, connect, done, expect_error, write_schema

HOST, PORT, KEYFILE, OUT = sys.argv[1:5]
OC = "http://openconfig.net/yang/system"
replies = Replies(OUT)


def oc(ntp):
    return '<config><system xmlns="%s"><ntp>%s</ntp></system></config>' % (OC, ntp)


def oc_server(addr, config, op=""):
    attr = ' xmlns:nc="%s" nc:operation="%s"' % (NC, op) if op else ""
    return ('<servers><server%s><address>%s</address><config><address>%s</address>%s</config></server></servers>'
            % (attr, addr, addr, config))


def get_config(m, ns, tag):
    r = m.get_config(source="running", filter=("subtree", '<%s xmlns="%s"/>' % (tag, ns)))
    replies.save("getconfig", r)
    return r.data_xml


def native(m):
    return get_config(m, NTP, "ntp")


def view(m):
    return get_config(m, OC, "system")


def edit_commit(m, config):
    m.edit_config(target="candidate", config=config)
    m.commit()


def expect_edit_error(config, tag, path_part):
    """An edit of the candidate that the view refuses with tag, at a path holding path_part."""
    e = expect_error(lambda: m.edit_config(target="candidate", config=config), tag)
    check(path_part in (e.path or ""), "rpc-error %s at %s (got %s: %s)" % (tag, path_part, e.path, e.message))
    m.discard_changes()


m = connect(HOST, PORT, "admin", key=KEYFILE)

# 1. The hello announces openconfig-system (YANG 1.0) with its deviations.
caps = list(m.server_capabilities)
check(any(c.startswith(OC + "?module=openconfig-system&revision=2022-12-19&deviations=ntpagent-openconfig-deviations")
          for c in caps), "openconfig-system in the hello, with ntpagent-openconfig-deviations")

# 2. Every module and submodule of the library, by <get-schema>.
lib = etree.fromstring(m.get(filter=("subtree", '<modules-state xmlns="%s"/>' % YLIB)).data_xml.encode())
names = [e.text for e in lib.iter("{%s}name" % YLIB)]
for name in names:
    text = m.get_schema(name).data
    check(text.lstrip().startswith(("module " + name, "submodule " + name)), "get-schema " + name)
    write_schema(OUT, name + ".yang", text)
check("openconfig-aaa-radius" in names, "submodules are listed in modules-state")

# 3. Configure through the view; read back natively.
edit_commit(m, oc(
    '<config><enable-ntp-auth>true</enable-ntp-auth></config>'
    '<ntp-keys><ntp-key><key-id>7</key-id><config><key-id>7</key-id>'
    '<key-type>NTP_AUTH_MD5</key-type><key-value>secret7</key-value></config></ntp-key></ntp-keys>'
    + oc_server("192.0.2.1", "<port>1123</port><association-type>SERVER</association-type><iburst>true</iburst>")))
edit_commit(m, oc(oc_server("2001:db8::1", "<association-type>PEER</association-type><prefer>true</prefer>")))
n = native(m)
check("<unicast-server><address>192.0.2.1</address><vpn-instance>_public_</vpn-instance>" in n
      and "<port>1123</port>" in n and "<iburst>true</iburst>" in n, "SERVER is a unicast-server with port and iburst")
check("<unicast-peer><address>2001:db8::1</address><vpn-instance>_public_</vpn-instance>" in n
      and "<preferred>true</preferred>" in n, "PEER is a unicast-peer, prefer is preferred")
check("<key><key-id>7</key-id><mode>md5</mode><key-value>%^%#" in n and "<enable>true</enable>" in n,
      "ntp-key 7 is an MD5 key, stored in cipher form; enable-ntp-auth is authentication enable")
v = view(m)
check('<association-type>SERVER</association-type><iburst>true</iburst>' in v, "the view reads back its SERVER")

# 3b. The same through ietf-ntp (RFC 9249), and ietf-ntp's edit through the view.
i = get_config(m, IETF, "ntp")
check("<address>192.0.2.1</address>" in i and "uc-server</type>" in i, "ietf-ntp reads the SERVER as a uc-server")
edit_commit(m, '<config><ntp xmlns="%s"><unicast-configuration><address>192.0.2.30</address><type>uc-server</type>'
               '<minpoll>5</minpoll></unicast-configuration></ntp></config>' % IETF)
check("<config><address>192.0.2.30</address><association-type>SERVER</association-type>" in view(m),
      "an ietf-ntp uc-server is a SERVER of the view")

# 4. Configure natively; read back through the view.
edit_commit(m, '<config><ntp xmlns="%s"><unicast-peer><address>198.51.100.7</address><vpn-instance>_public_</vpn-instance>'
               '<minpoll>4</minpoll></unicast-peer><unicast-peer><address>198.18.0.9</address>'
               '<vpn-instance>blue</vpn-instance></unicast-peer></ntp></config>' % NTP)
v = view(m)
check("<config><address>198.51.100.7</address><association-type>PEER</association-type>" in v,
      "a native peer is a PEER of the view")
check("198.18.0.9" not in v, "a peer of vpn-instance blue is not in the view")

# 5. association-type SERVER through the view moves the peer and keeps minpoll.
edit_commit(m, oc(oc_server("198.51.100.7", "<association-type>SERVER</association-type>")))
n = native(m)
check("<unicast-server><address>198.51.100.7</address>" in n and "<unicast-peer><address>198.51.100.7</address>" not in n
      and "<minpoll>4</minpoll>" in n, "PEER → SERVER moves the association, minpoll kept")

# 6. delete through the view.
edit_commit(m, oc(oc_server("2001:db8::1", "", op="delete")))
check("2001:db8::1" not in native(m), "delete through the view removes the association")

# 7. What the device does not do: errors with the view's path.
expect_edit_error(oc("<config><enabled>false</enabled></config>"), "operation-failed", "oc-sys:enabled")
expect_edit_error(oc(oc_server("255.255.255.255", "")), "invalid-value", "oc-sys:server[oc-sys:address='255.255.255.255']")
expect_edit_error(oc(oc_server("pool.example.net", "<association-type>POOL</association-type>")), "operation-failed",
             "oc-sys:association-type")

# 8. <get> through the view: state of the servers.
r = m.get(filter=("subtree", '<system xmlns="%s"/>' % OC))
replies.save("get", r)
check("<state><enabled>true</enabled>" in r.data_xml and "<stratum>2</stratum>" in r.data_xml,
      "<get> shows /system/ntp/state and the servers' state")

done(m)
