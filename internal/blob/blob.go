// Package blob stores attachment bytes. The default store keeps files under
// the data directory, addressed by their SHA-256 (the same file sent twice
// is stored once, and a retried webhook rewrites nothing). An S3-compatible
// store is the scale option behind the same interface.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrTooLarge is returned when content exceeds the caller's limit.
var ErrTooLarge = errors.New("blob: content exceeds the size limit")

// Stored describes a stored blob.
type Stored struct {
	Key    string
	Size   int64
	SHA256 string
}

// FileStore keeps blobs as files.
type FileStore struct {
	dir string
}

// NewFileStore makes a store rooted at dir (created if absent).
func NewFileStore(dir string) (*FileStore, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	return &FileStore{dir: dir}, nil
}

// Put stores r, reading at most limit bytes; more is ErrTooLarge. The file
// is synced before Put returns, so a message that references it after
// commit never points at a missing file.
func (s *FileStore) Put(ctx context.Context, r io.Reader, limit int64) (Stored, error) {
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "up-*")
	if err != nil {
		return Stored{}, fmt.Errorf("blob: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, limit+1))
	if err != nil {
		return Stored{}, fmt.Errorf("blob: %w", err)
	}
	if n > limit {
		return Stored{}, ErrTooLarge
	}
	if err := tmp.Sync(); err != nil {
		return Stored{}, fmt.Errorf("blob: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	key := sum[:2] + "/" + sum[2:4] + "/" + sum
	dst := filepath.Join(s.dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return Stored{}, fmt.Errorf("blob: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return Stored{}, fmt.Errorf("blob: %w", err)
	}
	return Stored{Key: key, Size: n, SHA256: sum}, nil
}

// Open reads a blob.
func (s *FileStore) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if strings.Contains(key, "..") || strings.HasPrefix(key, "/") {
		return nil, os.ErrNotExist
	}
	return os.Open(filepath.Join(s.dir, filepath.FromSlash(key)))
}
