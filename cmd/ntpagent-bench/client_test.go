//go:build linux

package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// fakeServer is a minimal NETCONF server over SSH on loopback: it keeps one
// set of peer addresses, answers edit-config, commit, get-config and
// close-session, and records the framing its sessions used.
type fakeServer struct {
	t        testing.TB
	ln       net.Listener
	cfg      *ssh.ServerConfig
	offer11  bool
	mu       sync.Mutex
	peers    map[string]bool
	framings []Framing
	wg       sync.WaitGroup
}

var (
	reMsgID   = regexp.MustCompile(`message-id="([^"]+)"`)
	reAddress = regexp.MustCompile(`<address>([^<]+)</address>`)
)

func newFakeServer(t testing.TB, offer11 bool, clientKey ssh.PublicKey) *fakeServer {
	t.Helper()
	_, hk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(hk)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if string(k.Marshal()) != string(clientKey.Marshal()) {
			return nil, fmt.Errorf("unknown key")
		}
		return &ssh.Permissions{}, nil
	}}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, ln: ln, cfg: cfg, offer11: offer11, peers: map[string]bool{}}
	s.wg.Go(s.accept)
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *fakeServer) accept() {
	for range 10_000 {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Go(func() { s.serveConn(c) })
	}
}

func (s *fakeServer) serveConn(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	_, chans, reqs, err := ssh.NewServerConn(c, s.cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		ch, creqs, err := nc.Accept()
		if err != nil {
			return
		}
		for req := range creqs {
			if req.Type == "subsystem" && strings.HasSuffix(string(req.Payload), "netconf") {
				req.Reply(true, nil)
				go ssh.DiscardRequests(creqs)
				s.serveNETCONF(ch)
				return
			}
			req.Reply(false, nil)
		}
	}
}

func (s *fakeServer) serveNETCONF(ch ssh.Channel) {
	defer ch.Close()
	caps := "<capability>" + capBase10 + "</capability>"
	if s.offer11 {
		caps += "<capability>" + capBase11 + "</capability>"
	}
	hello := `<hello xmlns="` + nsBase + `"><capabilities>` + caps + `</capabilities><session-id>1</session-id></hello>`
	if _, err := ch.Write(frame(nil, EndOfMessage, []byte(hello))); err != nil {
		return
	}
	r := newFrameReader(ch, 1<<24)
	theirs, err := r.Read(EndOfMessage)
	if err != nil {
		return
	}
	f := EndOfMessage
	if s.offer11 && strings.Contains(string(theirs), capBase11) {
		f = Chunked
	}
	s.mu.Lock()
	s.framings = append(s.framings, f)
	s.mu.Unlock()
	for range 1_000_000 {
		msg, err := r.Read(f)
		if err != nil {
			return
		}
		m := reMsgID.FindSubmatch(msg)
		if m == nil {
			return
		}
		body := "<ok/>"
		rpc := string(msg)
		s.mu.Lock()
		switch {
		case strings.Contains(rpc, `operation="remove"`):
			clear(s.peers)
		case strings.Contains(rpc, "<edit-config>"):
			for _, a := range reAddress.FindAllStringSubmatch(rpc, -1) {
				s.peers[a[1]] = true
			}
		case strings.Contains(rpc, "<get-config>"):
			var b strings.Builder
			b.WriteString(`<data><ntp xmlns="` + nsNTP + `">`)
			for a := range s.peers {
				b.WriteString("<unicast-peer><address>" + a + "</address></unicast-peer>")
			}
			b.WriteString("</ntp></data>")
			body = b.String()
		}
		s.mu.Unlock()
		reply := `<rpc-reply message-id="` + string(m[1]) + `" xmlns="` + nsBase + `">` + body + `</rpc-reply>`
		if _, err := ch.Write(frame(nil, f, []byte(reply))); err != nil {
			return
		}
		if strings.Contains(rpc, "<close-session/>") {
			return
		}
	}
}

func testTarget(t testing.TB, name string, offer11, accept11 bool) (*Target, *fakeServer) {
	t.Helper()
	_, ck, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(ck)
	if err != nil {
		t.Fatal(err)
	}
	srv := newFakeServer(t, offer11, signer.PublicKey())
	return &Target{
		Name: name, Addr: srv.ln.Addr().String(), Framing11: accept11, Timeout: 20 * time.Second, MaxMessage: 1 << 24,
		SSH: &ssh.ClientConfig{User: "bench", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
			HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 20 * time.Second},
	}, srv
}

