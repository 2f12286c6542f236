package runtimeserver

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	"krt.dev/krt/runtimed/archive"
)

// With contents, a folder's entries are the archive's root, and a file is
// packed alone by its base name: unpacked at a path, the artifact is that
// path's content. A path out of the working directory is still refused.
func TestCollectContents(t *testing.T) {
	c, _ := serve(t)
	execute(t, c, &runtimev1.ExecuteRequest{Id: "c/1", Script: "mkdir -p dist/sub; echo a > dist/a; echo b > dist/sub/b; echo r > report.txt"})
	tests := []struct {
		path string
		want []string
		code codes.Code
	}{
		{"dist", []string{"a", "sub", "sub/b"}, codes.OK},
		{"dist/sub/b", []string{"b"}, codes.OK},
		{"report.txt", []string{"report.txt"}, codes.OK},
		{"../x", nil, codes.InvalidArgument},
		{"missing", nil, codes.InvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			_, data, _, err := collect(t, c, &runtimev1.CollectRequest{Id: "c/1", Paths: []string{tc.path}, Contents: true})
			if status.Code(err) != tc.code {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
			if tc.code != codes.OK {
				if !strings.Contains(err.Error(), tc.path) {
					t.Errorf("the error does not name %s: %v", tc.path, err)
				}
				return
			}
			dest := t.TempDir()
			r, _ := os.OpenRoot(dest)
			defer r.Close()
			if _, err := archive.Unpack(bytes.NewReader(data), r, archive.UnpackOptions{}); err != nil {
				t.Fatal(err)
			}
			var got []string
			_ = filepath.WalkDir(dest, func(p string, _ os.DirEntry, _ error) error {
				if rel, _ := filepath.Rel(dest, p); rel != "." {
					got = append(got, rel)
				}
				return nil
			})
			if !slices.Equal(got, tc.want) {
				t.Errorf("unpacked %v, want %v", got, tc.want)
			}
		})
	}
}
