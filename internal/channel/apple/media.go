package apple

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/channel"
)

// Apple's attachments (and large interactive payloads) live encrypted in
// its media store: AES-256-CTR with a single-use 256-bit key and an
// all-zero initial counter block, the key written as hex prefixed with
// "00". Downloading takes a /v1/preDownload call (the file's url, owner and
// base64 signature) that answers a short-lived download-url; uploading
// takes a /v1/preUpload call (the encrypted size) that answers an
// upload-url, the file's url and owner, then a POST of the encrypted bytes
// that answers the file checksum. Source: Apple's Business Chat sample code
// and MSP integrations (CHANNELS.md §11).

// newCTR is AES-256-CTR with a zero IV, Apple's attachment cipher.
func newCTR(key []byte) (cipher.Stream, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewCTR(block, make([]byte, aes.BlockSize)), nil
}

// decryptionKey reads Apple's key: 64 hex digits, usually prefixed "00".
func decryptionKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 66 && s[:2] == "00" {
		s = s[2:]
	}
	k, err := hex.DecodeString(s)
	if err != nil || len(k) != 32 {
		return nil, errors.New("the decryption key is not a 256-bit hex key")
	}
	return k, nil
}

// signatureBase64 is the file checksum as /v1/preDownload wants it: the
// base64 form when the payload has it (interactiveDataRef), else the hex
// form of attachments re-encoded (Apple's attachments carry it in hex).
func signatureBase64(b64, hexSig string) (string, error) {
	if b64 = strings.TrimSpace(b64); b64 != "" {
		if _, err := base64.StdEncoding.DecodeString(b64); err != nil {
			return "", errors.New("signature-base64 is not base64")
		}
		return b64, nil
	}
	raw, err := hex.DecodeString(strings.TrimSpace(hexSig))
	if err != nil || len(raw) == 0 {
		return "", errors.New("the file signature is missing or not hex")
	}
	return base64.StdEncoding.EncodeToString(raw), nil
}

// mediaRef is what FetchMedia needs to download and decrypt one file.
type mediaRef struct {
	URL       string `json:"u"`
	Owner     string `json:"o"`
	Signature string `json:"s"` // base64
	Key       string `json:"k"` // 64 hex digits
	MimeType  string `json:"m,omitempty"`
}

// mediaRefPrefix marks a sealed reference (and its format version).
const mediaRefPrefix = "amb1."

// sealRef turns a file's coordinates into an InboundAttachment.MediaRef.
// The core keeps MediaRef (as the file's source, in errors and logs), and
// the coordinates include the file's decryption key: the reference is
// therefore encrypted (AES-256-GCM, key derived from the MSP secret) so
// that only FetchMedia, with the point of contact's credentials, reads it.
// The nonce is derived from the plaintext (a synthetic IV), which keeps a
// redelivered message's reference identical.
func sealRef(secret []byte, ref mediaRef) (string, error) {
	plain, err := json.Marshal(ref)
	if err != nil {
		return "", err
	}
	key := refKey(secret)
	aead, err := newGCM(key)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(plain)
	nonce := mac.Sum(nil)[:aead.NonceSize()]
	return mediaRefPrefix + base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, []byte(mediaRefPrefix))), nil
}

// openRef reads a sealed reference.
func openRef(secret []byte, s string) (mediaRef, error) {
	var ref mediaRef
	b64, ok := strings.CutPrefix(s, mediaRefPrefix)
	if !ok {
		return ref, errors.New("not an Apple media reference")
	}
	sealed, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		return ref, errors.New("malformed media reference")
	}
	aead, err := newGCM(refKey(secret))
	if err != nil {
		return ref, err
	}
	if len(sealed) < aead.NonceSize() {
		return ref, errors.New("malformed media reference")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(mediaRefPrefix))
	if err != nil {
		return ref, errors.New("media reference not sealed with this point of contact's secret")
	}
	if err := json.Unmarshal(plain, &ref); err != nil {
		return ref, errors.New("malformed media reference")
	}
	return ref, nil
}

func refKey(secret []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("parley apple_messages media reference v1"))
	return mac.Sum(nil)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// FetchMedia downloads and decrypts a customer's file named by a sealed
