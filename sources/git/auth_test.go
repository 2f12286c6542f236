package git

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
)

func TestAuthFromSecret(t *testing.T) {
	identity, _ := newSSHIdentity(t)
	knownHosts := []byte(hostLine(t, "github.com:22", newHostKey(t).PublicKey()))
	cases := []struct {
		name    string
		data    map[string][]byte
		wantErr string
	}{
		{name: "empty is anonymous", data: map[string][]byte{}},
		{name: "basic", data: map[string][]byte{"username": []byte("u"), "password": []byte("p")}},
		{name: "bearer token", data: map[string][]byte{"bearerToken": []byte("t")}},
		{name: "ssh identity with known_hosts", data: map[string][]byte{"identity": identity, "known_hosts": knownHosts}},
		{
			name:    "ssh identity without known_hosts",
			data:    map[string][]byte{"identity": identity},
			wantErr: `SSH "identity" but no "known_hosts"`,
		},
		{
			name:    "unreadable identity",
			data:    map[string][]byte{"identity": []byte("not a key"), "known_hosts": knownHosts},
			wantErr: `SSH "identity" cannot be used`,
		},
		{
			name:    "unreadable known_hosts",
			data:    map[string][]byte{"identity": identity, "known_hosts": []byte("github.com ssh-ed25519 !!!")},
			wantErr: `"known_hosts" cannot be parsed`,
		},
		{
			name:    "basic and bearer",
			data:    map[string][]byte{"username": []byte("u"), "password": []byte("p"), "bearerToken": []byte("t")},
			wantErr: "keep one",
		},
		{
			name:    "password without username",
			data:    map[string][]byte{"password": []byte("p")},
			wantErr: `"password" but no "username"`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := AuthFromSecret(tc.data)
			if tc.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestHTTPAuth(t *testing.T) {
	f := newFixture(t, gitserver.Options{Username: "alice", Password: "s3cret"})
	f.commit(t, map[string]string{"a": "1"})
	bearer := httptest.NewServer(requireBearer("tok", f.Server))
	t.Cleanup(bearer.Close)
	bearerURL := bearer.URL + "/demo.git"

	cases := []struct {
		name    string
		url     string
		secret  map[string][]byte
		wantErr string
	}{
		{name: "right password", url: f.URL, secret: map[string][]byte{"username": []byte("alice"), "password": []byte("s3cret")}},
		{name: "wrong password", url: f.URL, secret: map[string][]byte{"username": []byte("alice"), "password": []byte("nope")},
			wantErr: "ls-remote " + f.URL + ": authentication failed"},
		{name: "no secret", url: f.URL, secret: nil, wantErr: "authentication required: the repository needs a secretRef"},
		{name: "right bearer token", url: bearerURL, secret: map[string][]byte{"bearerToken": []byte("tok")}},
		{name: "wrong bearer token", url: bearerURL, secret: map[string][]byte{"bearerToken": []byte("bad")}, wantErr: "authentication failed"},
		{name: "ssh identity on an https URL", url: f.URL, secret: sshSecret(t, "127.0.0.1:22"), wantErr: "needs an ssh:// or user@host:path URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var auth *Auth
			if tc.secret != nil {
				var err error
				if auth, err = AuthFromSecret(tc.secret); err != nil {
					t.Fatal(err)
				}
			}
			_, err := f.cache.Resolve(testContext(t), tc.url, auth, v1alpha1.GitRef{})
			if tc.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestURLPasswordIsRedacted(t *testing.T) {
	f := newFixture(t, gitserver.Options{Username: "alice", Password: "s3cret"})
	u := strings.Replace(f.URL, "http://", "http://alice:hunter2@", 1)
	_, err := f.cache.Resolve(testContext(t), u, nil, v1alpha1.GitRef{})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error = %v, want an error without the password", err)
	}
}

// requireBearer stands in for a host that takes bearer tokens.
func requireBearer(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		r.Header.Del("Authorization")
		r.SetBasicAuth("alice", "s3cret")
		next.ServeHTTP(w, r)
	})
}
