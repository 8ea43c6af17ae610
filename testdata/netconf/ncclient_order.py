#!/usr/bin/python3
"""ncclient: an ordered-by user list (/nacm rule-list, RFC 7950 §7.7.7)
keeps the order a client gives it; edit-config's yang:insert and yang:key
attributes (RFC 7950 §7.8.6) place and move entries; access control
evaluates the rule-lists in that order (RFC 8341 §3.4.5).

Started by server/order_interop_test.go against an agent on loopback:
  ncclient_order.py HOST PORT ADMIN_PASSWORD
Every check raises on failure (exit status 1).
"""
import functools
import re
import sys

import ncinterop
from ncinterop import ACM, NTP, SYS, check, done, expect_error

HOST, PORT, ADMIN_PW = sys.argv[1:4]
YANG = "urn:ietf:params:xml:ns:yang:1"
NOC_PW = "Noc-Password-1"
connect = functools.partial(ncinterop.connect, HOST, PORT)


def rule_list(name, action, attrs=""):
    """A rule-list for group noc reading the data of ntpagent-ntp."""
    return ('<rule-list %s><name>%s</name><group>noc</group>'
            '<rule><name>%s-ntp</name><module-name>ntpagent-ntp</module-name>'
            '<access-operations>read</access-operations><action>%s</action></rule></rule-list>'
            % (attrs, name, name, action))


def nacm(*lists):
    return ('<config><nacm xmlns="%s" xmlns:nacm="%s" xmlns:yang="%s">%s</nacm></config>'
            % (ACM, ACM, YANG, "".join(lists)))


def order(admin):
    """The rule-list names of running, in the order get-config gives them."""
    r = admin.get_config(source="running", filter=("subtree", '<nacm xmlns="%s"><rule-list><name/></rule-list></nacm>' % ACM)).data_xml
    return re.findall(r"<(?:\w+:)?rule-list>\s*<(?:\w+:)?name>([^<]*)<", r)


# 1. The admin adds user noc and three rule-lists, deny before permit,
# names sorting the other way.
admin = connect("admin", ADMIN_PW)
admin.edit_config(target="candidate", config="""<config>
<system xmlns="%s"><local-user><name>noc</name><role>operator</role><password>%s</password></local-user></system>
<nacm xmlns="%s">
  <groups><group><name>noc</name><user-name>noc</user-name></group></groups>
  <rule-list><name>admin-all</name><group>admin</group>
    <rule><name>all</name><access-operations>*</access-operations><action>permit</action></rule></rule-list>
  %s%s
</nacm>
<ntp xmlns="%s"><unicast-peer><address>192.0.2.1</address><vpn-instance>_public_</vpn-instance></unicast-peer></ntp>
</config>""" % (SYS, NOC_PW, ACM, rule_list("z-deny", "deny"), rule_list("a-permit", "permit"), NTP))
admin.commit()
check(order(admin) == ["admin-all", "z-deny", "a-permit"], "running keeps the order entered: %s" % order(admin))

noc = connect("noc", NOC_PW)
check("192.0.2.1" not in noc.get_config(source="running").data_xml, "z-deny, entered first, denies noc reading the peer")

# 2. Move a-permit first (insert="first" on merge): noc reads the peer.
admin.edit_config(target="candidate", config=nacm(rule_list("a-permit", "permit", 'yang:insert="first"')))
admin.commit()
check(order(admin) == ["a-permit", "admin-all", "z-deny"], "insert first moved a-permit: %s" % order(admin))
check("192.0.2.1" in noc.get_config(source="running").data_xml, "a-permit, now first, permits noc reading the peer")

# 3. A new rule-list after the one yang:key names, one before another.
admin.edit_config(target="candidate", config=nacm(
    rule_list("m-after", "deny", 'yang:insert="after" yang:key="[nacm:name=\'admin-all\']"'),
    rule_list("b-before", "deny", 'yang:insert="before" yang:key="[nacm:name=\'a-permit\']"')))
admin.commit()
check(order(admin) == ["b-before", "a-permit", "admin-all", "m-after", "z-deny"], "insert after and before: %s" % order(admin))
check("192.0.2.1" not in noc.get_config(source="running").data_xml, "b-before, inserted first, denies again")

# 4. Errors (RFC 7950 §15.8, RFC 6241 Appendix A); the candidate is left as it was.
before = admin.get_config(source="candidate").data_xml
e = expect_error(lambda: admin.edit_config(target="candidate", config=nacm(
    rule_list("x", "deny", 'yang:insert="before" yang:key="[nacm:name=\'nosuch\']"'))), "bad-attribute")
check(e.app_tag == "missing-instance", "insert before a missing entry: %s %s (%s)" % (e.tag, e.app_tag, e.message))
expect_error(lambda: admin.edit_config(target="candidate", config=nacm(rule_list("x", "deny", 'yang:insert="after"'))),
             "missing-attribute")
check(admin.get_config(source="candidate").data_xml == before, "the refused edits left the candidate as it was")

done(noc, admin)
