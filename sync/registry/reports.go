package registry

// Reports at the console (issue 14, item 8): reserve cards issued,
// returned, outstanding, overdue and voided per station, reason and month
// (Europe/Stockholm); stock per station; deviations (RC-6, deadlines.go)
// per station, rule and month. Each is a server-rendered table, the same
// rows as CSV, and a bar chart drawn as inline SVG (no script; the
// console's CSP allows neither inline script nor inline style, and the
// chart needs neither: its colours are SVG presentation attributes).
//
// The reports are counts, no personal data: every role may see them, and
// the period is in the URL (GET, so a report can be bookmarked). Viewing
// them is not audited for that reason.

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Report names.
const (
	ReportIssuances  = "issuances"
	ReportStock      = "stock"
	ReportDeviations = "deviations"
)

// Report is one report: its column headings (keys for T), rows of cells,
// and the chart (one bar per label).
type Report struct {
	Name    string
	Columns []string
	Rows    [][]string
	Chart   []Bar
	// ChartOf is what the bars count (a key for T).
	ChartOf string
}

// Bar is one bar of a report's chart.
type Bar struct {
	Label string
	Value int
}

// Period is a report's months, From and To inclusive, YYYY-MM.
type Period struct{ From, To string }

// parsePeriod reads from and to (YYYY-MM); either missing means the
// current year's January and December (Stockholm).
func parsePeriod(from, to string, now time.Time) (Period, error) {
	y := now.In(calendar.Stockholm()).Year()
	p := Period{From: fmt.Sprintf("%04d-01", y), To: fmt.Sprintf("%04d-12", y)}
	for _, f := range []struct {
		v   string
		dst *string
	}{{from, &p.From}, {to, &p.To}} {
		if f.v == "" {
			continue
		}
		if _, err := time.Parse("2006-01", f.v); err != nil {
			return p, fmt.Errorf("%w: a month is YYYY-MM", ErrInvalid)
		}
		*f.dst = f.v
	}
	if p.To < p.From {
		return p, fmt.Errorf("%w: the period ends before it starts", ErrInvalid)
	}
	return p, nil
}

// IssuanceReport counts reserve-card issuances per station, reason and
// month of issue: issued; of those, returned, voided, outstanding (neither)
// and overdue (outstanding past their validity at now). The counts come
// from report_counts (index.go); only the outstanding issuances are read,
// for overdue.
func (s *Server) IssuanceReport(ctx context.Context, p Period) (Report, error) {
	tx, err := s.db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Report{}, fmt.Errorf("registry: issuance report: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	type key struct{ station, reason, month string }
	overdue := map[key]int{}
	rows, err := tx.QueryContext(ctx, `SELECT station_id, reason, issued_month, count(*) FROM issuances
		WHERE returned_at = '' AND voided_at = '' AND issued_month >= ? AND issued_month <= ? AND valid_until <> '' AND valid_until < ?
		  AND kind = ? AND card_type = 'reserve'
		GROUP BY issued_month, station_id, reason`, p.From, p.To, fmtTime(s.now()), protocol.KindIssuance)
	if err != nil {
		return Report{}, fmt.Errorf("registry: issuance report: %w", err)
	}
	for rows.Next() {
		var k key
		var n int
		if err := rows.Scan(&k.station, &k.reason, &k.month, &n); err != nil {
			rows.Close()
			return Report{}, fmt.Errorf("registry: issuance report: %w", err)
		}
		overdue[k] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Report{}, fmt.Errorf("registry: issuance report: %w", err)
	}
	rows, err = tx.QueryContext(ctx, `SELECT station_id, reason, month, issued, returned, voided FROM report_counts
		WHERE month >= ? AND month <= ? ORDER BY station_id, reason, month`, p.From, p.To)
	if err != nil {
		return Report{}, fmt.Errorf("registry: issuance report: %w", err)
	}
	defer rows.Close()
	r := Report{Name: ReportIssuances, Columns: []string{"Station", "Reason", "Month", "Issued", "Returned", "Voided", "Outstanding", "Overdue"}, ChartOf: "Issued"}
	per := map[string]int{}
	for rows.Next() {
		var k key
		var issued, returned, voided int
		if err := rows.Scan(&k.station, &k.reason, &k.month, &issued, &returned, &voided); err != nil {
			return Report{}, fmt.Errorf("registry: issuance report: %w", err)
		}
		r.Rows = append(r.Rows, []string{k.station, k.reason, k.month, strconv.Itoa(issued), strconv.Itoa(returned), strconv.Itoa(voided),
			strconv.Itoa(issued - returned - voided), strconv.Itoa(overdue[k])})
		per[k.station] += issued
	}
	if err := rows.Err(); err != nil {
		return Report{}, fmt.Errorf("registry: issuance report: %w", err)
	}
	r.Chart = bars(per)
	return r, nil
}

// StockReport is each station's stock as it last reported it (by card
// type and state), with the cards shipped to it.
func (s *Server) StockReport(ctx context.Context) (Report, error) {
	st, err := s.Stations(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("registry: stock report: %w", err)
	}
	shipped := map[string]int{}
	rows, err := s.db.reader.QueryContext(ctx, `SELECT station_id, count(*) FROM shipments WHERE deleted = 0 GROUP BY station_id`)
	if err != nil {
		return Report{}, fmt.Errorf("registry: stock report: %w", err)
	}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return Report{}, fmt.Errorf("registry: stock report: %w", err)
		}
		shipped[id] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Report{}, fmt.Errorf("registry: stock report: %w", err)
	}
	r := Report{Name: ReportStock, Columns: []string{"Station", "Stock", "Cards", "Shipped to the station"}, ChartOf: "Cards in stock"}
	per := map[string]int{}
	for _, info := range st {
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range info.Status.Stock {
				if !yield(k) {
					return
				}
			}
		})
		if len(keys) == 0 {
			r.Rows = append(r.Rows, []string{info.ID, "", "0", strconv.Itoa(shipped[info.ID])})
		}
		for _, k := range keys {
			n := info.Status.Stock[k]
			r.Rows = append(r.Rows, []string{info.ID, k, strconv.Itoa(n), strconv.Itoa(shipped[info.ID])})
			per[info.ID] += n
		}
		if _, ok := per[info.ID]; !ok {
			per[info.ID] = 0
		}
	}
	r.Chart = bars(per)
	return r, nil
}

