package outputs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr error
	}{
		{name: "empty", in: "", want: map[string]string{}},
		{name: "key value", in: "image=web:1\nurl=https://x?a=b\n", want: map[string]string{"image": "web:1", "url": "https://x?a=b"}},
		{name: "later wins", in: "a=1\na=2\n", want: map[string]string{"a": "2"}},
		{name: "blank lines and CRLF", in: "\r\na=1\r\n\n", want: map[string]string{"a": "1"}},
		{name: "empty value", in: "a=\n", want: map[string]string{"a": ""}},
		{name: "heredoc", in: "notes<<EOF\nline one\nline=two\nEOF\nb=2\n", want: map[string]string{"notes": "line one\nline=two", "b": "2"}},
		{name: "value with <<", in: "cmd=cat <<EOF\n", want: map[string]string{"cmd": "cat <<EOF"}},
		{name: "no equals", in: "hello\n", wantErr: ErrInvalid},
		{name: "bad key", in: "1abc=x\n", wantErr: ErrInvalid},
		{name: "unclosed heredoc", in: "a<<END\nx\n", wantErr: ErrInvalid},
		{name: "too many keys", in: manyKeys(MaxKeys + 1), wantErr: ErrTooLarge},
		{name: "just enough keys", in: manyKeys(MaxKeys), want: nil},
		{name: "too many bytes", in: "big=" + strings.Repeat("x", MaxBytes) + "\n", wantErr: ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Parse() error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if tc.want != nil {
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("k")
		b.WriteString(strings.Repeat("x", i))
		b.WriteString("=v\n")
	}
	return b.String()
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	if out, err := ReadFile(filepath.Join(dir, "missing")); err != nil || out != nil {
		t.Fatalf("missing file: got %v, %v; want no outputs and no error", out, err)
	}
	huge := filepath.Join(dir, "huge")
	if err := os.WriteFile(huge, []byte(strings.Repeat("a=b\n", maxFileBytes)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(huge); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("huge file: error = %v, want ErrTooLarge", err)
	}
}
