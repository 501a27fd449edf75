package server_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"

	"github.com/pipewright/pipewright/server"
)

// Slow, stalled and idle clients against a real server with short limits.
// What the server holds is measured as the file descriptors of this process
// (the server runs in it) that are TCP sockets of connections accepted on
// the server's port; the clients' own sockets have other local ports.

func withHTTP(l server.HTTPLimits) option { return func(c *server.Config) { c.HTTP = l } }

// port returns the server's TCP port.
func (ts *testServer) port(t *testing.T) int {
	t.Helper()
	u, err := url.Parse(ts.url)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// serverSockets counts this process's open file descriptors that are
// sockets of connections accepted on port.
func serverSockets(t *testing.T, port int) int {
	t.Helper()
	inodes := map[string]bool{}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	// Server sides (local port = port) and client sides (remote port =
	// port) of this process's connections to the server. Only a server
	// side whose peer is one of this process's clients counts: another
	// process's test may connect to the port too (it picked the port as
	// free and lost a race for it). Sockets are told apart by inode: a
	// table read while connections come and go can list one twice (the
	// kernel resumes each read at a position, not at an entry).
	type conn struct{ local, remote int64 }
	servers := map[string]conn{}
	clients := map[int64]bool{}
	for _, table := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] == "0A" || !inodes[f[9]] { // 0A: LISTEN
				continue
			}
			local, remote := portOf(f[1]), portOf(f[2])
			switch {
			case local == int64(port):
				servers[f[9]] = conn{local, remote}
			case remote == int64(port):
				clients[local] = true
			}
		}
	}
	n := 0
	for _, c := range servers {
		if clients[c.remote] {
			n++
		}
	}
	return n
}

// portOf is the port of an address of /proc/net/tcp (HEXADDR:HEXPORT).
func portOf(addr string) int64 {
	_, hexPort, _ := strings.Cut(addr, ":")
	p, _ := strconv.ParseInt(hexPort, 16, 32)
	return p
}

// socketWatch samples serverSockets until stopped and keeps the largest
// count it saw.
type socketWatch struct {
	stop chan struct{}
	done chan int
}

func watchSockets(t *testing.T, port int) *socketWatch {
	w := &socketWatch{stop: make(chan struct{}), done: make(chan int, 1)}
	go func() {
		most := 0
		for {
			most = max(most, serverSockets(t, port))
			select {
			case <-w.stop:
				w.done <- most
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return w
}

// most stops the watch and returns the largest count seen.
func (w *socketWatch) most() int {
	close(w.stop)
	return <-w.done
}

// dial opens a raw connection to the server and closes it when the test ends.
func dial(t *testing.T, ts *testServer) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// guard bounds every wait of these tests for the server: reaching it is a
// failure (the server held on), never a measurement.
const guard = 8 * time.Second

// readUntilClosed reads r until the server closes the connection c (end
// of file or reset) and returns what it read. It stops the test when the
// connection is still open after guard.
func readUntilClosed(t *testing.T, c net.Conn, r io.Reader) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(guard))
	b, err := io.ReadAll(r)
	var ne net.Error
	switch {
	case err == nil, errors.Is(err, syscall.ECONNRESET):
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatalf("the server still holds the connection after %v (read %q)", guard, b)
	default:
		t.Errorf("read: %v", err)
	}
	return b
}

// guarded returns a context that ends after guard, for SDK calls.
func guarded(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(ctx, guard)
	t.Cleanup(cancel)
	return c
}

// stalledBody sends the headers of a request with a body of length bytes
// and Expect: 100-continue, and returns once the server has answered
// "100 Continue": its handler is then reading the body, which does not
// come.
func stalledBody(t *testing.T, ts *testServer, length int) (net.Conn, *bufio.Reader) {
	t.Helper()
	c := dial(t, ts)
	head := "POST / HTTP/1.1\r\nHost: pipewright\r\nContent-Type: application/x-amz-json-1.1\r\n" +
		"X-Amz-Target: CodePipeline_20150709.ListPipelines\r\nExpect: 100-continue\r\nContent-Length: " + strconv.Itoa(length) + "\r\n\r\n"
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(guard))
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusContinue {
		t.Fatalf("want 100 Continue, got %v %v", resp, err)
	}
	return c, r
}

// trickle writes one byte of s every interval until a write fails (the
// server closed the connection), s is used up or stop is closed.
func trickle(c net.Conn, s string, interval time.Duration, stop <-chan struct{}, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range len(s) {
			if _, err := c.Write([]byte{s[i]}); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(interval):
			}
		}
	}()
}