// DeviationReport counts the deviations (RC-6) detected in the period per
// station, rule and month: all, still not returned, not followed up.
func (s *Server) DeviationReport(ctx context.Context, p Period) (Report, error) {
	devs, err := s.Deviations(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("registry: deviation report: %w", err)
	}
	type key struct{ station, rule, month string }
	counts := map[key]*[3]int{}
	per := map[string]int{}
	for _, d := range devs {
		m := monthOf(d.DetectedAt)
		if m < p.From || m > p.To {
			continue
		}
		k := key{d.Station, d.Rule, m}
		if counts[k] == nil {
			counts[k] = &[3]int{}
		}
		counts[k][0]++
		if d.ReturnedAt.IsZero() {
			counts[k][1]++
		}
		if d.FollowedUpAt.IsZero() {
			counts[k][2]++
		}
		per[d.Station]++
	}
	r := Report{Name: ReportDeviations, Columns: []string{"Station", "Rule", "Month", "Deviations", "Not returned", "Not followed up"}, ChartOf: "Deviations"}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return strings.Compare(a.station+"\x00"+a.rule+"\x00"+a.month, b.station+"\x00"+b.rule+"\x00"+b.month)
	})
	for _, k := range keys {
		c := counts[k]
		r.Rows = append(r.Rows, []string{k.station, k.rule, k.month, strconv.Itoa(c[0]), strconv.Itoa(c[1]), strconv.Itoa(c[2])})
	}
	r.Chart = bars(per)
	return r, nil
}

func bars(per map[string]int) []Bar {
	out := make([]Bar, 0, len(per))
	for k, v := range per {
		out = append(out, Bar{Label: k, Value: v})
	}
	slices.SortFunc(out, func(a, b Bar) int { return strings.Compare(a.Label, b.Label) })
	return out
}

// report builds the named report.
func (s *Server) report(ctx context.Context, name string, p Period) (Report, error) {
	switch name {
	case ReportIssuances:
		return s.IssuanceReport(ctx, p)
	case ReportStock:
		return s.StockReport(ctx)
	case ReportDeviations:
		return s.DeviationReport(ctx, p)
	}
	return Report{}, fmt.Errorf("registry: report %q: %w", name, ErrNotFound)
}

