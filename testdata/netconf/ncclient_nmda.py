#!/usr/bin/python3
"""ncclient script: discovery through the YANG library and NMDA (RFC 8525, RFC 8526).

Started by server/nmda_interop_test.go against an agent on loopback:
  ncclient_nmda.py HOST PORT ADMIN_KEYFILE OUTDIR
It discovers the modules the standard way (the :yang-library:1.1 capability,
then /yang-library), fetches each with <get-schema> into OUTDIR/NAME@REV.yang,
writes the features to OUTDIR/features.txt (MODULE:F1,F2 per line), the
library to OUTDIR/yanglib.xml and each <get-data> reply's content to
OUTDIR/getdata-DATASTORE.xml, for the Go test to validate with yanglint.
Every check raises on failure (exit status 1); the last line is ALL OK.
"""
import os
import re
import sys

from lxml import etree
from ncclient.operations import RPCError

from ncinterop import NTP, YLIB, check, connect, done, write_elements, write_schema

HOST, PORT, KEYFILE, OUT = sys.argv[1:5]
NMDA = "urn:ietf:params:xml:ns:yang:ietf-netconf-nmda"
DS = "urn:ietf:params:xml:ns:yang:ietf-datastores"
OR = "urn:ietf:params:xml:ns:yang:ietf-origin"


def save(name, elements):
    write_elements(os.path.join(OUT, name), elements)


m = connect(HOST, PORT, "admin", key=KEYFILE)

# 1. The hello: :yang-library:1.1 with a content-id; YANG 1.1 modules only in the library.
caps = list(m.server_capabilities)
ylcap = [c for c in caps if c.startswith("urn:ietf:params:netconf:capability:yang-library:1.1?")]
check(len(ylcap) == 1, "one :yang-library:1.1 capability")
hello_id = re.search(r"content-id=([^&]+)", ylcap[0]).group(1)
# ntpagent's modules are YANG 1.1, but for its deviations of openconfig-system,
# a YANG 1.0 module: they are YANG 1.0, so that a client of the hello finds the
# module its deviations= parameter names.
check(not any("module=ntpagent-" in c and "module=ntpagent-openconfig-deviations&" not in c for c in caps),
      "no YANG 1.1 module in the hello")

# 2. Discovery: /yang-library, then every module with get-schema.
lib = m.get(filter='<filter type="subtree"><yang-library xmlns="%s"/><modules-state xmlns="%s"/></filter>' % (YLIB, YLIB)).data_ele
ns = {"yl": YLIB}
check(lib.findtext("yl:yang-library/yl:content-id", namespaces=ns) == hello_id, "content-id in the library = hello's")
save("yanglib.xml", lib)  # both, as a complete datastore needs modules-state's mandatory leaf
mods = lib.findall("yl:yang-library/yl:module-set/yl:module", ns) + \
    lib.findall("yl:yang-library/yl:module-set/yl:import-only-module", ns)
check(len(mods) >= 13, "%d modules listed" % len(mods))
with open(os.path.join(OUT, "features.txt"), "w") as feats:
    for mod in mods:
        name = mod.findtext("yl:name", namespaces=ns)
        rev = mod.findtext("yl:revision", namespaces=ns)
        text = m.get_schema(name, version=rev).data
        check(text.lstrip().startswith("module " + name + " ") and rev in text, "get-schema %s@%s" % (name, rev))
        write_schema(OUT, "%s@%s.yang" % (name, rev), text)
        # RFC 8525: a module's submodules are listed with it; fetched the same way.
        for sub in mod.findall("yl:submodule", ns):
            sname, srev = sub.findtext("yl:name", namespaces=ns), sub.findtext("yl:revision", namespaces=ns)
            stext = m.get_schema(sname, version=srev).data
            check(stext.lstrip().startswith("submodule " + sname + " "), "get-schema submodule %s@%s" % (sname, srev))
            write_schema(OUT, "%s@%s.yang" % (sname, srev), stext)
        fs = [f.text for f in mod.findall("yl:feature", ns)]
        if mod.tag == "{%s}module" % YLIB:
            feats.write("%s:%s\n" % (name, ",".join(fs)))
