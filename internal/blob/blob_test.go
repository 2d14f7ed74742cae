package blob

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestPutOpenAndLimit(t *testing.T) {
	s, err := NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := s.Put(ctx, strings.NewReader("hello"), 5)
	if err != nil || st.Size != 5 {
		t.Fatalf("put: %+v %v", st, err)
	}
	again, _ := s.Put(ctx, strings.NewReader("hello"), 5)
	if again.Key != st.Key {
		t.Fatal("same content, different key")
	}
	r, err := s.Open(ctx, st.Key)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "hello" {
		t.Fatalf("read %q", b)
	}
	if _, err := s.Put(ctx, strings.NewReader("hello!"), 5); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("want ErrTooLarge, got %v", err)
	}
	if _, err := s.Open(ctx, "../../etc/passwd"); err == nil {
		t.Fatal("path traversal opened")
	}
}
