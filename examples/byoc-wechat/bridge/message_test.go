package bridge

import (
	"reflect"
	"testing"
)

func TestParseAndMapMessages(t *testing.T) {
	for _, tc := range []struct {
		name string
		xml  string
		want InboundMessage
		key  string
	}{
		{
			name: "text (the sample in CHANNELS.md)",
			xml: `<xml><ToUserName><![CDATA[gh_123]]></ToUserName><FromUserName><![CDATA[oOPENID]]></FromUserName>
<CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content><MsgId>1234567890123456</MsgId></xml>`,
			want: InboundMessage{ID: "wx-1234567890123456", Thread: Ref{ID: "oOPENID"}, Author: Ref{ID: "oOPENID"}, Text: "hello", SentAt: "2012-09-28T11:31:00Z"},
			key:  "msg:1234567890123456",
		},
		{
			name: "image",
			xml: `<xml><ToUserName><![CDATA[gh_123]]></ToUserName><FromUserName><![CDATA[oA]]></FromUserName><CreateTime>1700000000</CreateTime>
<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[https://mmbiz.qpic.cn/x.jpg]]></PicUrl><MediaId><![CDATA[media_1]]></MediaId><MsgId>42</MsgId></xml>`,
			want: InboundMessage{ID: "wx-42", Thread: Ref{ID: "oA"}, Author: Ref{ID: "oA"}, SentAt: "2023-11-14T22:13:20Z",
				Attachments: []InboundAttachment{{URL: "https://mmbiz.qpic.cn/x.jpg", Name: "wechat-image-42"}}},
			key: "msg:42",
		},
		{
			name: "location",
			xml: `<xml><FromUserName>oA</FromUserName><CreateTime>1700000000</CreateTime><MsgType>location</MsgType>
<Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y><Scale>20</Scale><Label><![CDATA[Guangzhou]]></Label><MsgId>43</MsgId></xml>`,
			want: InboundMessage{ID: "wx-43", Thread: Ref{ID: "oA"}, Author: Ref{ID: "oA"}, SentAt: "2023-11-14T22:13:20Z",
				Text: "Location: Guangzhou (23.134521, 113.358803)"},
			key: "msg:43",
		},
		{
			name: "link",
			xml: `<xml><FromUserName>oA</FromUserName><CreateTime>1700000000</CreateTime><MsgType>link</MsgType>
<Title>Order</Title><Description>my order</Description><Url>https://shop.example/o/1</Url><MsgId>44</MsgId></xml>`,
			want: InboundMessage{ID: "wx-44", Thread: Ref{ID: "oA"}, Author: Ref{ID: "oA"}, SentAt: "2023-11-14T22:13:20Z",
				Text: "Order — https://shop.example/o/1\nmy order"},
			key: "msg:44",
		},
		{
			name: "voice with recognition",
			xml: `<xml><FromUserName>oA</FromUserName><CreateTime>1700000000</CreateTime><MsgType>voice</MsgType>
<MediaId>m</MediaId><Format>amr</Format><Recognition><![CDATA[where is my parcel]]></Recognition><MsgId>45</MsgId></xml>`,
			want: InboundMessage{ID: "wx-45", Thread: Ref{ID: "oA"}, Author: Ref{ID: "oA"}, SentAt: "2023-11-14T22:13:20Z",
				Text: "[voice message, transcribed by WeChat] where is my parcel"},
			key: "msg:45",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMessage([]byte(tc.xml))
			if err != nil {
				t.Fatal(err)
			}
			if got := ToInbound(m); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ToInbound =\n%+v\nwant\n%+v", got, tc.want)
			}
			if m.DedupeKey() != tc.key || m.IsEvent() {
				t.Fatalf("key %q, event %v", m.DedupeKey(), m.IsEvent())
			}
		})
	}
}

func TestParseEvent(t *testing.T) {
	m, err := ParseMessage([]byte(`<xml><ToUserName><![CDATA[gh_123]]></ToUserName><FromUserName><![CDATA[oA]]></FromUserName>
<CreateTime>123456789</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>`))
	if err != nil {
		t.Fatal(err)
	}
	if !m.IsEvent() || m.Event != "subscribe" || m.DedupeKey() != "evt:oA:123456789:subscribe:" {
		t.Fatalf("%+v key %q", m, m.DedupeKey())
	}
	if _, err := ParseMessage([]byte("<xml><MsgType>text")); err == nil {
		t.Fatal("truncated XML accepted")
	}
}
