package mask

import (
	"reflect"
	"strings"
	"testing"
)

const pem = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACDcVHBtVNoEMCP5Nv3fPSQ5MV9z5RuwyeR9MHrrdZCtVgAAAJjcXq0t3F6t
Ag==
-----END OPENSSH PRIVATE KEY-----
`

func TestPatterns(t *testing.T) {
	cases := []struct {
		name  string
		value string
		want  []string
	}{
		{name: "empty", value: "", want: nil},
		{name: "only whitespace", value: " \n\t", want: nil},
		{name: "single line, trailing newline trimmed", value: "s3cr3t\n", want: []string{"s3cr3t"}},
		{name: "single line of any length", value: "ab", want: []string{"ab"}},
		{name: "PEM: whole, and body lines but not armor or short lines", value: pem, want: []string{
			strings.TrimSpace(pem),
			"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
			"QyNTUxOQAAACDcVHBtVNoEMCP5Nv3fPSQ5MV9z5RuwyeR9MHrrdZCtVgAAAJjcXq0t3F6t",
		}},
		{name: "JSON: braces stay, fields are masked alone", value: "{\r\n  \"key\": \"abc123456\"\r\n}\r\n",
			want: []string{"{\r\n  \"key\": \"abc123456\"\r\n}", `"key": "abc123456"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Patterns(tc.value); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Patterns = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMaskerString(t *testing.T) {
	cases := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{name: "no secrets", in: "token abc", want: "token abc"},
		{name: "one secret", secrets: []string{"s3cr3t"}, in: "token s3cr3t here s3cr3t", want: "token *** here ***"},
		{name: "one contains another", secrets: []string{"abc", "abcdef"}, in: "abcdef abc", want: "*** ***"},
		{name: "overlapping matches are one span", secrets: []string{"abab"}, in: "xababab.", want: "x***."},
		{name: "adjacent secrets", secrets: []string{"foo", "bar"}, in: "foobar", want: "***"},
		{name: "empty secret ignored", secrets: []string{""}, in: "nothing", want: "nothing"},
		{name: "secret from a file with a trailing newline", secrets: []string{"tok-12345\n"}, in: "[tok-12345]", want: "[***]"},
		{name: "multi-line secret whole, across lines", secrets: []string{pem}, in: "key:\n" + pem + "done",
			want: "key:\n***\ndone"},
		{name: "armor lines printed alone are not garbled", secrets: []string{pem},
			in:   "-----BEGIN OPENSSH PRIVATE KEY-----\n-----END OPENSSH PRIVATE KEY-----",
			want: "-----BEGIN OPENSSH PRIVATE KEY-----\n-----END OPENSSH PRIVATE KEY-----"},
		{name: "a body line printed alone is masked", secrets: []string{pem},
			in:   "line 2: QyNTUxOQAAACDcVHBtVNoEMCP5Nv3fPSQ5MV9z5RuwyeR9MHrrdZCtVgAAAJjcXq0t3F6t",
			want: "line 2: ***"},
		{name: "echo $KEY unquoted joins the lines", secrets: []string{pem},
			in:   strings.Join(strings.Fields(pem), " "),
			want: "-----BEGIN OPENSSH PRIVATE KEY----- *** *** Ag== -----END OPENSSH PRIVATE KEY-----"},
		{name: "short lines are masked only within the whole", secrets: []string{"{\n  \"key\": \"abc123456\"\n}"},
			in: "{\n}", want: "{\n}"},
		{name: "a truncated secret at the end is masked", secrets: []string{"0123456789abcdef"}, in: "x 0123456789", want: "x ***"},
		{name: "a short prefix at the end is not", secrets: []string{"0123456789abcdef"}, in: "x 0123", want: "x 0123"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := New(tc.secrets...).String(tc.in); got != tc.want {
				t.Errorf("String(%q)\n = %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestMaskerMap(t *testing.T) {
	cases := []struct {
		name   string
		secret string
		in     map[string]string
		want   map[string]string
		ok     bool
	}{
		{name: "value masked", secret: "s3cret", in: map[string]string{"k": "a s3cret"}, want: map[string]string{"k": "a ***"}, ok: true},
		{name: "multi-line value masked whole", secret: pem, in: map[string]string{"key": pem}, want: map[string]string{"key": "***\n"}, ok: true},
		{name: "key holding a secret refused", secret: "s3cret", in: map[string]string{"s3cret": "v"}, ok: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := New(tc.secret).Map(tc.in)
			if ok != tc.ok || (ok && !reflect.DeepEqual(got, tc.want)) {
				t.Errorf("Map = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
	var nilMasker *Masker
	if got := nilMasker.String("x"); got != "x" {
		t.Errorf("nil masker changed the string: %q", got)
	}
}
