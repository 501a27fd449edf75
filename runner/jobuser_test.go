package runner

import "testing"

func TestParseCredential(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Credential
	}{
		{"nobody", Credential{65534, 65534}},
		{"65534", Credential{65534, 65534}},
		{"nobody:0", Credential{65534, 0}},
		{"nobody:root", Credential{65534, 0}},
		{"0", Credential{0, 0}},
		{"4242", Credential{4242, 4242}},
		{"4242:7", Credential{4242, 7}},
	} {
		got, err := ParseCredential(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseCredential(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", ":1", "nobody:", "no-such-user-here", "nobody:no-such-group-here", "-1", "4294967296"} {
		if got, err := ParseCredential(in); err == nil {
			t.Errorf("ParseCredential(%q) = %v, want an error", in, got)
		}
	}
}