// MediaRef: /v1/preDownload gives its download URL, the bytes come from
// there and are decrypted as they are read. The caller closes the body and
// bounds its size.
func (a *Adapter) FetchMedia(ctx context.Context, poc *channel.PointOfContact, ref string) (io.ReadCloser, string, error) {
	secret, err := secretKey(poc.Credential(CredentialMSPSecret))
	if err != nil {
		return nil, "", fmt.Errorf("apple: %v", err)
	}
	r, err := openRef(secret, ref)
	if err != nil {
		return nil, "", fmt.Errorf("apple: %v", err)
	}
	key, err := decryptionKey(r.Key)
	if err != nil {
		return nil, "", fmt.Errorf("apple: %v", err)
	}
	body, err := a.download(ctx, poc, r.URL, r.Owner, r.Signature)
	if err != nil {
		return nil, "", fmt.Errorf("apple: attachment: %v", err)
	}
	stream, err := newCTR(key)
	if err != nil {
		body.Close()
		return nil, "", fmt.Errorf("apple: %v", err)
	}
	// The type the customer's device declared; the stored bytes are
	// encrypted, so the download's Content-Type says nothing, and without
	// a declared type the core sniffs the decrypted content.
	mt := ""
	if parsed, _, err := mime.ParseMediaType(r.MimeType); err == nil {
		mt = parsed
	}
	return readCloser{Reader: cipher.StreamReader{S: stream, R: body}, Closer: body}, mt, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// download asks /v1/preDownload for a file's download URL and opens it.
// The header names follow Apple's sample code (MMCS-Url, MMCS-Signature,
// MMCS-Owner); the plain names (url, signature, owner) that other MSP
// integrations use are sent as well, so either gateway spelling answers.
func (a *Adapter) download(ctx context.Context, poc *channel.PointOfContact, fileURL, owner, signature string) (io.ReadCloser, error) {
	if fileURL == "" || owner == "" || signature == "" {
		return nil, errors.New("the file has no url, owner or signature")
	}
	token, err := a.token(poc)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL(poc)+"/v1/preDownload", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Source-Id", poc.SettingString(SettingBusinessID))
	for name, v := range map[string]string{"MMCS-Url": fileURL, "MMCS-Signature": signature, "MMCS-Owner": owner, "Url": fileURL, "Signature": signature, "Owner": owner} {
		req.Header.Set(name, v)
	}
	out, err := a.call(req)
	if err != nil {
		return nil, fmt.Errorf("preDownload: %v", err)
	}
	var pre struct {
		DownloadURL string `json:"download-url"`
	}
	if err := json.Unmarshal(out, &pre); err != nil || !absoluteHTTP(pre.DownloadURL) {
		return nil, errors.New("preDownload: no download-url in the answer")
	}
	dreq, err := http.NewRequestWithContext(ctx, http.MethodGet, pre.DownloadURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.http.Do(dreq)
	if err != nil {
		return nil, fmt.Errorf("download: %v", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		resp.Body.Close()
		return nil, fmt.Errorf("download: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(excerpt)))
	}
	return resp.Body, nil
}

// dataRef is interactiveDataRef: a large interactive reply stored like an
// attachment, whose decrypted bytes /v1/decodePayload turns back into the
// interactive data.
type dataRef struct {
	BID             string     `json:"bid"`
	Key             flexString `json:"key"`
	Owner           flexString `json:"owner"`
	URL             flexString `json:"url"`
	Size            flexString `json:"size"`
	Signature       flexString `json:"signature"`
	SignatureBase64 flexString `json:"signature-base64"`
	Title           flexString `json:"title"`
}

// resolveDataRef downloads, decrypts and decodes a large interactive reply.
func (a *Adapter) resolveDataRef(ctx context.Context, poc *channel.PointOfContact, ref *dataRef) (json.RawMessage, error) {
	key, err := decryptionKey(string(ref.Key))
	if err != nil {
		return nil, err
	}
	sig, err := signatureBase64(string(ref.SignatureBase64), string(ref.Signature))
	if err != nil {
		return nil, err
	}
	body, err := a.download(ctx, poc, string(ref.URL), string(ref.Owner), sig)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	stream, err := newCTR(key)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(cipher.StreamReader{S: stream, R: body}, MaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("download: %v", err)
	}
	if len(data) > MaxBodyBytes {
		return nil, errors.New("the interactive payload is too large")
	}
	token, err := a.token(poc)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL(poc)+"/v1/decodePayload", bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Source-Id", poc.SettingString(SettingBusinessID))
	req.Header.Set("Bid", ref.BID)
	req.Header.Set("Content-Type", "application/octet-stream")
	out, err := a.call(req)
	if err != nil {
		return nil, fmt.Errorf("decodePayload: %v", err)
	}
	// The gateway answers the interactive data, possibly wrapped in an
	// "interactiveData" member.
	var wrapped struct {
		InteractiveData json.RawMessage `json:"interactiveData"`
	}
	if err := json.Unmarshal(out, &wrapped); err != nil {
		return nil, errors.New("decodePayload: the answer is not JSON")
	}
	if len(wrapped.InteractiveData) > 0 && string(wrapped.InteractiveData) != "null" {
		return wrapped.InteractiveData, nil
	}
	return out, nil
}

// uploaded is one attachment of an outbound message, as the gateway takes
// it (the names of Apple's attachment dictionary).
type uploaded struct {
	Name            string `json:"name"`
	MimeType        string `json:"mimeType"`
	Size            string `json:"size"`
	SignatureBase64 string `json:"signature-base64"`
	URL             string `json:"url"`
	Owner           string `json:"owner"`
	Key             string `json:"key"`
}

// upload fetches an outbound attachment from its signed URL, encrypts it
// with a fresh key and uploads it through /v1/preUpload. Failures are
// *channel.SendError: nothing has been sent to the customer yet.
func (a *Adapter) upload(ctx context.Context, poc *channel.PointOfContact, att channel.OutboundAttachment) (uploaded, error) {
	data, err := a.fetchOutbound(ctx, att)
	if err != nil {
		return uploaded{}, err
	}
	key := make([]byte, 32)
	if _, err := io.ReadFull(a.random, key); err != nil {
		return uploaded{}, &channel.SendError{Retryable: true, Reason: "attachment key: " + err.Error()}
	}
	stream, err := newCTR(key)
	if err != nil {
		return uploaded{}, &channel.SendError{Reason: err.Error()}
	}
	stream.XORKeyStream(data, data)
	size := strconv.Itoa(len(data))

	token, err := a.token(poc)
	if err != nil {
		return uploaded{}, &channel.SendError{Reason: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL(poc)+"/v1/preUpload", nil)
	if err != nil {
		return uploaded{}, &channel.SendError{Reason: err.Error()}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Source-Id", poc.SettingString(SettingBusinessID))
	// MMCS-Size is Apple's sample's spelling, size other integrations'.
	req.Header.Set("MMCS-Size", size)
	req.Header.Set("Size", size)
	out, err := a.call(req)
	if err != nil {
		return uploaded{}, prefixed("preUpload", err)
	}
	var pre struct {
		UploadURL string `json:"upload-url"`
		MMCSURL   string `json:"mmcs-url"`
		MMCSOwner string `json:"mmcs-owner"`
	}
	if err := json.Unmarshal(out, &pre); err != nil || !absoluteHTTP(pre.UploadURL) || pre.MMCSURL == "" || pre.MMCSOwner == "" {
		return uploaded{}, &channel.SendError{Retryable: true, Reason: "preUpload: the answer has no upload-url, mmcs-url or mmcs-owner"}
	}
	up, err := http.NewRequestWithContext(ctx, http.MethodPost, pre.UploadURL, bytes.NewReader(data))
	if err != nil {
		return uploaded{}, &channel.SendError{Reason: err.Error()}
	}
	up.Header.Set("Content-Type", "application/octet-stream")
	out, err = a.call(up)
	if err != nil {
		return uploaded{}, prefixed("upload", err)
	}
	var done struct {
		SingleFile struct {
			FileChecksum string `json:"fileChecksum"`
		} `json:"singleFile"`
	}
	if err := json.Unmarshal(out, &done); err != nil || done.SingleFile.FileChecksum == "" {
		return uploaded{}, &channel.SendError{Retryable: true, Reason: "upload: the answer has no singleFile.fileChecksum"}
	}
	mt := att.MimeType
	if mt == "" {
		mt = "application/octet-stream"
	}
	name := att.Name
	if name == "" {
		name = "attachment"
	}
	return uploaded{Name: name, MimeType: mt, Size: size, SignatureBase64: done.SingleFile.FileChecksum,
		URL: pre.MMCSURL, Owner: pre.MMCSOwner, Key: "00" + hex.EncodeToString(key)}, nil
}

// fetchOutbound reads an outbound attachment from its signed URL, at most
// MaxAttachmentBytes.
func (a *Adapter) fetchOutbound(ctx context.Context, att channel.OutboundAttachment) ([]byte, error) {
	if !absoluteHTTP(att.URL) {
		return nil, &channel.SendError{Reason: fmt.Sprintf("attachment %q has no absolute URL to read it from", att.Name)}
	}
	if att.Size > MaxAttachmentBytes {
		return nil, &channel.SendError{Reason: fmt.Sprintf("attachment %q is larger than %d MB", att.Name, MaxAttachmentBytes>>20)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, att.URL, nil)
	if err != nil {
		return nil, &channel.SendError{Reason: err.Error()}
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, &channel.SendError{Retryable: true, Reason: fmt.Sprintf("reading attachment %q: %v", att.Name, err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &channel.SendError{Retryable: resp.StatusCode >= 500, Code: strconv.Itoa(resp.StatusCode),
			Reason: fmt.Sprintf("reading attachment %q answered HTTP %d", att.Name, resp.StatusCode)}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxAttachmentBytes+1))
	if err != nil {
		return nil, &channel.SendError{Retryable: true, Reason: fmt.Sprintf("reading attachment %q: %v", att.Name, err)}
	}
	if len(data) > MaxAttachmentBytes {
		return nil, &channel.SendError{Reason: fmt.Sprintf("attachment %q is larger than %d MB", att.Name, MaxAttachmentBytes>>20)}
	}
	if len(data) == 0 {
		return nil, &channel.SendError{Reason: fmt.Sprintf("attachment %q is empty", att.Name)}
	}
	return data, nil
}

func prefixed(step string, err error) error {
	var se *channel.SendError
	if errors.As(err, &se) {
		c := *se
		c.Reason = step + ": " + c.Reason
		return &c
	}
	return &channel.SendError{Retryable: true, Reason: step + ": " + err.Error()}
}

func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