// TestSlowClientsAreCut: clients that stall their body, trickle it one
// byte a second or trickle their headers are cut off by the read limits,
// a stalled body with a 408 RequestTimeoutException; while they hang on,
// an SDK request is answered, and the server never holds more connections
// than they opened.
func TestSlowClientsAreCut(t *testing.T) {
	t.Parallel()
	ts := startServer(t, withHTTP(server.HTTPLimits{ReadHeaderTimeout: 3 * time.Second, ReadTimeout: 3 * time.Second, MaxConns: 16}))
	watch := watchSockets(t, ts.port(t))
	var writers sync.WaitGroup
	stop := make(chan struct{})
	defer writers.Wait()
	defer close(stop)

	type slow struct {
		kind string
		c    net.Conn
		r    io.Reader
	}
	var clients []slow
	for range 4 {
		c, r := stalledBody(t, ts, 100)
		clients = append(clients, slow{"stalled body", c, r})
	}
	for range 4 {
		c, r := stalledBody(t, ts, 1000)
		trickle(c, strings.Repeat(" ", 1000), time.Second, stop, &writers)
		clients = append(clients, slow{"trickled body", c, r})
	}
	for range 2 {
		c := dial(t, ts)
		trickle(c, "POST / HTTP/1.1\r\nHost: pipewright\r\nX-Slow: "+strings.Repeat("a", 1000), time.Second, stop, &writers)
		clients = append(clients, slow{"trickled headers", c, c})
	}

	// The stalled bodies are in their handlers now; the server still answers.
	if _, err := ts.client.ListPipelines(guarded(t), &cp.ListPipelinesInput{}); err != nil {
		t.Fatalf("an SDK request during the attack: %v", err)
	}

	for _, s := range clients {
		got := readUntilClosed(t, s.c, s.r)
		switch s.kind {
		case "stalled body":
			if !bytes.HasPrefix(got, []byte("HTTP/1.1 408 ")) || !bytes.Contains(got, []byte(`"__type":"RequestTimeoutException"`)) {
				t.Errorf("%s: answer %q, want a 408 RequestTimeoutException", s.kind, got)
			}
		case "trickled body":
			// Bytes trickling in after the cut may turn the close into a
			// reset that discards the answer; an answer must be the 408.
			if len(got) > 0 && !bytes.HasPrefix(got, []byte("HTTP/1.1 408 ")) {
				t.Errorf("%s: answer %q, want a 408 or none", s.kind, got)
			}
		case "trickled headers":
			// There is no request to answer yet. net/http closes the
			// connection, and says "400 Bad Request" when the cut falls
			// inside a header line.
			if len(got) > 0 && !bytes.HasPrefix(got, []byte("HTTP/1.1 400 Bad Request")) {
				t.Errorf("%s: answer %q, want none or net/http's 400", s.kind, got)
			}
		}
	}
	if most := watch.most(); most > len(clients)+2 {
		t.Errorf("the server held %d connections for %d clients and one SDK client", most, len(clients))
	}
}

// TestIdleConnectionsBeyondTheLimit: many more idle connections than the
// limit never make the server hold more than the limit: each one beyond it
// closes the connection that has idled longest, and an SDK request still
// gets through. The timeouts here are far longer than the test's guard, so
// only that rule can close them.
func TestIdleConnectionsBeyondTheLimit(t *testing.T) {
	t.Parallel()
	const limit = 8
	long := 10 * time.Minute
	ts := startServer(t, withHTTP(server.HTTPLimits{ReadHeaderTimeout: long, IdleTimeout: long, ConnWait: long, MaxConns: limit}))
	watch := watchSockets(t, ts.port(t))
	var conns []net.Conn
	for range 4 * limit {
		conns = append(conns, dial(t, ts))
	}
	// Connections are admitted in the order they were made, so the first
	// 3*limit were closed, each for a newer one.
	for i, c := range conns[:3*limit] {
		if got := readUntilClosed(t, c, c); len(got) != 0 {
			t.Errorf("idle connection %d got %q", i, got)
		}
	}
	if _, err := ts.client.ListPipelines(guarded(t), &cp.ListPipelinesInput{}); err != nil {
		t.Fatalf("an SDK request while idle connections fill every slot: %v", err)
	}
	// The SDK's connection took the slot of the oldest one left.
	if got := readUntilClosed(t, conns[3*limit], conns[3*limit]); len(got) != 0 {
		t.Errorf("idle connection %d got %q", 3*limit, got)
	}
	if most := watch.most(); most > limit+1 {
		t.Errorf("the server held %d connections; the limit is %d", most, limit)
	}
}

