package app

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// TestEchoExampleAgainstParley builds examples/byoc-echo and runs it
// against a real Parley: an agent reply reaches the middleware with a valid
// signature, which reports it delivered and echoes it back as the customer.
func TestEchoExampleAgainstParley(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example")
	}
	_, here, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(here), "..", "..")
	bin := filepath.Join(t.TempDir(), "byoc-echo")
	build := exec.Command("go", "build", "-o", bin, "./examples/byoc-echo")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build byoc-echo: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	echoAddr := ln.Addr().String()
	ln.Close()

	h := start(t, nil)
	p := h.createBYOC("http://" + echoAddr + "/parley")
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PARLEY_URL="+h.url, "PARLEY_POC_ID="+p.ID, "PARLEY_BYOC_TOKEN="+p.Token, "PARLEY_BYOC_SECRET="+p.Secret, "ECHO_ADDR="+echoAddr)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	res := h.inbound(p, "c1", "chat-1", "ada", "Hello!")
	var reply apiMessage
	eventually(t, "the echo middleware is up and accepts the reply", func() bool {
		status, _, _ := h.do("GET", "/healthz", "", nil)
		return status == 200
	})
	h.mustDo("POST", "/api/v1/cases/"+res.CaseID+"/messages", h.admin, map[string]string{"text": "Hi Ada"}, 202, &reply)
	eventually(t, "the echo comes back and the reply is delivered", func() bool {
		ms := h.messages(res.CaseID)
		var delivered, echoed bool
		for _, m := range ms {
			delivered = delivered || (m.ID == reply.ID && (m.Status == "delivered" || m.Status == "read"))
			echoed = echoed || (m.Direction == "inbound" && m.Text == "echo: Hi Ada")
		}
		return delivered && echoed
	})
	if strings.Contains(logs.String(), p.Secret) {
		t.Error("the example logged its secret")
	}
}

// lockedBuffer collects a child process's output safely while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
