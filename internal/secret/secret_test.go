package secret

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpenBindsContext(t *testing.T) {
	key, err := LoadKey(func(string) string { return "" }, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	box, err := NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed := box.Seal([]byte(`{"token":"s3cret"}`), "poc-1")
	if got, err := box.Open(sealed, "poc-1"); err != nil || string(got) != `{"token":"s3cret"}` {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := box.Open(sealed, "poc-2"); err != ErrCorrupt {
		t.Fatalf("other context opened: %v", err)
	}
	if _, err := box.Open(sealed[:len(sealed)-2]+"AA", "poc-1"); err != ErrCorrupt {
		t.Fatalf("tampered value opened: %v", err)
	}
}

func TestKeyFileCreatedOnceWithPrivateMode(t *testing.T) {
	dir := t.TempDir()
	env := func(string) string { return "" }
	k1, err := LoadKey(env, dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadKey(env, dir)
	if err != nil || string(k1) != string(k2) {
		t.Fatal("key changed between runs")
	}
	fi, err := os.Stat(filepath.Join(dir, keyFileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi.Mode(), err)
	}
	if _, err := LoadKey(func(k string) string {
		if k == "PARLEY_SECRET_KEY" {
			return "short"
		}
		return ""
	}, dir); err == nil {
		t.Fatal("bad env key accepted")
	}
}
