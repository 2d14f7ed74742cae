package bridge

import "testing"

func TestLedger(t *testing.T) {
	l := NewLedger(2)
	if c, p := l.Begin("m1"); c != ClaimNew || p.PartsSent != 0 {
		t.Fatalf("first: %v %+v", c, p)
	}
	if c, _ := l.Begin("m1"); c != ClaimBusy {
		t.Fatalf("while busy: %v", c)
	}
	l.Pause("m1", 1) // one part sent, then a temporary failure
	if c, p := l.Begin("m1"); c != ClaimNew || p.PartsSent != 1 {
		t.Fatalf("after pause: %v %+v", c, p)
	}
	l.Finish("m1", Prior{PartsSent: 2})
	if c, p := l.Begin("m1"); c != ClaimFinished || p.PartsSent != 2 || p.Failed != "" {
		t.Fatalf("after finish: %v %+v", c, p)
	}
	l.Begin("m2")
	l.Finish("m2", Prior{Failed: "no"})
	if c, p := l.Begin("m2"); c != ClaimFinished || p.Failed != "no" {
		t.Fatalf("failed: %v %+v", c, p)
	}
	l.Begin("m3")
	l.Finish("m3", Prior{}) // evicts m1, the oldest finished
	if c, _ := l.Begin("m1"); c != ClaimNew {
		t.Fatalf("m1 should have been forgotten: %v", c)
	}
	if c, _ := l.Begin("m3"); c != ClaimFinished {
		t.Fatalf("m3: %v", c)
	}
}

func TestSeenSet(t *testing.T) {
	s := NewSeenSet(2)
	if !s.Add("a") || !s.Add("b") || s.Add("a") {
		t.Fatal("first adds should be new, the repeat not")
	}
	s.Add("c") // evicts a
	if !s.Add("a") {
		t.Fatal("a should have been evicted")
	}
	s.Remove("a")
	if !s.Add("a") {
		t.Fatal("a should have been removed")
	}
}
