#!/usr/bin/python3
"""ncclient drives ntpagent through its ietf-ntp view (RFC 9249).

Started by server/ietfntp_interop_test.go against an agent on loopback:
  ncclient_ietf_ntp.py HOST PORT ADMIN_KEYFILE OUTDIR
Every check raises on failure (exit status 1). Each get-config reply is
written to OUTDIR/getconfig-N.xml, each <get> reply to OUTDIR/get/get-N.xml,
and every module of the YANG library, fetched with <get-schema> as a client
does, to OUTDIR/NAME.yang, for the Go test to validate the replies with
yanglint.
"""
import sys

from lxml import etree

from ncinterop import IETF, NC, NTP, YLIB, Replies, check, connect, done, expect_error, write_schema

HOST, PORT, KEYFILE, OUT = sys.argv[1:5]
replies = Replies(OUT)


def ietf(body):
    return '<config><ntp xmlns="%s">%s</ntp></config>' % (IETF, body)


def uc(addr, typ, body="", op=""):
    attr = ' xmlns:nc="%s" nc:operation="%s"' % (NC, op) if op else ""
    return ('<unicast-configuration%s><address>%s</address><type>%s</type>%s</unicast-configuration>'
            % (attr, addr, typ, body))


def get_config(m, ns, source="running"):
    r = m.get_config(source=source, filter=("subtree", '<ntp xmlns="%s"/>' % ns))
    if source == "running":
        replies.save("getconfig", r)
    return r.data_xml


m = connect(HOST, PORT, "admin", key=KEYFILE)

# 1. The hello does not list ietf-ntp (YANG 1.1: RFC 7950 §5.6.4 puts it in
#    the library); the library has it implemented, with its features and
#    deviations.
lib = etree.fromstring(m.get(filter=("subtree", '<yang-library xmlns="%s"/>' % YLIB)).data_xml.encode())
mod = [e for e in lib.iter("{%s}module" % YLIB) if e.findtext("{%s}name" % YLIB) == "ietf-ntp"]
check(len(mod) == 1, "ietf-ntp is an implemented module of the library")
feats = [f.text for f in mod[0].iter("{%s}feature" % YLIB)]
check("unicast-configuration" in feats and "authentication" in feats and "broadcast-server" not in feats,
      "ietf-ntp's features: unicast-configuration and authentication, no broadcast (%s)" % feats)
check(mod[0].findtext("{%s}deviation" % YLIB) == "ntpagent-ietf-ntp-deviations", "ietf-ntp's deviations are listed")

# 2. Every module of the library, by <get-schema>.
ms = etree.fromstring(m.get(filter=("subtree", '<modules-state xmlns="%s"/>' % YLIB)).data_xml.encode())
for name in [e.text for e in ms.iter("{%s}name" % YLIB)]:
    write_schema(OUT, name + ".yang", m.get_schema(name).data)

# 3. Configure through ietf-ntp in the candidate; the same session reads it
#    natively before the commit; one commit commits it.
m.edit_config(target="candidate", config=ietf(
    '<authentication><auth-enabled>true</auth-enabled><authentication-keys><keyid>9</keyid>'
    '<algorithm>md5</algorithm><key><keystring>secret9</keystring></key><istrusted>true</istrusted>'
    '</authentication-keys></authentication>'
    + uc("192.0.2.1", "uc-server", "<authentication><keyid>9</keyid></authentication><iburst>true</iburst><minpoll>4</minpoll>")
    + uc("2001:db8::1", "uc-peer", "<prefer>true</prefer>")))
n = get_config(m, NTP, "candidate")
check("<unicast-server><address>192.0.2.1</address><vpn-instance>_public_</vpn-instance>" in n
      and "<authentication-keyid>9</authentication-keyid>" in n and "<iburst>true</iburst>" in n,
      "uc-server is a unicast-server of the candidate, same session")
check("<unicast-peer><address>2001:db8::1</address><vpn-instance>_public_</vpn-instance>" in n
      and "<preferred>true</preferred>" in n, "uc-peer is a unicast-peer, prefer is preferred")
check("secret9" not in n and "<key-id>9</key-id><mode>md5</mode><key-value>%^%#" in n, "the key is stored in cipher form")
m.commit()
v = get_config(m, IETF)
check("<address>192.0.2.1</address><type xmlns:ntp=\"%s\">ntp:uc-server</type>" % IETF in v, "running reads back uc-server")

# 4. Configure natively; read back through ietf-ntp; vpn-instance entries stay hidden.
m.edit_config(target="candidate", config='<config><ntp xmlns="%s"><unicast-peer><address>198.51.100.7</address>'
              '<vpn-instance>_public_</vpn-instance><maxpoll>8</maxpoll></unicast-peer><unicast-peer>'
              '<address>198.18.0.9</address><vpn-instance>blue</vpn-instance></unicast-peer></ntp></config>' % NTP)
m.commit()
v = get_config(m, IETF)
check("<address>198.51.100.7</address>" in v and "<maxpoll>8</maxpoll>" in v, "a native peer is a uc-peer")
check("198.18.0.9" not in v, "a peer of vpn-instance blue is not in ietf-ntp")

# 5. Delete through ietf-ntp.
m.edit_config(target="candidate", config=ietf(uc("2001:db8::1", "uc-peer", op="delete")))
m.commit()
check("2001:db8::1" not in get_config(m, NTP), "delete through ietf-ntp removes the peer")

# 6. A validation error names the ietf-ntp path.
e = expect_error(lambda: m.edit_config(target="candidate", config=ietf(
    uc("192.0.2.5", "uc-peer", "<minpoll>10</minpoll><maxpoll>6</maxpoll>"))))
check("ntp:unicast-configuration[ntp:address='192.0.2.5'][ntp:type='ntp:uc-peer']" in (e.path or ""),
      "the error names the ietf-ntp path (%s)" % e.path)
m.discard_changes()

# 7. <get> through ietf-ntp: the clock and the associations.
r = m.get(filter=("subtree", '<ntp xmlns="%s"/>' % IETF))
replies.save("get", r)
check("<clock-state><system-status>" in r.data_xml and "<association><address>192.0.2.1</address>" in r.data_xml,
      "<get> shows clock-state and the associations")

done(m)
