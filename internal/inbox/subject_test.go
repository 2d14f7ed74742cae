package inbox

import "testing"

func TestNormaliseSubject(t *testing.T) {
	for in, want := range map[string]string{
		"Re: Order late":                "order late",
		"RE: re:  FW: Order   late":     "order late",
		"TR: Re[2]: Commande en retard": "commande en retard",
		"[Ticket 12] Re: Order late":    "order late",
		"AW: SV: Fwd: Hello":            "hello",
		"Order late":                    "order late",
		"Re:":                           "",
		"Reorder my items":              "reorder my items",
	} {
		if got := NormaliseSubject(in); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}
