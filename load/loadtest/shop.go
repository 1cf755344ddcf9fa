// Package loadtest holds test targets for the load engine: a small shop that checks the correlation
// a real journey needs (login token, session cookie, CSRF token, cart and order ids). Tests of load,
// internal/cli and the examples start it on loopback; it is not part of the ramp binary.
package loadtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
)

// Shop is the test shop. Users maps user names to passwords; APIKey, when set, is required in the
// X-Api-Key header of every request.
type Shop struct {
	Users  map[string]string
	APIKey string

	mu       sync.Mutex
	sessions map[string]*session // by session cookie
	tokens   map[string]*session // by bearer token
	carts    map[string]string   // cart id -> product id

	Logins    atomic.Int64
	Orders    atomic.Int64
	Rejected  atomic.Int64 // requests refused for bad correlation (token, cookie, CSRF, ids)
	PerUser   sync.Map     // user -> *atomic.Int64 orders
	Requested atomic.Int64
}

type session struct {
	user, token, csrf string
}

var products = []map[string]any{
	{"id": "p-100", "name": "Kettle", "price": 39.5},
	{"id": "p-200", "name": "Teapot", "price": 24},
	{"id": "p-300", "name": "Mug", "price": 9.9},
}

func randID(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail
	return prefix + hex.EncodeToString(b)
}

// Start serves the shop on a loopback httptest server.
func (s *Shop) Start() *httptest.Server {
	s.sessions, s.tokens, s.carts = map[string]*session{}, map[string]*session{}, map[string]string{}
	return httptest.NewServer(s)
}

func (s *Shop) reject(w http.ResponseWriter, code int, msg string) {
	s.Rejected.Add(1)
	http.Error(w, msg, code)
}

func (s *Shop) auth(r *http.Request) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	sess := s.tokens[tok]
	if sess == nil {
		return nil
	}
	if c, err := r.Cookie("session"); err != nil || s.sessions[c.Value] != sess {
		return nil
	}
	return sess
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // test server
}

// ServeHTTP implements the shop's API.
func (s *Shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.Requested.Add(1)
	if s.APIKey != "" && r.Header.Get("X-Api-Key") != s.APIKey {
		s.reject(w, http.StatusUnauthorized, "bad api key")
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/login":
		var in struct{ Username, Password string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Username == "" || s.Users[in.Username] != in.Password {
			s.reject(w, http.StatusUnauthorized, "bad credentials")
			return
		}
		sess := &session{user: in.Username, token: randID("tok_"), csrf: randID("csrf_")}
		cookie := randID("sid_")
		s.mu.Lock()
		s.sessions[cookie], s.tokens[sess.token] = sess, sess
		s.mu.Unlock()
		s.Logins.Add(1)
		http.SetCookie(w, &http.Cookie{Name: "session", Value: cookie, Path: "/", HttpOnly: true})
		writeJSON(w, http.StatusOK, map[string]any{"token": sess.token, "user": map[string]any{"name": in.Username}})
	case r.Method == http.MethodGet && r.URL.Path == "/shop":
		sess := s.auth(r)
		if sess == nil {
			s.reject(w, http.StatusUnauthorized, "login first")
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<html><body><form action="/api/cart"><input type="hidden" name="csrf" value="%s"></form></body></html>`, sess.csrf)
	case r.Method == http.MethodGet && r.URL.Path == "/api/products":
		writeJSON(w, http.StatusOK, map[string]any{"items": products, "count": len(products)})
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/products/"):
		id := strings.TrimPrefix(r.URL.Path, "/api/products/")
		for _, p := range products {
			if p["id"] == id {
				writeJSON(w, http.StatusOK, p)
				return
			}
		}
		s.reject(w, http.StatusNotFound, "no such product")
	case r.Method == http.MethodPost && r.URL.Path == "/api/cart":
		sess := s.auth(r)
		if sess == nil || r.Header.Get("X-CSRF-Token") != sess.csrf {
			s.reject(w, http.StatusForbidden, "bad session or csrf token")
			return
		}
		var in struct {
			ProductID string `json:"product_id"`
			Quantity  int    `json:"quantity"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ProductID == "" || in.Quantity < 1 {
			s.reject(w, http.StatusBadRequest, "bad cart line")
			return
		}
		id := randID("cart_")
		s.mu.Lock()
		s.carts[id] = sess.user
		s.mu.Unlock()
		writeJSON(w, http.StatusCreated, map[string]any{"cart_id": id})
	case r.Method == http.MethodPost && r.URL.Path == "/api/checkout":
		sess := s.auth(r)
		var in struct {
			CartID string `json:"cart_id"`
		}
		json.NewDecoder(r.Body).Decode(&in) //nolint:errcheck // checked below
		s.mu.Lock()
		owner, ok := s.carts[in.CartID]
		delete(s.carts, in.CartID)
		s.mu.Unlock()
		if sess == nil || !ok || owner != sess.user {
			s.reject(w, http.StatusForbidden, "bad session or cart")
			return
		}
		s.Orders.Add(1)
		n, _ := s.PerUser.LoadOrStore(sess.user, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		order := randID("ord_")
		w.Header().Set("Location", "/orders/"+order)
		writeJSON(w, http.StatusCreated, map[string]any{"order_id": order, "status": "confirmed"})
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/orders/"):
		if s.auth(r) == nil {
			s.reject(w, http.StatusUnauthorized, "login first")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"order_id": strings.TrimPrefix(r.URL.Path, "/orders/"), "status": "confirmed"})
	default:
		s.reject(w, http.StatusNotFound, "not found")
	}
}
