package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"vakt/hub"
)

// A token is "vakt_<id>_<secret>": the id finds it, the secret (256 random bits)
// proves it; the hub keeps only the secret's SHA-256.
const tokenPrefix = "vakt_"

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// findToken returns the token whose secret raw carries, if it exists.
func (s *Server) findToken(raw string) (hub.Token, bool) {
	rest, ok := strings.CutPrefix(raw, tokenPrefix)
	if !ok {
		return hub.Token{}, false
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || id == "" || secret == "" {
		return hub.Token{}, false
	}
	for _, t := range s.opt.Hub.Snapshot().Config.Tokens {
		if t.ID == id {
			want := []byte(t.Hash)
			got := []byte(hashSecret(secret))
			return t, subtle.ConstantTimeCompare(want, got) == 1
		}
	}
	return hub.Token{}, false
}

// tokenUser is who a token acts as: its user (control), or the device the
// token names (keypad, read).
func (s *Server) tokenUser(t hub.Token) (hub.User, bool) {
	if t.Scope == hub.ScopeControl {
		return s.user(t.UserID)
	}
	return hub.User{ID: "token:" + t.ID, Name: t.Name, Role: hub.RoleUser}, true
}

// tokenByID returns the token with this id (a session made with a token ends
// when the token is revoked).
func (s *Server) tokenByID(id string) (hub.Token, bool) {
	for _, t := range s.opt.Hub.Snapshot().Config.Tokens {
		if t.ID == id {
			return t, true
		}
	}
	return hub.Token{}, false
}

// scopes lets a request made with a token through only if the token's scope is
// one of these; a user's own session is limited by the user's role alone.
func (s *Server) scopes(allowed ...hub.TokenScope) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			sc, _ := c.Get(keyScope).(hub.TokenScope)
			if sc != "" && !slices.Contains(allowed, sc) {
				return apiError(http.StatusForbidden, string(hub.ErrDenied), "a "+string(sc)+" token may not do this")
			}
			return next(c)
		}
	}
}

// userOnly refuses requests made with a token: configuration is changed by people.
func (s *Server) userOnly(next echo.HandlerFunc) echo.HandlerFunc { return s.scopes()(next) }

type tokenInfo struct {
	ID      string         `json:"id"`
	Name    string         `json:"name"`
	Scope   hub.TokenScope `json:"scope"`
	UserID  string         `json:"user_id,omitempty"`
	Created time.Time      `json:"created"`
	// Token is the whole token, only in the answer that made it.
	Token string `json:"token,omitempty"`
}

func infoOfToken(t hub.Token) tokenInfo {
	return tokenInfo{ID: t.ID, Name: t.Name, Scope: t.Scope, UserID: t.UserID, Created: t.Created}
}

func (s *Server) listTokens(c echo.Context) error {
	out := []tokenInfo{}
	for _, t := range s.opt.Hub.Snapshot().Config.Tokens {
		out = append(out, infoOfToken(t))
	}
	return c.JSON(http.StatusOK, out)
}

type tokenRequest struct {
	Name   string         `json:"name"`
	Scope  hub.TokenScope `json:"scope"`
	UserID string         `json:"user_id,omitempty"`
}

// addToken makes a token and answers it once, whole.
func (s *Server) addToken(c echo.Context) error {
	var req tokenRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Name) == "" {
		return apiError(http.StatusBadRequest, string(hub.ErrInvalid), "a token needs a name (what uses it: \"Hall tablet\")")
	}
	idb := make([]byte, 6)
	_, _ = rand.Read(idb)
	secret := randomToken()
	t := hub.Token{ID: hex.EncodeToString(idb), Name: strings.TrimSpace(req.Name), Scope: req.Scope, UserID: req.UserID,
		Hash: hashSecret(secret), Created: s.opt.Now().UTC().Truncate(time.Second)}
	if _, err := s.opt.Hub.ChangeConfig(c.Request().Context(), actor(c), func(cfg *hub.Config) error {
		cfg.Tokens = append(cfg.Tokens, t)
		return nil
	}); err != nil {
		return err
	}
	info := infoOfToken(t)
	info.Token = tokenPrefix + t.ID + "_" + secret
	return c.JSON(http.StatusCreated, info)
}

// revokeToken removes a token: requests and sessions made with it end.
func (s *Server) revokeToken(c echo.Context) error {
	id := c.Param("id")
	if _, ok := s.tokenByID(id); !ok {
		return apiError(http.StatusNotFound, string(hub.ErrInvalid), "no such token")
	}
	if _, err := s.opt.Hub.ChangeConfig(c.Request().Context(), actor(c), func(cfg *hub.Config) error {
		cfg.Tokens = slices.DeleteFunc(cfg.Tokens, func(t hub.Token) bool { return t.ID == id })
		return nil
	}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
