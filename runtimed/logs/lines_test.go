package logs

import (
	"bytes"
	"strings"
	"testing"
)

func TestSplitter(t *testing.T) {
	long := strings.Repeat("a", MaxLine)
	cases := []struct {
		name   string
		chunks []string
		want   []string
	}{
		{name: "lines across chunks", chunks: []string{"a\nb", "c\r\nd"}, want: []string{"a", "bc", "d"}},
		{name: "empty lines", chunks: []string{"\n\n\n"}, want: []string{"", "", ""}},
		{name: "an overlong line is cut", chunks: []string{long + "bc\n"}, want: []string{long, "bc"}},
		{name: "cut across chunks", chunks: []string{long[:10], long[10:] + "b", "c"}, want: []string{long, "bc"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var sp Splitter
			var got []string
			for _, c := range tc.chunks {
				got = append(got, sp.Write([]byte(c))...)
			}
			got = append(got, sp.Flush()...)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("lines = %d of them, want %d: %.80q", len(got), len(tc.want), got)
			}
		})
	}
}

func TestSplitterHoldsAtMostOneLinePiece(t *testing.T) {
	// A 100 MiB line without a newline, as `head -c 100M | tr '\0' a` writes.
	var sp Splitter
	chunk := bytes.Repeat([]byte("a"), 32<<10)
	pieces := 0
	for range 100 << 20 / len(chunk) {
		for _, l := range sp.Write(chunk) {
			if len(l) != MaxLine {
				t.Fatalf("piece of %d bytes, want %d", len(l), MaxLine)
			}
			pieces++
		}
		if len(sp.partial) > MaxLine || cap(sp.partial) > 2*MaxLine {
			t.Fatalf("the splitter holds %d bytes (cap %d) of one line", len(sp.partial), cap(sp.partial))
		}
	}
	pieces += len(sp.Flush())
	if pieces != 100<<20/MaxLine {
		t.Fatalf("%d pieces, want %d", pieces, 100<<20/MaxLine)
	}
}
