package mask

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// streamed feeds in to a Stream in chunks of the given size.
func streamed(m *Masker, in string, chunk int) string {
	st := m.Stream()
	var out []byte
	for i := 0; i < len(in); i += chunk {
		out = append(out, st.Write([]byte(in[i:min(i+chunk, len(in))]))...)
	}
	return string(append(out, st.Flush()...))
}

// leaks reports the first window of the secret, of the given size, that
// appears in out.
func leaks(secret, out string, window int) (string, bool) {
	for i := 0; i+window <= len(secret); i += window / 2 {
		if w := secret[i : i+window]; strings.Contains(out, w) {
			return w, true
		}
	}
	return "", false
}

func randomSecret(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func TestStreamMasksWhateverTheChunks(t *testing.T) {
	long := randomSecret(100 << 10)
	cases := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{name: "100 KiB single-line secret", secrets: []string{long}, in: "token=" + long + "\nnext line\n", want: "token=***\nnext line\n"},
		{name: "twice on one line", secrets: []string{long}, in: long + " " + long, want: "*** ***"},
		{name: "multi-line secret across chunk and line breaks", secrets: []string{pem}, in: "a\n" + pem + pem, want: "a\n***\n***\n"},
		{name: "prefix that does not complete passes", secrets: []string{"secret-value"}, in: "secret-valu!", want: "secret-valu!"},
		{name: "no secrets passes as is", in: "plain\n", want: "plain\n"},
	}
	for _, tc := range cases {
		m := New(tc.secrets...)
		for _, chunk := range []int{1, 7, 4096, 32 << 10, len(tc.in)} {
			if got := streamed(m, tc.in, chunk); got != tc.want {
				if len(got) > 200 {
					got = got[:200] + "…"
				}
				t.Errorf("%s, chunks of %d: got %q, want %q", tc.name, chunk, got, tc.want)
			}
		}
	}
}

func TestStreamHoldsBackOnlyWhatCouldBeASecret(t *testing.T) {
	st := New("0123456789").Stream()
	cases := []struct{ in, want string }{
		{in: "hello 01", want: "hello "}, // "01" could start the secret
		{in: "2x", want: "012x"},         // it did not
		{in: "0123456", want: ""},        // all of it could
		{in: "789 ok", want: "*** ok"},
	}
	for _, tc := range cases {
		if got := string(st.Write([]byte(tc.in))); got != tc.want {
			t.Errorf("Write(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if len(st.pending) != 0 {
		t.Errorf("still holding %q", st.pending)
	}
}

func TestStreamGapMasksBothSidesOfTheCut(t *testing.T) {
	secret := randomSecret(1000)
	cases := []struct {
		name          string
		before, after string
		want          string
	}{
		// The runtime server dropped the middle of the secret: what came
		// before is its start, what comes after is its end.
		{name: "secret cut by the gap", before: "x " + secret[:300], after: secret[700:] + "\n" + strings.Repeat("t", 1000) + "\ntail\n",
			want: "x ***|***" + strings.Repeat("t", 302) + "\ntail\n"},
		{name: "nothing held", before: "line\n", after: strings.Repeat("y", 2000), want: "line\n|***" + strings.Repeat("y", 1001)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := New(secret).Stream()
			out := append(st.Write([]byte(tc.before)), st.Gap()...)
			out = append(out, '|')
			out = append(out, st.Write([]byte(tc.after))...)
			out = append(out, st.Flush()...)
			if string(out) != tc.want {
				t.Errorf("got %q, want %q", out, tc.want)
			}
			if w, ok := leaks(secret, string(out), 16); ok {
				t.Errorf("a piece of the secret leaked: %q", w)
			}
		})
	}
}

func TestStreamMemoryIsBoundedBySecretsNotLines(t *testing.T) {
	st := New("s3cr3t-value").Stream()
	line := bytes.Repeat([]byte("a"), 1<<20)
	for range 8 {
		st.Write(line)
		if len(st.pending) > len("s3cr3t-value") {
			t.Fatalf("holding %d bytes of a line with no secret in it", len(st.pending))
		}
	}
}
