package rules

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/openconfig/ygot/ygot"

	"github.com/ntpagent/ntpagent/gen"
	"github.com/ntpagent/ntpagent/internal/rpcerror"
)

// server adds a unicast server to d and returns it.
func server(d *gen.Device, addr, vpn string) *gen.NtpagentNtp_Ntp_UnicastServer {
	s, err := d.GetOrCreateNtp().NewUnicastServer(addr, vpn)
	if err != nil {
		panic(err)
	}
	return s
}

// peer adds a unicast peer to d and returns it.
func peer(d *gen.Device, addr, vpn string) *gen.NtpagentNtp_Ntp_UnicastPeer {
	p, err := d.GetOrCreateNtp().NewUnicastPeer(addr, vpn)
	if err != nil {
		panic(err)
	}
	return p
}

func key(d *gen.Device, id uint32, mode gen.E_NtpagentNtp_Ntp_Authentication_Key_Mode, value string) *gen.NtpagentNtp_Ntp_Authentication_Key {
	k, err := d.GetOrCreateNtp().GetOrCreateAuthentication().NewKey(id)
	if err != nil {
		panic(err)
	}
	k.Mode = mode
	k.KeyValue = ygot.String(testCipher().Seal(value))
	return k
}

// testCipher is a device's key cipher with an all-zero secret.
func testCipher() *KeyCipher {
	c, err := NewKeyCipher(make([]byte, DeviceKeySize))
	if err != nil {
		panic(err)
	}
	return c
}

var localNets = WithLocalPrefixes(func() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("198.18.0.1/24"), netip.MustParsePrefix("198.19.5.9/31")}
})

