package server

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
)

// HealthPath answers GET and HEAD without authentication: 200 with the body
// {"status":"ok"} while the server serves requests. It says nothing else
// about the server.
const HealthPath = "/_pipewright/health"

var healthBody = []byte(`{"status":"ok"}`)

// router is the server's root handler: a GET or HEAD of HealthPath is
// answered by the health check, a GET of a link page (see links) by the
// links, which authenticate it; a POST with an X-Amz-Target or an awsJson
// content type goes to the awsJson1_1 server (so that a JSON client that
// forgets its target still gets a JSON error), and every other request,
// whatever its method and path, to the S3 endpoint. Both authenticate what
// they get.
type router struct {
	api   http.Handler
	s3    http.Handler
	links *links
	log   *slog.Logger
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rt.links != nil && rt.links.serves(r) {
		rt.links.ServeHTTP(w, r)
		return
	}
	if r.URL.Path != HealthPath || r.Method != http.MethodGet && r.Method != http.MethodHead {
		if rt.s3 == nil || isJSONRequest(r) {
			rt.api.ServeHTTP(w, r)
			return
		}
		rt.s3.ServeHTTP(w, r)
		return
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(healthBody))}
	h["Cache-Control"] = []string{"no-store"}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(healthBody)
	}
	// Health checks poll: their lines stay out of the info log.
	rt.log.Debug("request", "op", "health", "status", http.StatusOK, "remote", r.RemoteAddr, "method", r.Method, "path", HealthPath)
}

// isJSONRequest reports whether r is for the awsJson1_1 services: a POST
// with an X-Amz-Target or an application/x-amz-json-* body. No S3 request
// is either.
func isJSONRequest(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	if len(r.Header["X-Amz-Target"]) > 0 {
		return true
	}
	return strings.HasPrefix(strings.ToLower(r.Header.Get("Content-Type")), "application/x-amz-json")
}