// chartSVG draws a horizontal bar chart: one bar per label, its value at
// its end. Only elements and presentation attributes, no style.
func chartSVG(bs []Bar, title string) template.HTML {
	const rowH, labelW, barW, pad = 24, 160, 400, 8
	top := 1
	for _, b := range bs {
		top = max(top, b.Value)
	}
	h := pad*2 + rowH*max(len(bs), 1)
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="%d" height="%d" viewBox="0 0 %d %d"><title>%s</title>`,
		labelW+barW+80, h, labelW+barW+80, h, template.HTMLEscapeString(title))
	for i, b := range bs {
		y := pad + i*rowH
		w := b.Value * barW / top
		fmt.Fprintf(&sb, `<text x="%d" y="%d" text-anchor="end" font-size="13" fill="#222">%s</text>`, labelW-6, y+16, template.HTMLEscapeString(b.Label))
		fmt.Fprintf(&sb, `<rect class="bar" x="%d" y="%d" width="%d" height="%d" fill="#2b6cb0"><title>%s: %d</title></rect>`, labelW, y+4, w, rowH-8, template.HTMLEscapeString(b.Label), b.Value)
		fmt.Fprintf(&sb, `<text x="%d" y="%d" font-size="13" fill="#222">%d</text>`, labelW+w+6, y+16, b.Value)
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) //nolint:gosec // built above from escaped labels and numbers
}

// reportsPath is the reports page; /admin/reports/{name}.csv the CSV.
const reportsPath = "/admin/reports"

var reportsPage = localized("reports", `<!doctype html>
<html lang="{{Lang}}"><head><meta charset="utf-8"><title>{{T "Kortstation registry"}}: {{T "Reports"}}</title>
<link rel="stylesheet" href="/admin/console.css"></head>
<body><p class="lang">{{if eq Lang "sv"}}<a href="?lang=en" lang="en">English</a>{{else}}<a href="?lang=sv" lang="sv">Svenska</a>{{end}}</p>
<h1>{{T "Reports"}}</h1>
<p><a href="/admin">{{T "Back to the console"}}</a></p>
<form method="get" action="/admin/reports">{{T "Period"}}: <input name="from" type="month" value="{{.Period.From}}" aria-label="{{T "From month"}}"> – <input name="to" type="month" value="{{.Period.To}}" aria-label="{{T "To month"}}"> <button>{{T "Show"}}</button></form>
{{if .Error}}<p class="alarm">{{.Error}}</p>{{end}}
{{range .Reports}}<section class="report" id="report-{{.R.Name}}">
<h2>{{T .R.Name}}</h2>
<p><a class="csv" href="/admin/reports/{{.R.Name}}.csv?from={{$.Period.From}}&amp;to={{$.Period.To}}" download>CSV</a></p>
{{if .R.Rows}}<table class="report-table"><tr>{{range .R.Columns}}<th>{{T .}}</th>{{end}}</tr>
{{range .R.Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</table>
{{.Chart}}{{else}}<p>{{T "None."}}</p>{{end}}
</section>{{end}}
</body></html>`)

type reportView struct {
	R     Report
	Chart template.HTML
}

// reportRoutes adds the reports page and the CSV exports.
func (c *Console) reportRoutes(get func(string, Role, http.HandlerFunc)) {
	get(reportsPath, RoleViewer, c.reportsPage)
	get(reportsPath+"/{file}", RoleViewer, c.reportCSV)
}

func (c *Console) reportsPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lang := principalFrom(ctx).lang
	v := struct {
		Period  Period
		Reports []reportView
		Error   string
	}{}
	p, err := parsePeriod(r.URL.Query().Get("from"), r.URL.Query().Get("to"), c.s.now())
	v.Period = p
	status := http.StatusOK
	if err != nil {
		v.Error, status = tr(lang, "Check the period: months as YYYY-MM, the first not after the last."), http.StatusBadRequest
	} else {
		for _, name := range []string{ReportIssuances, ReportStock, ReportDeviations} {
			rep, err := c.s.report(ctx, name, p)
			if err != nil {
				c.s.log.Error("report", "report", name, "err", err)
				http.Error(w, "could not read the registry", http.StatusInternalServerError)
				return
			}
			v.Reports = append(v.Reports, reportView{R: rep, Chart: chartSVG(rep.Chart, tr(lang, rep.ChartOf))})
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := reportsPage[lang].Execute(w, v); err != nil {
		c.s.log.Error("render reports page", "err", err)
	}
}

// reportCSV is /admin/reports/{name}.csv: the report's table as CSV, the
// column headings in the console's language.
func (c *Console) reportCSV(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lang := principalFrom(ctx).lang
	name, ok := strings.CutSuffix(r.PathValue("file"), ".csv")
	if !ok {
		http.NotFound(w, r)
		return
	}
	p, err := parsePeriod(r.URL.Query().Get("from"), r.URL.Query().Get("to"), c.s.now())
	if err != nil {
		http.Error(w, tr(lang, "Check the period: months as YYYY-MM, the first not after the last."), http.StatusBadRequest)
		return
	}
	rep, err := c.s.report(ctx, name, p)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			http.NotFound(w, r)
			return
		}
		c.s.log.Error("report", "report", name, "err", err)
		http.Error(w, "could not read the registry", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s-%s.csv"`, name, p.From, p.To))
	cw := csv.NewWriter(w)
	head := make([]string, len(rep.Columns))
	for i, k := range rep.Columns {
		head[i] = tr(lang, k)
	}
	_ = cw.Write(head)
	for _, row := range rep.Rows {
		_ = cw.Write(row)
	}
	cw.Flush()
}