// TestRules has one passing and one failing row per product rule; a failing
// row names the path and the message the operator sees in NETCONF and CLI.
func TestRules(t *testing.T) {
	for _, c := range []struct {
		name    string
		build   func(d *gen.Device)
		tag     rpcerror.Tag
		path    string
		message string // substring; empty for a passing row
	}{
		{"seed step 4: an IPv4 host address is accepted", func(d *gen.Device) { peer(d, "10.1.1.1", "_public_") }, "", "", ""},
		{"seed step 4: loopback is a host address", func(d *gen.Device) { peer(d, "127.0.0.1", "_public_") }, "", "", ""},
		{"seed step 4: 255.255.255.255 is a broadcast address", func(d *gen.Device) { peer(d, "255.255.255.255", "_public_") },
			rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='255.255.255.255'][ntpa:vpn-instance='_public_']/ntpa:address", "it is the broadcast address."},
		{"seed step 4: a local subnet's broadcast address is refused", func(d *gen.Device) { peer(d, "198.18.0.255", "_public_") },
			rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='198.18.0.255'][ntpa:vpn-instance='_public_']/ntpa:address", "broadcast address of the local subnet 198.18.0.0/24"},
		{"seed step 4: a /31 has no broadcast address", func(d *gen.Device) { peer(d, "198.19.5.9", "_public_") }, "", "", ""},
		{"seed step 4: an IPv4 multicast address is refused", func(d *gen.Device) { peer(d, "224.0.1.1", "_public_") },
			rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='224.0.1.1'][ntpa:vpn-instance='_public_']/ntpa:address", "it is a multicast address."},
		{"seed step 4: an IPv6 multicast address is refused", func(d *gen.Device) { peer(d, "ff02::101", "_public_") },
			rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='ff02::101'][ntpa:vpn-instance='_public_']/ntpa:address", "it is a multicast address."},
		{"seed step 4: the IPv4 unspecified address is refused", func(d *gen.Device) { peer(d, "0.0.0.0", "_public_") },
			rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='0.0.0.0'][ntpa:vpn-instance='_public_']/ntpa:address", "it is unspecified."},
		{"seed step 4: the IPv6 unspecified address is refused", func(d *gen.Device) { peer(d, "::", "_public_") },
			rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='::'][ntpa:vpn-instance='_public_']/ntpa:address", "it is unspecified."},
		{"seed step 4: a reference clock address is refused", func(d *gen.Device) { peer(d, "127.127.1.0", "_public_") },
			rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='127.127.1.0'][ntpa:vpn-instance='_public_']/ntpa:address", "reference clock address (127.127.0.0/16)"},
		{"seed step 4: an IPv6 host address is accepted", func(d *gen.Device) { peer(d, "fd00::2", "_public_") }, "", "", ""},
		{"seed step 4: a domain name is accepted", func(d *gen.Device) { peer(d, "ntp1.example.net", "_public_") }, "", "", ""},
		{"domain peer: an all-numeric name is a mistyped address", func(d *gen.Device) { peer(d, "10.1.1.300", "_public_") },
			rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.1.1.300'][ntpa:vpn-instance='_public_']/ntpa:address", "looks like an IP address"},
		{"IPv6 peers use version 4: version 4 accepted", func(d *gen.Device) { peer(d, "fd00::2", "_public_").Version = ygot.Uint8(4) }, "", "", ""},
		{"IPv6 peers use version 4: version 3 refused", func(d *gen.Device) { peer(d, "fd00::2", "_public_").Version = ygot.Uint8(3) },
			rpcerror.TagOperationFailed, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='fd00::2'][ntpa:vpn-instance='_public_']/ntpa:version", "An IPv6 peer uses NTP version 4."},
		{"IPv4 peers may use version 3", func(d *gen.Device) { peer(d, "10.1.1.1", "_public_").Version = ygot.Uint8(3) }, "", "", ""},
		{"rule 4: minpoll equal to maxpoll is accepted", func(d *gen.Device) {
			p := peer(d, "10.1.1.1", "_public_")
			p.Minpoll, p.Maxpoll = ygot.Uint8(8), ygot.Uint8(8)
		}, "", "", ""},
		{"rule 4: minpoll greater than maxpoll is refused", func(d *gen.Device) {
			p := peer(d, "10.1.1.1", "vpn1")
			p.Minpoll, p.Maxpoll = ygot.Uint8(9), ygot.Uint8(8)
		}, rpcerror.TagOperationFailed, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.1.1.1'][ntpa:vpn-instance='vpn1']/ntpa:minpoll", "minpoll must not be greater than maxpoll (minpoll 9, maxpoll 8)."},
		{"rule 4: minpoll above the default maxpoll is refused", func(d *gen.Device) { peer(d, "10.1.1.1", "_public_").Minpoll = ygot.Uint8(11) },
			rpcerror.TagOperationFailed, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.1.1.1'][ntpa:vpn-instance='_public_']/ntpa:minpoll", "minpoll 11, maxpoll 10"},
		{"rule 4: max-poll-interval with dec-step is accepted", func(d *gen.Device) {
			u := d.GetOrCreateNtp().GetOrCreateUnsync()
			u.MaxPollInterval, u.DecStep = ygot.Uint8(8), ygot.Uint8(2)
		}, "", "", ""},
		{"rule 4: max-poll-interval without dec-step is refused", func(d *gen.Device) { d.GetOrCreateNtp().GetOrCreateUnsync().MaxPollInterval = ygot.Uint8(8) },
			rpcerror.TagOperationFailed, "/ntpa:ntp/ntpa:unsync/ntpa:max-poll-interval", "max-poll-interval and dec-step must be configured together."},
		{"rule 4: dec-step without max-poll-interval is refused", func(d *gen.Device) { d.GetOrCreateNtp().GetOrCreateUnsync().DecStep = ygot.Uint8(1) },
			rpcerror.TagOperationFailed, "/ntpa:ntp/ntpa:unsync/ntpa:dec-step", "max-poll-interval and dec-step must be configured together."},
		{"rule 3: a configured key is accepted", func(d *gen.Device) {
			key(d, 7, gen.NtpagentNtp_Ntp_Authentication_Key_Mode_md5, "secret")
			peer(d, "10.1.1.1", "_public_").AuthenticationKeyid = ygot.Uint32(7)
		}, "", "", ""},
		{"rule 3: authentication-keyid must name a configured key", func(d *gen.Device) {
			key(d, 7, gen.NtpagentNtp_Ntp_Authentication_Key_Mode_md5, "secret")
			peer(d, "10.1.1.1", "_public_").AuthenticationKeyid = ygot.Uint32(8)
		}, rpcerror.TagDataMissing, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.1.1.1'][ntpa:vpn-instance='_public_']/ntpa:authentication-keyid", "Authentication key 8 is not configured."},
		{"key: an AES-128-CMAC key of 32 hex digits is accepted", func(d *gen.Device) {
			key(d, 1, gen.NtpagentNtp_Ntp_Authentication_Key_Mode_aes_128_cmac, "000102030405060708090a0b0c0d0e0f")
		}, "", "", ""},
		{"key: an AES-128-CMAC key must be 16 bytes", func(d *gen.Device) {
			key(d, 1, gen.NtpagentNtp_Ntp_Authentication_Key_Mode_aes_128_cmac, "short")
		}, rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:authentication/ntpa:key[ntpa:key-id='1']/ntpa:key-value", "an aes-128-cmac key is 16 bytes"},
		{"key: a damaged cipher text is refused", func(d *gen.Device) {
			k := key(d, 2, gen.NtpagentNtp_Ntp_Authentication_Key_Mode_sha1, "x")
			k.KeyValue = ygot.String("%^%#AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%^%#")
		}, rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:authentication/ntpa:key[ntpa:key-id='2']/ntpa:key-value", "give the key in plain text"},
		{"key: a cipher text of another device is refused", func(d *gen.Device) {
			other, _ := NewKeyCipher([]byte("another device's 32-byte secret!"))
			k := key(d, 2, gen.NtpagentNtp_Ntp_Authentication_Key_Mode_sha1, "x")
			k.KeyValue = ygot.String(other.Seal("x"))
		}, rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:authentication/ntpa:key[ntpa:key-id='2']/ntpa:key-value", "was not made by this device"},
		{"mandatory: a key needs a mode", func(d *gen.Device) {
			k, _ := d.GetOrCreateNtp().GetOrCreateAuthentication().NewKey(3)
			k.KeyValue = ygot.String(testCipher().Seal("abc"))
		}, rpcerror.TagDataMissing, "/ntpa:ntp/ntpa:authentication/ntpa:key[ntpa:key-id='3']/ntpa:mode", "has no authentication mode"},
		{"mandatory: a key needs a value", func(d *gen.Device) {
			k, _ := d.GetOrCreateNtp().GetOrCreateAuthentication().NewKey(3)
			k.Mode = gen.NtpagentNtp_Ntp_Authentication_Key_Mode_md5
		}, rpcerror.TagDataMissing, "/ntpa:ntp/ntpa:authentication/ntpa:key[ntpa:key-id='3']/ntpa:key-value", "has no key value"},
		{"mandatory: a source interface needs an interface", func(d *gen.Device) {
			d.GetOrCreateNtp().NewSourceInterface(gen.NtpagentNtp_AddressFamily_ipv6)
		}, rpcerror.TagDataMissing, "/ntpa:ntp/ntpa:source-interface[ntpa:address-family='ipv6']/ntpa:interface", "names no interface"},
		{"YANG range: port 200 is refused with its keyed path", func(d *gen.Device) { peer(d, "10.1.1.1", "_public_").Port = ygot.Uint16(200) },
			rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.1.1.1'][ntpa:vpn-instance='_public_']/ntpa:port", "The value 200 of port is not valid"},
		{"YANG range: minpoll 2 is refused", func(d *gen.Device) { peer(d, "10.1.1.1", "_public_").Minpoll = ygot.Uint8(2) },
			rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.1.1.1'][ntpa:vpn-instance='_public_']/ntpa:minpoll", "The value 2 of minpoll is not valid"},
		{"YANG pattern: an interface name with '/' is refused", func(d *gen.Device) { peer(d, "10.1.1.1", "_public_").SourceInterface = ygot.String("Gi0/0/1") },
			rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.1.1.1'][ntpa:vpn-instance='_public_']/ntpa:source-interface", "The value Gi0/0/1 of source-interface is not valid"},
		{"YANG pattern: a peer address that is no address or name is refused", func(d *gen.Device) { peer(d, "bad name!", "_public_") },
			rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unicast-peer[ntpa:address='bad name!'][ntpa:vpn-instance='_public_']/ntpa:address", "bad name!"},
		{"server: an IPv4 host address is accepted", func(d *gen.Device) { server(d, "10.1.1.1", "_public_") }, "", "", ""},
		{"server: loopback is a host address", func(d *gen.Device) { server(d, "127.0.0.1", "_public_") }, "", "", ""},
		{"server: an IPv6 host address is accepted", func(d *gen.Device) { server(d, "fd00::2", "_public_") }, "", "", ""},
		{"server: a domain name is accepted", func(d *gen.Device) { server(d, "ntp1.example.net", "blue") }, "", "", ""},
		{"server: 255.255.255.255 is a broadcast address", func(d *gen.Device) { server(d, "255.255.255.255", "_public_") },
			rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unicast-server[ntpa:address='255.255.255.255'][ntpa:vpn-instance='_public_']/ntpa:address", "The server address 255.255.255.255 is not a host address: it is the broadcast address."},
		{"server: a local subnet's broadcast address is refused", func(d *gen.Device) { server(d, "198.18.0.255", "_public_") },
			rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unicast-server[ntpa:address='198.18.0.255'][ntpa:vpn-instance='_public_']/ntpa:address", "broadcast address of the local subnet 198.18.0.0/24"},
		{"server: an IPv4 multicast address is refused", func(d *gen.Device) { server(d, "224.0.1.1", "_public_") },
			rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unicast-server[ntpa:address='224.0.1.1'][ntpa:vpn-instance='_public_']/ntpa:address", "The server address 224.0.1.1 is not a host address: it is a multicast address."},
		{"server: an IPv6 multicast address is refused", func(d *gen.Device) { server(d, "ff05::101", "_public_") },
			rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unicast-server[ntpa:address='ff05::101'][ntpa:vpn-instance='_public_']/ntpa:address", "it is a multicast address."},
		{"server: the unspecified address is refused", func(d *gen.Device) { server(d, "::", "_public_") },
			rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unicast-server[ntpa:address='::'][ntpa:vpn-instance='_public_']/ntpa:address", "it is unspecified."},
		{"server: a reference clock address is refused", func(d *gen.Device) { server(d, "127.127.1.0", "_public_") },
			rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unicast-server[ntpa:address='127.127.1.0'][ntpa:vpn-instance='_public_']/ntpa:address", "reference clock address (127.127.0.0/16)"},
		{"server: an all-numeric domain name is a mistyped address", func(d *gen.Device) { server(d, "10.1.1.300", "_public_") },
			rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unicast-server[ntpa:address='10.1.1.300'][ntpa:vpn-instance='_public_']/ntpa:address", "The server domain name \"10.1.1.300\" is not a valid host name: it looks like an IP address."},
		{"server: IPv6 servers use version 4", func(d *gen.Device) { server(d, "fd00::2", "_public_").Version = ygot.Uint8(3) },
			rpcerror.TagOperationFailed, "/ntpa:ntp/ntpa:unicast-server[ntpa:address='fd00::2'][ntpa:vpn-instance='_public_']/ntpa:version", "An IPv6 server uses NTP version 4."},
		{"server: IPv4 servers may use version 3", func(d *gen.Device) { server(d, "10.1.1.1", "_public_").Version = ygot.Uint8(3) }, "", "", ""},
		{"server: minpoll greater than maxpoll is refused", func(d *gen.Device) {
			s := server(d, "10.1.1.1", "vpn1")
			s.Minpoll, s.Maxpoll = ygot.Uint8(7), ygot.Uint8(4)
		}, rpcerror.TagOperationFailed, "/ntpa:ntp/ntpa:unicast-server[ntpa:address='10.1.1.1'][ntpa:vpn-instance='vpn1']/ntpa:minpoll", "minpoll must not be greater than maxpoll (minpoll 7, maxpoll 4)."},
		{"server: a configured key is accepted", func(d *gen.Device) {
			key(d, 7, gen.NtpagentNtp_Ntp_Authentication_Key_Mode_sha1, "secret")
			server(d, "10.1.1.1", "_public_").AuthenticationKeyid = ygot.Uint32(7)
		}, "", "", ""},
		{"server: authentication-keyid must name a configured key", func(d *gen.Device) {
			server(d, "10.1.1.1", "_public_").AuthenticationKeyid = ygot.Uint32(9)
		}, rpcerror.TagDataMissing, "/ntpa:ntp/ntpa:unicast-server[ntpa:address='10.1.1.1'][ntpa:vpn-instance='_public_']/ntpa:authentication-keyid", "Authentication key 9 is not configured."},
		{"server: YANG range: port 200 is refused with its keyed path", func(d *gen.Device) { server(d, "10.1.1.1", "_public_").Port = ygot.Uint16(200) },
			rpcerror.TagInvalidValue, "/ntpa:ntp/ntpa:unicast-server[ntpa:address='10.1.1.1'][ntpa:vpn-instance='_public_']/ntpa:port", "The value 200 of port is not valid"},
		{"server and peer: one address in one vpn-instance is a peer or a server", func(d *gen.Device) {
			peer(d, "10.1.1.1", "_public_")
			server(d, "10.1.1.1", "_public_")
		}, rpcerror.TagOperationFailed, "/ntpa:ntp/ntpa:unicast-server[ntpa:address='10.1.1.1'][ntpa:vpn-instance='_public_']", "10.1.1.1 in VPN instance _public_ is already a unicast peer"},
		{"server and peer: the same address in two vpn-instances is accepted", func(d *gen.Device) {
			peer(d, "10.1.1.1", "_public_")
			server(d, "10.1.1.1", "blue")
		}, "", "", ""},
		{"YANG pattern: sysname without spaces", func(d *gen.Device) { d.GetOrCreateSystem().Sysname = ygot.String("two words") },
			rpcerror.TagInvalidValue, "/ntps:system/ntps:sysname", "The value two words of sysname is not valid"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := &gen.Device{}
			c.build(d)
			err := Validate(d, localNets, WithKeyCipher(testCipher()))
			if c.message == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			errs := rpcerror.All(err)
			if len(errs) != 1 {
				t.Fatalf("Validate = %v, want exactly one error", err)
			}
			e := errs[0]
			if e.Tag != c.tag || e.Path != c.path || !strings.Contains(e.Message, c.message) {
				t.Errorf("got tag %q path %q message %q\nwant tag %q path %q message containing %q", e.Tag, e.Path, e.Message, c.tag, c.path, c.message)
			}
			if !strings.HasSuffix(e.Message, ".") || strings.Contains(e.Message, "\n") {
				t.Errorf("message %q is not one sentence", e.Message)
			}
		})
	}
}

func TestValidateReportsEveryViolation(t *testing.T) {
	d := &gen.Device{}
	peer(d, "224.0.0.1", "_public_")
	peer(d, "10.0.0.1", "_public_").Minpoll = ygot.Uint8(12)
	errs := rpcerror.All(Validate(d, localNets))
	if len(errs) != 2 {
		t.Fatalf("got %d errors (%v), want 2", len(errs), errs)
	}
	// Stable order: by peer address.
	if !strings.Contains(errs[0].Path, "10.0.0.1") || !strings.Contains(errs[1].Path, "224.0.0.1") {
		t.Errorf("order: %v", errs)
	}
}

// TestEffectiveSourceInterface proves rule 2: a peer's own source interface
// takes precedence over the global one of its family and vpn-instance.
func TestEffectiveSourceInterface(t *testing.T) {
	d := &gen.Device{}
	v4, _ := d.GetOrCreateNtp().NewSourceInterface(gen.NtpagentNtp_AddressFamily_ipv4)
	v4.Interface, v4.VpnInstance = ygot.String("eth0"), ygot.String("_public_")
	v6, _ := d.GetOrCreateNtp().NewSourceInterface(gen.NtpagentNtp_AddressFamily_ipv6)
	v6.Interface, v6.VpnInstance = ygot.String("eth1"), ygot.String("blue")
	own := peer(d, "10.1.1.1", "_public_")
	own.SourceInterface = ygot.String("lo")
	for _, c := range []struct {
		name     string
		peer     *gen.NtpagentNtp_Ntp_UnicastPeer
		resolved string
		want     string
		fromPeer bool
	}{
		{"the peer's own interface wins", own, "", "lo", true},
		{"IPv4 peer in _public_ takes the global IPv4 interface", peer(d, "10.1.1.2", "_public_"), "", "eth0", false},
		{"IPv4 peer in another vpn-instance takes none", peer(d, "10.1.1.3", "blue"), "", "", false},
		{"IPv6 peer in blue takes the global IPv6 interface of blue", peer(d, "fd00::1", "blue"), "", "eth1", false},
		{"IPv6 peer in _public_ takes none", peer(d, "fd00::2", "_public_"), "", "", false},
		{"domain peer resolved to IPv4 takes the IPv4 interface", peer(d, "ntp.example.net", "_public_"), "198.18.0.9", "eth0", false},
		{"unresolved domain peer takes none", peer(d, "ntp2.example.net", "_public_"), "", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var r netip.Addr
			if c.resolved != "" {
				r = netip.MustParseAddr(c.resolved)
			}
			got, fromPeer := EffectiveSourceInterface(d, c.peer, r)
			if got != c.want || fromPeer != c.fromPeer {
				t.Errorf("= %q, %v; want %q, %v", got, fromPeer, c.want, c.fromPeer)
			}
		})
	}
}

func TestKeyCipherIsDeterministicAndReversible(t *testing.T) {
	c := testCipher()
	for _, plain := range []string{"a", "secret key", "HEX:0011aabb", strings.Repeat("k", 255)} {
		sealed := c.Seal(plain)
		if !IsCipher(sealed) || strings.Contains(sealed, plain) {
			t.Errorf("Seal(%q) = %q: not a cipher form hiding the key", plain, sealed)
		}
		if again := c.Seal(plain); again != sealed {
			t.Errorf("Seal(%q) is not deterministic: %q then %q", plain, sealed, again)
		}
		if v, err := c.SealInput(sealed); err != nil || v != sealed {
			t.Errorf("SealInput of this device's cipher form = %q, %v; want it unchanged", v, err)
		}
		if p, err := c.Open(sealed); err != nil || p != plain {
			t.Errorf("Open(Seal(%q)) = %q, %v", plain, p, err)
		}
	}
	if _, err := c.Open("%^%#bm90IGEgY2lwaGVyIHRleHQgYXQgYWxsIQ%^%#"); !errors.Is(err, ErrForeignCipher) {
		t.Errorf("Open of a forged cipher text: %v", err)
	}
}

// A cipher text is bound to the device that made it: another device's
// secret neither opens it nor accepts it as input.
func TestKeyCipherRefusesAnotherDevicesCipherText(t *testing.T) {
	here := testCipher()
	there, err := NewKeyCipher([]byte("another device's 32-byte secret!"))
	if err != nil {
		t.Fatal(err)
	}
	sealed := there.Seal("shared-secret")
	if sealed == here.Seal("shared-secret") {
		t.Fatal("two devices seal a key to the same cipher text")
	}
	if _, err := here.Open(sealed); !errors.Is(err, ErrForeignCipher) {
		t.Errorf("Open: %v, want ErrForeignCipher", err)
	}
	if _, err := here.SealInput(sealed); !errors.Is(err, ErrForeignCipher) {
		t.Errorf("SealInput: %v, want ErrForeignCipher", err)
	}
	if v, changed := here.Upgrade(sealed); changed || v != sealed {
		t.Errorf("Upgrade changed a foreign cipher text to %q", v)
	}
}

// The cipher form of the versions before the device key (one public key on
// every device) is still opened, so that a stored configuration keeps
// working, and Upgrade re-seals it; as input it is refused like any cipher
// text this device did not make.
func TestKeyCipherUpgradesTheFormerConstantKeyForm(t *testing.T) {
	// "secret-one" sealed by the former CipherKey.
	const former = "%^%#uoXPSxYO6grm3rPE8xk2/TpiPkogVD9/tK/MM8mfsXsNVbIbeB8%^%#"
	c := testCipher()
	if p, err := c.Open(former); err != nil || p != "secret-one" {
		t.Fatalf("Open(former) = %q, %v", p, err)
	}
	if _, err := c.SealInput(former); !errors.Is(err, ErrForeignCipher) {
		t.Errorf("SealInput(former): %v, want ErrForeignCipher", err)
	}
	v, changed := c.Upgrade(former)
	if !changed || v != c.Seal("secret-one") {
		t.Errorf("Upgrade(former) = %q, %v; want this device's form", v, changed)
	}
	if v, changed := c.Upgrade("plain"); !changed || v != c.Seal("plain") {
		t.Errorf("Upgrade(plain) = %q, %v", v, changed)
	}
}

func TestKeyBytes(t *testing.T) {
	for _, c := range []struct {
		mode, value string
		want        int // length, or -1 for an error
	}{
		{"md5", "abc", 3},
		{"md5", "HEX:00ff", 2},
		{"md5", "HEX:0", -1},
		{"sha1", strings.Repeat("x", 256), -1},
		{"md5", "has space", -1},
		{"aes-128-cmac", "0123456789abcdef", 16},
		{"aes-128-cmac", "000102030405060708090a0b0c0d0e0f", 16},
		{"aes-256-cmac", "000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f", 32},
		{"aes-256-cmac", "0123456789abcdef0123456789abcdef", 32},
		{"aes-256-cmac", "0123456789abcdef", -1},
		{"des", "x", -1},
	} {
		b, err := KeyBytes(c.mode, c.value)
		if (c.want < 0) != (err != nil) || (err == nil && len(b) != c.want) {
			t.Errorf("KeyBytes(%s, %.20q) = %d bytes, %v; want %d", c.mode, c.value, len(b), err, c.want)
		}
	}
}

func TestCanonicalPeerAddress(t *testing.T) {
	for in, want := range map[string]string{
		"10.1.1.1":         "10.1.1.1",
		"2001:DB8:0:0::1":  "2001:db8::1",
		"NTP.Example.net":  "ntp.example.net",
		"ntp.example.net.": "ntp.example.net.",
	} {
		if got := CanonicalPeerAddress(in); got != want {
			t.Errorf("CanonicalPeerAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

// RFC 7950 §15.3: a list over its max-elements (§7.7.6) is one error,
// operation-failed with error-app-tag too-many-elements and the list's
// path, from Validate and from CheckLocalUsersBound alike; at the bound
// there is none.
func TestLocalUsersOverMaxElementsIsTooManyElements(t *testing.T) {
	max := int(gen.SchemaTree["NtpagentSystem_System_LocalUser"].ListAttr.MaxElements)
	if max == 0 {
		t.Fatal("/system/local-user has no max-elements")
	}
	d := &gen.Device{}
	for i := range max {
		d.GetOrCreateSystem().GetOrCreateLocalUser(fmt.Sprintf("user%d", i))
	}
	if err := Validate(d); err != nil {
		t.Fatalf("%d users, the bound: %v", max, err)
	}
	if err := CheckLocalUsersBound(d); err != nil {
		t.Fatalf("CheckLocalUsersBound at the bound: %v", err)
	}
	d.System.GetOrCreateLocalUser("one-more")
	for name, err := range map[string]error{"Validate": Validate(d), "CheckLocalUsersBound": CheckLocalUsersBound(d)} {
		errs := rpcerror.All(err)
		if len(errs) != 1 {
			t.Fatalf("%s: %d errors, want 1: %v", name, len(errs), err)
		}
		if e := errs[0]; e.Tag != rpcerror.TagOperationFailed || e.AppTag != "too-many-elements" || e.Path != "/ntps:system/ntps:local-user" {
			t.Errorf("%s: %+v", name, e)
		}
	}
}
