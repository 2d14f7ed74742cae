package bridge

import (
	"strings"
	"testing"
)

// Safe-mode vectors published with wechatpy's tests (tests/test_crypto.py),
// which follow WeChat's WXBizMsgCrypt samples: the same scheme serves
// Official Accounts (with the AppID) and WeCom (with the CorpID).
const (
	vecToken  = "123456"
	vecAESKey = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
	vecAppID  = "wx49f0ab532d5d035a"
)

func TestCryptoDecryptVector(t *testing.T) {
	const (
		encrypted    = "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="
		msgSignature = "74d92dfeb87ba7c714f89d98870ae5eb62dff26d"
		timestamp    = "1411525903"
		nonce        = "461056294"
	)
	if !CheckSignature(msgSignature, vecToken, timestamp, nonce, encrypted) {
		t.Fatalf("msg_signature does not verify: got %s", Signature(vecToken, timestamp, nonce, encrypted))
	}
	c, err := NewCrypto(vecAESKey, vecAppID)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := c.Decrypt(encrypted)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMessage(plain)
	if err != nil {
		t.Fatalf("%v: %s", err, plain)
	}
	if m.Content != "test" || m.FromUserName != "messense" {
		t.Fatalf("decrypted %+v", m)
	}
	other, _ := NewCrypto(vecAESKey, "wx0000000000000000")
	if _, err := other.Decrypt(encrypted); err == nil || !strings.Contains(err.Error(), "AppID") {
		t.Fatalf("a message for another AppID: %v", err)
	}
}

func TestCryptoEncryptVector(t *testing.T) {
	reply := "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n" +
		"<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n<ToUserName><![CDATA[messense]]></ToUserName>\n" +
		"<AgentID>1</AgentID>\n<CreateTime>1411525903</CreateTime>\n</xml>"
	const want = "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
	c, err := NewCrypto(vecAESKey, vecAppID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Encrypt([]byte(reply), []byte("1234567890123456"))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("Encrypt =\n%s\nwant\n%s", got, want)
	}
	if sig := Signature(vecToken, "1411525903", "461056294", got); sig != "407518b7649e86ef23978113f92d27afa9296533" {
		t.Fatalf("msg_signature = %s", sig)
	}
	back, err := c.Decrypt(got)
	if err != nil || string(back) != reply {
		t.Fatalf("round trip: %v %q", err, back)
	}
}

func TestNewCryptoChecksKey(t *testing.T) {
	for _, k := range []string{"", "short", strings.Repeat("!", 43)} {
		if _, err := NewCrypto(k, "wx1"); err == nil {
			t.Errorf("NewCrypto(%q) accepted", k)
		}
	}
}
