package httpx

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the per-request series every listener records.
type Metrics struct {
	Requests *prometheus.CounterVec   // brazen_http_requests_total{listener,route,code}
	Duration *prometheus.HistogramVec // brazen_http_request_duration_seconds{listener,route}
	// OnRequest, if set, is told of every answered request (the
	// console's usage counts).
	OnRequest func(listener, route string, status int)
}

// NewMetrics creates the request series and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brazen_http_requests_total",
			Help: "HTTP requests answered, by listener, route pattern and status code.",
		}, []string{"listener", "route", "code"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "brazen_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by listener and route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"listener", "route"}),
	}
	reg.MustRegister(m.Requests, m.Duration)
	return m
}

// Observe wraps a listener's handler: it gives every request an id
// (X-Request-Id in and out), turns a panic into a logged 500 with a JSON
// body, counts and times the request by route pattern, and writes one log
// line. The query string is never logged: it may hold a legacy api_key.
func Observe(listener string, next http.Handler, logger *slog.Logger, m *Metrics, ids *IDs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = ids.Next()
			r.Header.Set(RequestIDHeader, id)
		}
		w.Header().Set(RequestIDHeader, id)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				logger.Error("panic serving request", "request_id", id, "method", r.Method,
					"path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if !sw.wrote {
					WriteError(sw, r, logger, fmt.Errorf("panic: %v", p))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			elapsed := time.Since(start)
			m.Requests.WithLabelValues(listener, route, strconv.Itoa(status)).Inc()
			m.Duration.WithLabelValues(listener, route).Observe(elapsed.Seconds())
			if m.OnRequest != nil {
				m.OnRequest(listener, route, status)
			}
			level := slog.LevelInfo
			if status >= 500 && status != http.StatusNotImplemented {
				level = slog.LevelError
			}
			logger.LogAttrs(r.Context(), level, "request",
				slog.String("request_id", id),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Duration("duration", elapsed),
				slog.String("remote", r.RemoteAddr),
			)
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
