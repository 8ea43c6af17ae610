#!/usr/bin/python3
"""ncclient: access control (RFC 8341) configured through NETCONF and
enforced for a second user at once, on the native model and on rules
naming the ietf-ntp view's nodes.

Started by server/interop_test.go against an agent on loopback that
serves the ietf-ntp view:
  ncclient_nacm.py HOST PORT ADMIN_PASSWORD
Every check raises on failure (exit status 1).
"""
import functools
import re
import sys

import ncinterop
from ncinterop import ACM, IETF, NTP, SYS, check, done, expect_error

HOST, PORT, ADMIN_PW = sys.argv[1:4]
NOC_PW = "Noc-Password-1"
connect = functools.partial(ncinterop.connect, HOST, PORT)


def peer(addr):
    return ('<config><ntp xmlns="%s"><unicast-peer><address>%s</address>'
            '<vpn-instance>_public_</vpn-instance></unicast-peer></ntp></config>' % (NTP, addr))


# 1. The admin (the users file's: the recovery session) adds a user and
# the rules for its group, and a peer.
admin = connect("admin", ADMIN_PW)
admin.edit_config(target="candidate", config="""<config>
<system xmlns="%s"><local-user><name>noc</name><role>operator</role><password>%s</password></local-user></system>
<nacm xmlns="%s">
  <groups><group><name>noc</name><user-name>noc</user-name></group></groups>
  <rule-list><name>10-admin</name><group>admin</group>
    <rule><name>all</name><access-operations>*</access-operations><action>permit</action></rule></rule-list>
  <rule-list><name>20-noc</name><group>noc</group>
    <rule><name>no-users</name><module-name>ntpagent-system</module-name>
      <path xmlns:ntps="%s">/ntps:system/ntps:local-user</path>
      <access-operations>read</access-operations><action>deny</action></rule>
    <rule><name>peers</name><module-name>ntpagent-ntp</module-name>
      <path xmlns:ntpa="%s">/ntpa:ntp/ntpa:unicast-peer</path>
      <access-operations>create update delete</access-operations><action>permit</action></rule>
  </rule-list>
</nacm>
<ntp xmlns="%s"><unicast-peer><address>192.0.2.1</address><vpn-instance>_public_</vpn-instance></unicast-peer></ntp>
</config>""" % (SYS, NOC_PW, ACM, SYS, NTP, NTP))
admin.commit()
check(True, "admin configured /nacm and user noc")

# 2. noc reads the peers, not the users (RFC 8341 §3.4.5).
noc = connect("noc", NOC_PW)
r = noc.get_config(source="running").data_xml
check("192.0.2.1" in r, "noc reads the peer")
check("local-user" not in r and "<nacm" not in r, "noc reads neither users nor /nacm")

# 3. noc creates a peer (permitted) and commits.
noc.edit_config(target="candidate", config=peer("192.0.2.2"))
noc.commit()
check("192.0.2.2" in admin.get_config(source="running").data_xml, "noc's peer is committed")

# 4. A write the rules do not permit is refused whole; the candidate is
# unchanged (write-default deny).
before = admin.get_config(source="candidate").data_xml
expect_error(lambda: noc.edit_config(target="candidate", config=(
    '<config><system xmlns="%s"><sysname>hacked</sysname></system>'
    '<ntp xmlns="%s"><unicast-peer><address>192.0.2.3</address><vpn-instance>_public_</vpn-instance></unicast-peer></ntp></config>') % (SYS, NTP)),
    "access-denied")
check(admin.get_config(source="candidate").data_xml == before, "the denied edit changed nothing")

# 5. kill-session is denied unless a rule permits it (§3.4.4).
expect_error(lambda: noc.kill_session(admin.session_id), "access-denied")

# 6. The counters (§3.5.2), read by the admin.
st = admin.get(filter=("subtree", '<nacm xmlns="%s"/>' % ACM)).data_xml
w = int(re.search(r"<denied-data-writes>(\d+)</denied-data-writes>", st).group(1))
o = int(re.search(r"<denied-operations>(\d+)</denied-operations>", st).group(1))
check(w >= 1 and o >= 1, "denied-data-writes %d, denied-operations %d" % (w, o))

# 7. Rules naming ietf-ntp's nodes (RFC 8341 applies to every module's
# data): servers are not shown to noc through ietf-ntp, minpoll is not
# written through it, the rest of ietf-ntp is.
admin.edit_config(target="candidate", config="""<config>
<nacm xmlns="%(acm)s"><rule-list><name>30-noc-ietf-ntp</name><group>noc</group>
  <rule><name>a-hide-servers</name><module-name>ietf-ntp</module-name>
    <path xmlns:ntp="%(ietf)s">/ntp:ntp/ntp:unicast-configuration[ntp:type='ntp:uc-server']</path>
    <access-operations>read</access-operations><action>deny</action></rule>
  <rule><name>b-no-minpoll</name><module-name>ietf-ntp</module-name>
    <path xmlns:ntp="%(ietf)s">/ntp:ntp/ntp:unicast-configuration/ntp:minpoll</path>
    <access-operations>create update delete</access-operations><action>deny</action></rule>
  <rule><name>c-ietf-ntp</name><module-name>ietf-ntp</module-name>
    <access-operations>create update delete</access-operations><action>permit</action></rule>
</rule-list></nacm>
<ntp xmlns="%(ntp)s"><unicast-server><address>192.0.2.9</address><vpn-instance>_public_</vpn-instance></unicast-server></ntp>
</config>""" % {"acm": ACM, "ietf": IETF, "ntp": NTP})
admin.commit()


def ietf_config(m, source="running"):
    return m.get_config(source=source, filter=("subtree", '<ntp xmlns="%s"/>' % IETF)).data_xml


v = ietf_config(noc)
check("192.0.2.1" in v and "192.0.2.9" not in v, "noc's ietf-ntp reply hides the uc-server")
check("192.0.2.9" in ietf_config(admin), "the admin's ietf-ntp reply shows it")
native = noc.get_config(source="running", filter=("subtree", '<ntp xmlns="%s"/>' % NTP)).data_xml
check("192.0.2.9" in native, "the view's rule does not prune the native model")

# noc creates a peer through ietf-ntp (the native rule and the view's
# permit it) and commits; minpoll through ietf-ntp is denied, named in
# ietf-ntp, and the candidate is unchanged.
ietf_peer = ('<config><ntp xmlns="%s"><unicast-configuration><address>192.0.2.4</address>'
             '<type>uc-peer</type>%s</unicast-configuration></ntp></config>')
noc.edit_config(target="candidate", config=ietf_peer % (IETF, "<maxpoll>9</maxpoll>"))
noc.commit()
check("192.0.2.4" in ietf_config(admin), "noc's peer through ietf-ntp is committed")
before = admin.get_config(source="candidate").data_xml
e = expect_error(lambda: noc.edit_config(target="candidate", config=ietf_peer % (IETF, "<minpoll>5</minpoll>")), "access-denied")
check("ntp:unicast-configuration[ntp:address='192.0.2.4'][ntp:type='ntp:uc-peer']/ntp:minpoll" in (e.path or ""),
      "the error names the ietf-ntp node (%s)" % e.path)
check(admin.get_config(source="candidate").data_xml == before, "the denied edit through ietf-ntp changed nothing")

done(noc, admin)
