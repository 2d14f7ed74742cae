// Package secret encrypts platform credentials at rest (AES-256-GCM) and
// derives the keys Parley signs its own URLs with. The master key comes from
// PARLEY_SECRET_KEY (base64, 32 bytes), PARLEY_SECRET_KEY_FILE, or a key file
// created on first run in the data directory. Several nodes sharing one
// PostgreSQL must share the key (set it through the environment).
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const keyFileName = "secret.key"

// Box seals and opens secrets with the master key.
type Box struct {
	aead   cipher.AEAD
	master []byte
}

// ErrCorrupt means a sealed value could not be opened: wrong key, or tampered.
var ErrCorrupt = errors.New("secret: cannot decrypt (wrong key or corrupt value)")

// NewBox makes a Box from a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret: key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead, master: append([]byte(nil), key...)}, nil
}

// LoadKey finds the master key: the environment first, then the key file in
// dataDir, which is created (mode 0600) when absent.
func LoadKey(getenv func(string) string, dataDir string) ([]byte, error) {
	if v := strings.TrimSpace(getenv("PARLEY_SECRET_KEY")); v != "" {
		return decodeKey(v, "PARLEY_SECRET_KEY")
	}
	if f := getenv("PARLEY_SECRET_KEY_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("secret: PARLEY_SECRET_KEY_FILE: %w", err)
		}
		return decodeKey(strings.TrimSpace(string(b)), f)
	}
	path := filepath.Join(dataDir, keyFileName)
	if b, err := os.ReadFile(path); err == nil {
		return decodeKey(strings.TrimSpace(string(b)), path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("secret: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // another process won the race
			return LoadKey(getenv, dataDir)
		}
		return nil, fmt.Errorf("secret: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return key, f.Sync()
}

func decodeKey(v, where string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("secret: %s must hold 32 bytes in base64", where)
	}
	return key, nil
}

// Seal encrypts plaintext bound to context (e.g. the owning row's id), so a
// sealed value copied onto another row does not open.
func (b *Box) Seal(plaintext []byte, context string) string {
	if len(plaintext) == 0 {
		return ""
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("secret: no randomness: " + err.Error())
	}
	out := b.aead.Seal(nonce, nonce, plaintext, []byte(context))
	return "v1:" + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts a value made by Seal with the same context.
func (b *Box) Open(sealed, context string) ([]byte, error) {
	if sealed == "" {
		return nil, nil
	}
	raw, ok := strings.CutPrefix(sealed, "v1:")
	if !ok {
		return nil, ErrCorrupt
	}
	data, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(data) < b.aead.NonceSize() {
		return nil, ErrCorrupt
	}
	pt, err := b.aead.Open(nil, data[:b.aead.NonceSize()], data[b.aead.NonceSize():], []byte(context))
	if err != nil {
		return nil, ErrCorrupt
	}
	return pt, nil
}

// DeriveKey returns a purpose-specific key (HMAC-SHA256 of the purpose under
// the master key), so signing URLs never uses the encryption key itself.
func (b *Box) DeriveKey(purpose string) []byte {
	m := hmac.New(sha256.New, b.master)
	m.Write([]byte("parley:" + purpose))
	return m.Sum(nil)
}

// RandomToken returns a URL-safe random token with a readable prefix.
func RandomToken(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("secret: no randomness: " + err.Error())
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is how bearer tokens are stored: they are 256-bit random, so a
// fast hash is enough and lets each request be checked with one index lookup.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawStdEncoding.EncodeToString(sum[:])
}