// TestIdleConnectionsTimeOut: a connection that never sends a request is
// closed after ReadHeaderTimeout, a kept-alive one after IdleTimeout.
func TestIdleConnectionsTimeOut(t *testing.T) {
	t.Parallel()
	ts := startServer(t, withHTTP(server.HTTPLimits{ReadHeaderTimeout: time.Second, IdleTimeout: time.Second}))
	watch := watchSockets(t, ts.port(t))
	type idle struct {
		c net.Conn
		r *bufio.Reader
	}
	var conns []idle
	for i := range 8 {
		c := dial(t, ts)
		r := bufio.NewReader(c)
		if i%2 == 0 {
			io.WriteString(c, "GET "+server.HealthPath+" HTTP/1.1\r\nHost: pipewright\r\n\r\n")
			c.SetReadDeadline(time.Now().Add(guard))
			resp, err := http.ReadResponse(r, nil)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("health: %v %v", resp, err)
			}
			io.Copy(io.Discard, resp.Body)
		}
		conns = append(conns, idle{c, r})
	}
	for i, ic := range conns {
		if got := readUntilClosed(t, ic.c, ic.r); len(got) != 0 {
			t.Errorf("idle connection %d got %q after its answer", i, got)
		}
	}
	if most := watch.most(); most > len(conns) {
		t.Errorf("the server held %d connections for %d clients", most, len(conns))
	}
}

// TestBusyServerRefusesBeyondTheLimit: when every slot has a request in
// progress, a further connection waits briefly and is closed unanswered;
// once the slow requests are cut, connections are served again.
func TestBusyServerRefusesBeyondTheLimit(t *testing.T) {
	t.Parallel()
	const limit = 4
	ts := startServer(t, withHTTP(server.HTTPLimits{ReadTimeout: 5 * time.Second, MaxConns: limit, ConnWait: 200 * time.Millisecond}))
	var busy []net.Conn
	var readers []io.Reader
	for range limit {
		c, r := stalledBody(t, ts, 100)
		busy, readers = append(busy, c), append(readers, r)
	}
	// Every slot has a request in progress; from here until the extra
	// connection is refused the server holds at most one more.
	watch := watchSockets(t, ts.port(t))
	extra := dial(t, ts)
	io.WriteString(extra, "GET "+server.HealthPath+" HTTP/1.1\r\nHost: pipewright\r\n\r\n")
	if got := readUntilClosed(t, extra, extra); len(got) != 0 {
		t.Errorf("the connection beyond the limit was answered %q, want it closed unanswered", got)
	}
	if most := watch.most(); most > limit+1 {
		t.Errorf("the server held %d connections; the limit is %d", most, limit)
	}
	for i, c := range busy {
		if got := readUntilClosed(t, c, readers[i]); !bytes.HasPrefix(got, []byte("HTTP/1.1 408 ")) {
			t.Errorf("stalled body %d: answer %q", i, got)
		}
	}
	resp, err := wireHTTP.Get(ts.url + server.HealthPath)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health after the slow requests were cut: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestHealthEndpoint: GET and HEAD of /_pipewright/health answer without a
// signature; any other method or path still needs one, or is refused as
// before.
func TestHealthEndpoint(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		req, _ := http.NewRequest(method, ts.url+server.HealthPath, nil)
		a := wireDo(t, req)
		want := `{"status":"ok"}`
		if method == http.MethodHead {
			want = ""
		}
		if a.Status != http.StatusOK || string(a.Body) != want || a.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s health: %d %q %v", method, a.Status, a.Body, a.Header)
		}
	}
	// The same path with another method is an API request: unsigned, it is
	// refused for its missing signature.
	post := ts.wireRequest(t, "", "{}")
	post.URL.Path = server.HealthPath
	wireDo(t, post).mustError(t, http.StatusBadRequest, "MissingAuthenticationTokenException")
	// Other paths are S3's: unsigned, they are refused in S3's format.
	for _, path := range []string{"/", "/_pipewright/health/", "/_pipewright/other", "/_pipewright/HEALTH"} {
		req, _ := http.NewRequest(http.MethodGet, ts.url+path, nil)
		a := wireDo(t, req)
		if a.Status != http.StatusForbidden || !strings.Contains(string(a.Body), "<Code>AccessDenied</Code>") || a.Header.Get("X-Amz-Request-Id") == "" {
			t.Errorf("GET %s: %d %s", path, a.Status, a.Body)
		}
	}
}
