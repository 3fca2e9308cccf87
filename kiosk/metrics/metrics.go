// Package metrics renders the station's metrics in the Prometheus text
// exposition format (version 0.0.4). The station has a handful of counters
// and gauges; a registry of callbacks is all it needs, read at scrape time.
package metrics

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Kind is a Prometheus metric type.
type Kind string

// Metric types.
const (
	Counter Kind = "counter"
	Gauge   Kind = "gauge"
)

// Sample is one labelled value.
type Sample struct {
	Labels map[string]string
	Value  float64
}

type metric struct {
	name, help string
	kind       Kind
	collect    func() []Sample
	hist       *Histogram
}

// Registry holds metrics; it is safe for concurrent use.
type Registry struct {
	mu      sync.Mutex
	metrics map[string]metric
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{metrics: map[string]metric{}} }

// Register adds a metric whose samples collect returns at scrape time. It
// panics on a duplicate or invalid name: that is a programming error.
func (r *Registry) Register(name, help string, kind Kind, collect func() []Sample) {
	if !validName(name) {
		panic("metrics: invalid name " + name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.metrics[name]; dup {
		panic("metrics: duplicate " + name)
	}
	r.metrics[name] = metric{name: name, help: help, kind: kind, collect: collect}
}

// Value is a helper for a single unlabelled sample.
func Value(f func() float64) func() []Sample {
	return func() []Sample { return []Sample{{Value: f()}} }
}

func validName(n string) bool {
	if n == "" {
		return false
	}
	for i, c := range n {
		if !(c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// WriteTo writes every metric, sorted by name.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	ms := make([]metric, 0, len(r.metrics))
	for _, m := range r.metrics {
		ms = append(ms, m)
	}
	r.mu.Unlock()
	sort.Slice(ms, func(i, j int) bool { return ms[i].name < ms[j].name })
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", m.name, escapeHelp(m.help), m.name, m.kind)
		if m.hist != nil {
			m.hist.write(&b, m.name)
			continue
		}
		for _, s := range m.collect() {
			b.WriteString(m.name)
			if len(s.Labels) > 0 {
				keys := make([]string, 0, len(s.Labels))
				for k := range s.Labels {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				b.WriteByte('{')
				for i, k := range keys {
					if i > 0 {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, "%s=%q", k, s.Labels[k])
				}
				b.WriteByte('}')
			}
			b.WriteByte(' ')
			b.WriteString(formatValue(s.Value))
			b.WriteByte('\n')
		}
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Handler serves the registry at /metrics.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = r.WriteTo(w)
	})
}