// RFC 6242 §4.1: chunked framing only when both hellos carry base:1.1.
func TestSessionFramingNegotiation(t *testing.T) {
	for _, tc := range []struct {
		offer11, accept11 bool
		want              Framing
	}{
		{true, true, Chunked},
		{true, false, EndOfMessage},
		{false, true, EndOfMessage},
	} {
		t.Run(fmt.Sprintf("server11=%v/client11=%v", tc.offer11, tc.accept11), func(t *testing.T) {
			tg, srv := testTarget(t, "fake", tc.offer11, tc.accept11)
			s, err := dialHello(context.Background(), tg)
			if err != nil {
				t.Fatal(err)
			}
			if s.framing != tc.want {
				t.Errorf("client framing %v, want %v", s.framing, tc.want)
			}
			if err := commitEdit(s, editPeersRPC(0, 3, 6)); err != nil {
				t.Fatal(err)
			}
			reply, err := s.RPC(getConfigRPC)
			if err != nil {
				t.Fatal(err)
			}
			if n, err := countPeers(reply); err != nil || n != 3 {
				t.Fatalf("countPeers = %d, %v; want 3", n, err)
			}
			if err := s.Close(true); err != nil {
				t.Fatal(err)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if len(srv.framings) != 1 || srv.framings[0] != tc.want {
				t.Errorf("server framings %v, want [%v]", srv.framings, tc.want)
			}
		})
	}
}

func TestCheckReply(t *testing.T) {
	for _, tc := range []struct {
		reply, id string
		ok        bool
	}{
		{`<rpc-reply message-id="7" xmlns="x"><ok/></rpc-reply>`, "7", true},
		{`<nc:rpc-reply xmlns:nc="x" message-id='7'><nc:ok/></nc:rpc-reply>`, "7", true},
		{`<rpc-reply message-id="8"><ok/></rpc-reply>`, "7", false},
		{`<rpc-reply message-id="7"><rpc-error><error-tag>in-use</error-tag></rpc-error></rpc-reply>`, "7", false},
		{`<hello/>`, "7", false},
	} {
		if err := checkReply([]byte(tc.reply), tc.id); (err == nil) != tc.ok {
			t.Errorf("checkReply(%s, %s) = %v, want ok=%v", tc.reply, tc.id, err, tc.ok)
		}
	}
}

// The whole suite runs against two fake servers with tiny counts and yields
// every measure for both.
func TestRunNETCONFAgainstFakes(t *testing.T) {
	a, _ := testTarget(t, "one", true, true)
	b, _ := testTarget(t, "two", false, true)
	cfg := SuiteConfig{ConnectRuns: 2, GetRuns: 4, EditRuns: 2, Throughput: 100 * time.Millisecond, Sessions: 2,
		MaxRPCsPerRun: 1000, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), DumpDir: t.TempDir(), ViewsOn: "one"}
	rs, err := RunNETCONF(context.Background(), []*Target{a, b}, []int{os.Getpid(), 0}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Result{}
	for _, r := range rs {
		got[r.Server+"/"+r.Measure] = r
	}
	for _, server := range []string{"one", "two"} {
		for _, m := range []string{mConnect, mGet100, mEdit100, mThroughput, mGet1000, mEdit1000, mGetConfigSize,
			mEdit100 + "/edit-config", mEdit1000 + "/commit"} {
			r, ok := got[server+"/"+m]
			if !ok || r.N == 0 || r.Median <= 0 {
				t.Errorf("%s %s: %+v (present %v)", server, m, r, ok)
			}
		}
		if _, err := os.Stat(cfg.DumpDir + "/" + server + "-get-config-100.xml"); err != nil {
			t.Error(err)
		}
	}
	for _, m := range []string{mRSSIdle, mRSS128, mRSS1000} {
		if r := got["one/"+m]; r.Median <= 0 {
			t.Errorf("one %s: %+v", m, r)
		}
		if _, ok := got["two/"+m]; ok {
			t.Errorf("two has %s without a pid", m)
		}
	}
	for _, vb := range viewBenches {
		for _, m := range []string{viewMeasure(mGet1000, vb.name), viewMeasure(mEdit1000, vb.name)} {
			if r := got["one/"+m]; r.N == 0 || r.Median <= 0 {
				t.Errorf("one %s (the views' target): %+v", m, r)
			}
			if _, ok := got["two/"+m]; ok {
				t.Errorf("two has %s, though its views are not measured", m)
			}
		}
	}
	if r := got["one/"+mConnect]; r.N != 2 {
		t.Errorf("connect samples %d, want 2", r.N)
	}
}

// A server that goes away drops out with an error result; the other keeps
// its measures.
func TestRunNETCONFServerDown(t *testing.T) {
	a, _ := testTarget(t, "up", true, true)
	b := *a
	b.Name = "down"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.Addr = ln.Addr().String()
	ln.Close()
	cfg := SuiteConfig{ConnectRuns: 1, GetRuns: 1, EditRuns: 1, Throughput: 50 * time.Millisecond, Sessions: 1,
		MaxRPCsPerRun: 100, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	rs, err := RunNETCONF(context.Background(), []*Target{a, &b}, []int{0, 0}, cfg)
	if err == nil || !strings.Contains(err.Error(), "down") {
		t.Fatalf("err = %v, want the down server's error", err)
	}
	var upEdit, downErr bool
	for _, r := range rs {
		upEdit = upEdit || r.Server == "up" && r.Measure == mEdit1000
		downErr = downErr || r.Server == "down" && r.Measure == mError
	}
	if !upEdit || !downErr {
		t.Fatalf("up measured %v, down error recorded %v: %+v", upEdit, downErr, rs)
	}
}
