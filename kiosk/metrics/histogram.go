package metrics

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Histogram counts observations into cumulative buckets per label set, as
// Prometheus histograms do (name_bucket{le=…}, name_sum, name_count).
type Histogram struct {
	buckets []float64 // upper bounds, ascending; +Inf is implicit
	label   string    // the one label that splits it, e.g. "endpoint"; "" for none

	mu     sync.Mutex
	series map[string]*series
}

type series struct {
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	n      uint64
}

// DefaultLatencyBuckets are seconds from 1 ms to 10 s.
var DefaultLatencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// RegisterHistogram adds a histogram split by label (or by nothing when
// label is ""), with buckets' upper bounds in ascending order.
func (r *Registry) RegisterHistogram(name, help, label string, buckets []float64) *Histogram {
	if !sort.Float64sAreSorted(buckets) || len(buckets) == 0 {
		panic("metrics: histogram buckets must be ascending: " + name)
	}
	h := &Histogram{buckets: append([]float64(nil), buckets...), label: label, series: map[string]*series{}}
	if !validName(name) {
		panic("metrics: invalid name " + name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.metrics[name]; dup {
		panic("metrics: duplicate " + name)
	}
	r.metrics[name] = metric{name: name, help: help, kind: "histogram", hist: h}
	return h
}

// Observe adds one observation v for the label value lv.
func (h *Histogram) Observe(lv string, v float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.series[lv]
	if s == nil {
		s = &series{counts: make([]uint64, len(h.buckets)+1)}
		h.series[lv] = s
	}
	i := sort.SearchFloat64s(h.buckets, v) // first bound >= v
	s.counts[i]++
	s.sum += v
	s.n++
}

// write renders the histogram's lines.
func (h *Histogram) write(b *strings.Builder, name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	keys := make([]string, 0, len(h.series))
	for k := range h.series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := h.series[k]
		lbl := ""
		if h.label != "" {
			lbl = fmt.Sprintf("%s=%q,", h.label, k)
		}
		var cum uint64
		for i, c := range s.counts {
			cum += c
			le := "+Inf"
			if i < len(h.buckets) {
				le = formatValue(h.buckets[i])
			}
			fmt.Fprintf(b, "%s_bucket{%sle=%q} %d\n", name, lbl, le, cum)
		}
		plain := strings.TrimSuffix(lbl, ",")
		if plain != "" {
			plain = "{" + plain + "}"
		}
		fmt.Fprintf(b, "%s_sum%s %s\n%s_count%s %d\n", name, plain, formatValue(s.sum), name, plain, s.n)
	}
}
