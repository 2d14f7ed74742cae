package bridge

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Crypto is WeChat's "safe mode" message encryption (the scheme of WeChat's
// WXBizMsgCrypt samples): AES-256-CBC with the 32-byte key decoded from
// the 43-character EncodingAESKey, the key's first 16 bytes as IV, PKCS#7
// padding to 32 bytes, over
//
//	16 random bytes | message length (4 bytes, big-endian) | message | AppID
//
// base64-encoded into the Encrypt element. msg_signature signs it:
// Signature(token, timestamp, nonce, Encrypt).
type Crypto struct {
	key   []byte
	appID string
}

// NewCrypto checks the EncodingAESKey and makes the cipher.
func NewCrypto(encodingAESKey, appID string) (*Crypto, error) {
	if len(encodingAESKey) != 43 {
		return nil, errors.New("the EncodingAESKey must be 43 characters")
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, errors.New("the EncodingAESKey is not valid base64 for a 32-byte key")
	}
	return &Crypto{key: key, appID: appID}, nil
}

const wechatBlock = 32 // WeChat pads to 32 bytes, not to the AES block size

// Decrypt opens an Encrypt element and checks the AppID inside.
func (c *Crypto) Decrypt(encrypted string) ([]byte, error) {
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encrypted))
	if err != nil {
		return nil, fmt.Errorf("encrypted message is not base64: %w", err)
	}
	if len(data) == 0 || len(data)%aes.BlockSize != 0 {
		return nil, errors.New("encrypted message has a bad length")
	}
	block, err := aes.NewCipher(c.key)
	if err != nil {
		return nil, err
	}
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, c.key[:aes.BlockSize]).CryptBlocks(plain, data)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > wechatBlock || pad > len(plain) {
		return nil, errors.New("bad padding")
	}
	plain = plain[:len(plain)-pad]
	if len(plain) < 20 {
		return nil, errors.New("decrypted message too short")
	}
	n := binary.BigEndian.Uint32(plain[16:20])
	if uint64(n) > uint64(len(plain)-20) {
		return nil, errors.New("bad message length")
	}
	msg, appID := plain[20:20+n], plain[20+n:]
	if subtle.ConstantTimeCompare(appID, []byte(c.appID)) != 1 {
		return nil, errors.New("the message is for another AppID")
	}
	return msg, nil
}

// Encrypt seals msg as WeChat does (the fake uses it). random is the 16-byte
// prefix; nil draws it from crypto/rand.
func (c *Crypto) Encrypt(msg, random []byte) (string, error) {
	if random == nil {
		random = make([]byte, 16)
		if _, err := rand.Read(random); err != nil {
			return "", err
		}
	}
	if len(random) != 16 {
		return "", errors.New("random prefix must be 16 bytes")
	}
	var buf bytes.Buffer
	buf.Write(random)
	_ = binary.Write(&buf, binary.BigEndian, uint32(len(msg)))
	buf.Write(msg)
	buf.WriteString(c.appID)
	pad := wechatBlock - buf.Len()%wechatBlock
	buf.Write(bytes.Repeat([]byte{byte(pad)}, pad))
	block, err := aes.NewCipher(c.key)
	if err != nil {
		return "", err
	}
	out := make([]byte, buf.Len())
	cipher.NewCBCEncrypter(block, c.key[:aes.BlockSize]).CryptBlocks(out, buf.Bytes())
	return base64.StdEncoding.EncodeToString(out), nil
}