old = lib
check(old.findtext("yl:modules-state/yl:module-set-id", namespaces=ns) == hello_id, "modules-state module-set-id")
check(len(old.findall("yl:modules-state/yl:module", ns)) == len(mods), "modules-state lists the same modules")


# 3. edit-data on the candidate and on running, then get-data on every datastore.
def rpc(xml):
    return m.dispatch(etree.fromstring(xml))


def peer(addr):
    return ('<unicast-peer><address>%s</address><vpn-instance>_public_</vpn-instance>'
            '<minpoll>4</minpoll></unicast-peer>' % addr)


def edit_data(ds, addr):
    return rpc('<edit-data xmlns="%s" xmlns:ds="%s"><datastore>ds:%s</datastore><config>'
               '<ntp xmlns="%s">%s</ntp></config></edit-data>' % (NMDA, DS, ds, NTP, peer(addr)))


edit_data("running", "10.30.0.1")
edit_data("candidate", "10.30.0.2")


def get_data(ds, params=""):
    r = rpc('<get-data xmlns="%s" xmlns:ds="%s"><datastore>ds:%s</datastore>%s</get-data>' % (NMDA, DS, ds, params))
    data = etree.fromstring(r.xml.encode()).find("{%s}data" % NMDA)
    check(data is not None, "get-data %s returns data" % ds)
    return data


for ds, want, absent in (("running", "10.30.0.1", "10.30.0.2"), ("intended", "10.30.0.1", "10.30.0.2"),
                         ("candidate", "10.30.0.2", None)):
    d = get_data(ds)
    text = etree.tostring(d).decode()
    check(want in text and (absent is None or absent not in text), "get-data %s content" % ds)
    save("getdata-%s.xml" % ds, d)
op = get_data("operational", "<with-origin/>")
save("getdata-operational.xml", op)
origin = "{%s}origin" % OR
ntp = op.find("{%s}ntp" % NTP)
check(ntp is not None and ntp.get(origin) == "or:intended", "operational /ntp is or:intended")
check(ntp.find("{%s}status" % NTP).get(origin) == "or:system", "status is or:system")
learned = [s for s in ntp.iter("{%s}session" % NTP) if s.get(origin) == "or:learned"]
check(len(learned) == 1 and learned[0].findtext("{%s}configured" % NTP) == "false", "the passive session is or:learned")
check(op.find("{%s}yang-library" % YLIB).get(origin) == "or:system", "the YANG library is or:system")
# :startup (RFC 6241 §8.7): running saved to startup through ncclient's
# copy_config, read back with get-data of ds:startup.
m.copy_config(source="running", target="startup")
d = get_data("startup")
text = etree.tostring(d).decode()
check("10.30.0.1" in text and "10.30.0.2" not in text, "get-data startup content")
save("getdata-startup.xml", d)
d = get_data("operational", "<config-filter>false</config-filter><max-depth>2</max-depth>")
check(d.find("{%s}ntp/{%s}unicast-peer" % (NTP, NTP)) is None and d.find("{%s}ntp/{%s}status" % (NTP, NTP)) is not None,
      "config-filter false, max-depth 2")

# 4. Errors (RFC 8526 §3.1.1).
for params, what in (('<datastore>ds:factory-default</datastore>', "a datastore the device does not have"),
                     ('<datastore>ds:running</datastore><with-origin/>', "with-origin on running")):
    try:
        rpc('<get-data xmlns="%s" xmlns:ds="%s">%s</get-data>' % (NMDA, DS, params))
        check(False, what + " refused")
    except RPCError as e:
        check(e.tag == "invalid-value", what + ": invalid-value")
done(m)
