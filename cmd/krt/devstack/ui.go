package devstack

import (
	"context"
	"fmt"

	"krt.dev/krt/cmd/krt/ui"
)

// DefaultUIPort is where `krt dev up` serves the web UI.
const DefaultUIPort = 9090

// startUI serves the web UI in this process, as the hub's admin (whose
// kubeconfig the stack hands out anyway), on loopback only and behind the
// sign-in token of its URL, as `krt ui` serves it.
func (s *stack) startUI(ctx context.Context) error {
	l, err := listenPreferred("web UI", s.opts.UIPort, s.note)
	if err != nil {
		return err
	}
	hub := s.clusters[0].cp
	token := ui.NewLoginToken()
	srv, err := ui.New(ui.Options{Mode: ui.Local, Config: hub.cfg, Namespace: "default", LoginToken: token})
	if err != nil {
		l.Close()
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	s.stopUI = cancel
	go func() {
		if err := srv.Serve(ctx, l); err != nil {
			s.notef("the web UI stopped: %v", err)
		}
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", portOf(l))
	return s.state.update(func(st *State) { st.UIURL = ui.LoginURL(base, token, "") })
}
