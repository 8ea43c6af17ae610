#!/usr/bin/python3
"""ncclient interop script for ntpagent's NETCONF server.

Started by server/interop_test.go against an agent on loopback:
  ncclient_interop.py HOST PORT ADMIN_PASSWORD ADMIN_KEYFILE OPERATOR_PASSWORD OUTDIR
Every check raises on failure (exit status 1). Each get-config reply is
written to OUTDIR/getconfig-N.xml and each <get-schema> text to
OUTDIR/NAME.yang, for the Go test to validate with yanglint.
"""
import functools
import sys
import time

from ncclient.operations import RPCError

import ncinterop
from ncinterop import NC, NTP, Replies, check, done, expect_error, write_schema

HOST, PORT, ADMIN_PW, KEYFILE, OPER_PW, OUT = sys.argv[1:7]
NS = {"ntpa": NTP}
replies = Replies(OUT)
connect = functools.partial(ncinterop.connect, HOST, PORT)


def peer(addr, extra="", op=""):
    attr = ' xmlns:nc="%s" nc:operation="%s"' % (NC, op) if op else ""
    return ('<config><ntp xmlns="%s"><unicast-peer%s><address>%s</address>'
            '<vpn-instance>_public_</vpn-instance>%s</unicast-peer></ntp></config>' % (NTP, attr, addr, extra))


def running_has(m, addr):
    r = m.get_config(source="running", filter=("subtree", '<ntp xmlns="%s"/>' % NTP))
    replies.save("getconfig", r)
    return ("<address>%s</address>" % addr) in r.data_xml


# 1. Key authentication; capabilities.
m = connect("admin", key=KEYFILE)
caps = list(m.server_capabilities)
check(m.session_id is not None, "session-id from the hello")
for c in (":candidate", ":confirmed-commit:1.1", ":validate:1.1", ":with-defaults", ":notification", "base:1.1"):
    check(any(c in x for x in caps), "capability " + c)
check(not any("huawei" in x.lower() for x in caps), "no huawei capability")

# 2. get-schema of our modules.
# ietf-netconf-acm: both import it (nacm:default-deny-all on the secrets).
for name in ("ntpagent-ntp", "ntpagent-system", "ietf-netconf-acm"):
    text = m.get_schema(name).data
    check(text.lstrip().startswith("module " + name), "get-schema " + name)
    write_schema(OUT, name + ".yang", text)

# 3. A second session, password authentication, subscribed to the NETCONF stream.
sub = connect("admin", password=ADMIN_PW)
sub.create_subscription()
check(True, "create-subscription")

# 4. edit-config candidate, validate, commit.
m.edit_config(target="candidate", config=peer("10.1.1.1", "<minpoll>4</minpoll><maxpoll>8</maxpoll>"))
m.validate(source="candidate")
m.commit()
check(running_has(m, "10.1.1.1"), "edit-config candidate + validate + commit")

# 5. The subscriber sees a netconf-config-change.
seen = False
for _ in range(20):
    n = sub.take_notification(block=True, timeout=10)
    if n is None:
        break
    if "netconf-config-change" in n.notification_xml:
        seen = True
        break
check(seen, "netconf-config-change notification received")

# 6. Filters: subtree and XPath.
r = m.get_config(source="running", filter=("subtree",
    '<ntp xmlns="%s"><unicast-peer><address>10.1.1.1</address></unicast-peer></ntp>' % NTP))
replies.save("getconfig", r)
check("<minpoll>4</minpoll>" in r.data_xml, "get-config with a subtree filter")
r = m.get_config(source="running", filter=("xpath", (NS, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.1.1.1']")))
replies.save("getconfig", r)
check("10.1.1.1" in r.data_xml, "get-config with an XPath filter")
r = m.get(filter=("subtree", '<ntp xmlns="%s"/>' % NTP))
check("10.1.1.1" in r.data_xml, "get with a subtree filter")

# 7. with-defaults (RFC 6243).
r = m.get_config(source="running", with_defaults="report-all")
replies.save("getconfig", r)
check("<port>123</port>" in r.data_xml, "with-defaults report-all shows default port")
r = m.get_config(source="running", with_defaults="explicit")
replies.save("getconfig", r)
check("<port>123</port>" not in r.data_xml and "<minpoll>4</minpoll>" in r.data_xml, "with-defaults explicit")

# 8. Confirmed commit, then confirm.
m.edit_config(target="candidate", config=peer("10.2.2.2"))
m.commit(confirmed=True, timeout="60")
m.commit()
check(running_has(m, "10.2.2.2"), "confirmed commit + confirming commit")

# 9. Confirmed commit not confirmed in time rolls back.
m.edit_config(target="candidate", config=peer("10.3.3.3"))
m.commit(confirmed=True, timeout="2")
check(running_has(m, "10.3.3.3"), "confirmed commit applied")
deadline = time.time() + 15
while time.time() < deadline and running_has(m, "10.3.3.3"):
    time.sleep(0.5)
check(not running_has(m, "10.3.3.3"), "unconfirmed commit rolled back after confirm-timeout")

# 10. lock / unlock; another session is refused the lock.
m.lock("candidate")
expect_error(lambda: sub.lock("candidate"), "lock-denied")
m.unlock("candidate")
sub.lock("candidate")
sub.unlock("candidate")
check(True, "lock/unlock")

# 11. discard-changes.
m.edit_config(target="candidate", config=peer("10.4.4.4"))
m.discard_changes()
r = m.get_config(source="candidate")
replies.save("getconfig", r)
check("10.4.4.4" not in r.data_xml, "discard-changes")

# 12. An expected rpc-error with its path: minpoll greater than maxpoll.
# The datastore may refuse it at edit-config (test-then-set) or at validate.
e = None
try:
    m.edit_config(target="candidate", config=peer("10.1.1.1", "<minpoll>9</minpoll><maxpoll>6</maxpoll>"))
    m.validate(source="candidate")
except RPCError as err:
    e = err
check(e is not None and e.path is not None and "minpoll" in e.path,
      "rpc-error for minpoll > maxpoll has a path (tag=%s path=%s)" % (e and e.tag, e and e.path))
m.discard_changes()
expect_error(lambda: m.edit_config(target="candidate", config=peer("10.1.1.1", "<port>100</port>")), "invalid-value")
m.discard_changes()

# 13. Operator: reads, cannot edit, commit or lock.
op = connect("operator", password=OPER_PW)
r = op.get_config(source="running")
replies.save("getconfig", r)
check("10.1.1.1" in r.data_xml, "operator can get-config")
expect_error(lambda: op.edit_config(target="candidate", config=peer("10.9.9.9")), "access-denied")
expect_error(lambda: op.commit(), "access-denied")
expect_error(lambda: op.lock("candidate"), "access-denied")
done(op, sub, m)
