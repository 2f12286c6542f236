package mask

import "testing"

func TestMasker(t *testing.T) {
	cases := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{name: "no secrets", in: "token abc", want: "token abc"},
		{name: "one secret", secrets: []string{"s3cr3t"}, in: "token s3cr3t here s3cr3t", want: "token *** here ***"},
		{name: "longer first", secrets: []string{"abc", "abcdef"}, in: "abcdef abc", want: "*** ***"},
		{name: "multi-line secret masked per line", secrets: []string{"line-one\nline-two"}, in: "got line-two", want: "got ***"},
		{name: "empty secret ignored", secrets: []string{""}, in: "nothing", want: "nothing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := New(tc.secrets...).String(tc.in); got != tc.want {
				t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	if out, ok := New("s3cret").Map(map[string]string{"k": "a s3cret"}); !ok || out["k"] != "a ***" {
		t.Errorf("Map = %v, %v; want the value masked", out, ok)
	}
	if _, ok := New("s3cret").Map(map[string]string{"s3cret": "v"}); ok {
		t.Error("Map kept a key that holds a secret")
	}
	var nilMasker *Masker
	if got := nilMasker.String("x"); got != "x" {
		t.Errorf("nil masker changed the string: %q", got)
	}
}
