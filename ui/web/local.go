package web

import (
	"context"
	"net"
	"net/http"
	"os/user"
	"strconv"

	"golang.org/x/sys/unix"

	"vakt/hub"
)

// localKey marks a request that came over the local socket; its value is the
// console user the request acts as.
type localKey struct{}

// LocalHandler serves the same API to the command line over a Unix socket in the
// data directory. The socket file's mode (0600, the hub's own account) is the
// access control: a request over it acts as an administrator named after the
// operating-system account that connected (the peer's credentials), needs no
// session and no CSRF token (no browser can reach a Unix socket), and sees
// /healthz in full. Serve it with LocalConnContext set as the http.Server's
// ConnContext.
func (s *Server) LocalHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Value(localKey{}).(hub.User); !ok {
			http.Error(w, "not a local connection", http.StatusForbidden)
			return
		}
		s.e.ServeHTTP(w, r)
	})
}

// LocalConnContext names the console user of a connection to the local socket
// after the peer's account: "console (alice)", or by uid when it has no name.
func LocalConnContext(ctx context.Context, c net.Conn) context.Context {
	name := "console"
	if uc, ok := c.(*net.UnixConn); ok {
		if raw, err := uc.SyscallConn(); err == nil {
			var cred *unix.Ucred
			_ = raw.Control(func(fd uintptr) { cred, _ = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
			if cred != nil {
				who := "uid " + strconv.Itoa(int(cred.Uid))
				if u, err := user.LookupId(strconv.Itoa(int(cred.Uid))); err == nil {
					who = u.Username
				}
				name = "console (" + who + ")"
			}
		}
	}
	return context.WithValue(ctx, localKey{}, hub.User{ID: "console", Name: name, Role: hub.RoleAdmin})
}

// localUser returns the console user of a request over the local socket.
func localUser(r *http.Request) (hub.User, bool) {
	u, ok := r.Context().Value(localKey{}).(hub.User)
	return u, ok
}
