"""What the ncclient interop scripts beside this file share.

The Go tests of package server start each script as
`python3 testdata/netconf/ncclient_X.py ...`; Python puts the script's
folder first on its path, so `import ncinterop` finds this module there.
A script checks each step with check() or expect_error(), which end it
with "FAIL: ..." (exit status 1) at the first failure, and ends with
done(), which prints "ALL OK": the Go test's sign that every step ran. It
writes the replies and module texts it received (Replies, write_schema)
into the folder the test gives it, for the test to validate with yanglint.
"""
import os

from lxml import etree
from ncclient import manager
from ncclient.operations import RPCError

ACM = "urn:ietf:params:xml:ns:yang:ietf-netconf-acm"
IETF = "urn:ietf:params:xml:ns:yang:ietf-ntp"
NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
NTP = "urn:ntpagent:yang:ntpagent-ntp"
SYS = "urn:ntpagent:yang:ntpagent-system"
YLIB = "urn:ietf:params:xml:ns:yang:ietf-yang-library"


def connect(host, port, user, password=None, key=None):
    """A NETCONF session over SSH as user, by password or by private key file
    only (no agent, no keys of the home folder; the test's host key is new)."""
    return manager.connect(host=host, port=int(port), username=user, password=password,
                           key_filename=key, hostkey_verify=False, allow_agent=False,
                           look_for_keys=False, timeout=30)


def check(cond, what):
    if not cond:
        raise SystemExit("FAIL: " + what)
    print("ok:", what, flush=True)


def done(*sessions):
    """Closes the sessions and says that every check passed."""
    for m in sessions:
        m.close_session()
    print("ALL OK", flush=True)


def expect_error(fn, tag=None):
    """Calls fn, which must fail with an rpc-error (of error-tag tag, when
    given); returns the error."""
    try:
        fn()
    except RPCError as e:
        if tag is not None:
            check(e.tag == tag, "rpc-error tag %s (got %s: %s)" % (tag, e.tag, e.message))
        return e
    raise SystemExit("FAIL: expected rpc-error " + (tag or "(any)"))


def write_elements(path, elements):
    """Writes elements one after the other: the children of a reply's <data>,
    the form yanglint reads."""
    with open(path, "wb") as f:
        for e in elements:
            f.write(etree.tostring(e))


def write_schema(out, filename, text):
    """Writes a module text that <get-schema> returned to out/filename."""
    with open(os.path.join(out, filename), "w") as f:
        f.write(text)


class Replies:
    """Keeps each reply's <data> children in the folder out, numbered per
    kind: out/getconfig-N.xml for get-config (yanglint -t config),
    out/get/get-N.xml for <get> (yanglint -t get)."""

    def __init__(self, out):
        self.out = out
        self.count = {}

    def save(self, kind, reply):
        self.count[kind] = self.count.get(kind, 0) + 1
        folder = os.path.join(self.out, "get") if kind == "get" else self.out
        os.makedirs(folder, exist_ok=True)
        write_elements(os.path.join(folder, "%s-%d.xml" % (kind, self.count[kind])), reply.data_ele)
