package registry

// Search at the console (issue 14, item 7): a case officer finds a
// person's issuances and cards by personal number, name, HSA-ID (the
// recipient's, the operator's or an attestor's), card serial or station.
//
// Who may search: case officers (and the development console). Viewers
// may not: a search reveals personal numbers and names, which the
// console's overview never shows; a viewer's search is refused and
// audited like any other forbidden action.
//
// The search term never reaches a URL or a log: the form is a POST (with
// the session's CSRF token) answered with the result page itself, no
// redirect. Every search is recorded in the admin audit trail — who,
// by what, how many results — with the term only as a keyed hash:
// HMAC-SHA256 under a random key kept in the registry's database (meta
// search_audit_key), over "by:normalised term". A plain hash of a
// personal number could be reversed by trying all of them; the keyed
// hash cannot without the database, and an investigator who has it can
// still answer "was this person searched for, by whom, when?" by
// computing the hash of that person's number (SearchTermHash).

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Search fields.
const (
	SearchPersonalNumber = "personal_number"
	SearchName           = "name"
	SearchHSAID          = "hsa_id"
	SearchSerial         = "serial"
	SearchStation        = "station"
)

// SearchLimit is the most issuances one search returns.
const SearchLimit = 200

// SearchHit is one issuance found, with the card's state now.
type SearchHit struct {
	IssuanceID, Station, Kind, CardSerial, CardType, Reason string
	PersonalNumber, Name, RecipientHSAID, Operator          string
	ValidFrom, ValidUntil, IssuedAt, ReturnedAt, VoidedAt   string
	Decision, DecisionReason, CardState, ReceiptID          string
}

// SearchResult is a search's hits; Truncated when there were more than
// SearchLimit.
type SearchResult struct {
	Hits      []SearchHit
	Truncated bool
	// Facts are the registry's facts about the person searched for by
	// personal number (their regular cards, orders and reserve cards at
	// every station), nil otherwise or when it has none.
	Facts *protocol.PersonFactsDoc
}

// normaliseTerm checks and normalises a search term for its field.
func normaliseTerm(by, term string, now time.Time) (string, error) {
	term = strings.TrimSpace(term)
	if term == "" {
		return "", fmt.Errorf("%w: an empty search", ErrInvalid)
	}
	switch by {
	case SearchPersonalNumber:
		p, err := ident.ParsePersonalNumberAt(term, now)
		if err != nil {
			return "", fmt.Errorf("%w: not a personal or coordination number", ErrInvalid)
		}
		return digitsOnly(p.String()), nil
	case SearchName:
		k := nameKey(term)
		if len([]rune(k)) < 2 {
			return "", fmt.Errorf("%w: type at least two letters of the name", ErrInvalid)
		}
		return k, nil
	case SearchHSAID:
		h, err := ident.ParseHSAID(term)
		if err != nil {
			return "", fmt.Errorf("%w: not an HSA-ID", ErrInvalid)
		}
		return h.String(), nil
	case SearchSerial, SearchStation:
		return term, nil
	}
	return "", fmt.Errorf("%w: search by %q", ErrInvalid, by)
}

func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// searchCols are a hit's columns; the query names issuances i,
// receipt_index ri (the latest receipt of the issuance) and card_status c.
const searchCols = `i.id, i.station_id, i.kind, i.card_serial, i.card_type, i.reason, i.personal_number,
	coalesce(ri.recipient_name, ''), coalesce(ri.recipient_hsa_id, ''), i.operator, i.valid_from, i.valid_until, i.issued_at,
	i.returned_at, i.voided_at, i.decision, i.decision_reason, coalesce(c.state, ''), coalesce(ri.receipt_id, '')`

const searchJoins = ` LEFT JOIN receipt_index ri ON ri.receipt_id = (SELECT r2.receipt_id FROM receipt_index r2 WHERE r2.issuance_id = i.id ORDER BY r2.seq DESC LIMIT 1)
	LEFT JOIN card_status c ON c.serial = i.card_serial`

// Search finds issuances by one field. term is normalised first (a
// personal number in any of its written forms, a name from any word on,
// case and spacing ignored). Hits come newest first; by name, in the
// order of the names found (then newest first). Each query reads at most
// SearchLimit+1 rows in index order, so a search costs the same over a
// million issuances as over a thousand.
func (s *Server) Search(ctx context.Context, by, term string) (SearchResult, error) {
	key, err := normaliseTerm(by, term, s.now())
	if err != nil {
		return SearchResult{}, err
	}
	limit := fmt.Sprintf(` LIMIT %d`, SearchLimit+1)
	newest := ` ORDER BY i.issued_at DESC` + limit
	var queries []string
	var args [][]any
	add := func(q string, a ...any) { queries, args = append(queries, q), append(args, a) }
	from := `SELECT ` + searchCols + ` FROM issuances i` + searchJoins
	switch by {
	case SearchPersonalNumber:
		add(from+` WHERE i.personal_number = ?`+newest, key)
	case SearchName:
		add(`SELECT `+searchCols+` FROM receipt_names n JOIN receipt_index r0 ON r0.receipt_id = n.receipt_id JOIN issuances i ON i.id = r0.issuance_id`+searchJoins+
			` WHERE n.name_key >= ? AND n.name_key < ? ORDER BY n.name_key`+limit, key, key+"\U0010FFFF")
	case SearchHSAID:
		add(from+` WHERE i.operator = ?`+newest, key)
		add(from+` WHERE i.id IN (SELECT issuance_id FROM issuance_attestors WHERE hsa_id = ?)`+newest, key)
		add(from+` WHERE i.id IN (SELECT issuance_id FROM receipt_index WHERE recipient_hsa_id = ? AND recipient_hsa_id <> '')`+newest, key)
	case SearchSerial:
		add(from+` WHERE i.card_serial = ?`+newest, key)
	case SearchStation:
		add(from+` WHERE i.station_id = ?`+newest, key)
	}
	var out SearchResult
	seen := map[string]bool{}
	for n, q := range queries {
		hits, err := s.searchQuery(ctx, q, args[n]...)
		if err != nil {
			return SearchResult{}, err
		}
		for _, h := range hits {
			if !seen[h.IssuanceID] {
				seen[h.IssuanceID] = true
				out.Hits = append(out.Hits, h)
			}
		}
	}
	if by == SearchPersonalNumber {
		var raw string
		err := s.db.reader.QueryRowContext(ctx, `SELECT facts FROM person_facts WHERE personal_number = ? AND deleted = 0`, key).Scan(&raw)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return SearchResult{}, fmt.Errorf("registry: search: %w", err)
		}
		var f protocol.PersonFactsDoc
		if raw != "" && json.Unmarshal([]byte(raw), &f) == nil && (len(f.RegularCards)+len(f.Orders)+len(f.ReserveCards) > 0) {
			out.Facts = &f
		}
	}
	slices.SortStableFunc(out.Hits, func(a, b SearchHit) int {
		if by == SearchName {
			if c := strings.Compare(nameKey(a.Name), nameKey(b.Name)); c != 0 {
				return c
			}
		}
		return strings.Compare(b.IssuedAt, a.IssuedAt)
	})
	if len(out.Hits) > SearchLimit {
		out.Hits, out.Truncated = out.Hits[:SearchLimit], true
	}
	return out, nil
}

func (s *Server) searchQuery(ctx context.Context, q string, args ...any) ([]SearchHit, error) {
	rows, err := s.db.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("registry: search: %w", err)
	}
	defer rows.Close()
	var out []SearchHit
	for rows.Next() {
		var h SearchHit
		if err := rows.Scan(&h.IssuanceID, &h.Station, &h.Kind, &h.CardSerial, &h.CardType, &h.Reason, &h.PersonalNumber,
			&h.Name, &h.RecipientHSAID, &h.Operator, &h.ValidFrom, &h.ValidUntil, &h.IssuedAt,
			&h.ReturnedAt, &h.VoidedAt, &h.Decision, &h.DecisionReason, &h.CardState, &h.ReceiptID); err != nil {
			return nil, fmt.Errorf("registry: search: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: search: %w", err)
	}
	return out, nil
}

// searchKeyName is the meta key of the search audit's HMAC key.
const searchKeyName = "search_audit_key"

// SearchTermHash is the audit trail's form of a search term: hex
// HMAC-SHA256, under the registry's search audit key, of "by:term" with
// term normalised as Search does. An invalid term hashes as typed.
func (s *Server) SearchTermHash(ctx context.Context, by, term string) (string, error) {
	key, err := s.searchAuditKey(ctx)
	if err != nil {
		return "", err
	}
	if n, err := normaliseTerm(by, term, s.now()); err == nil {
		term = n
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(by + ":" + term))
	return hex.EncodeToString(m.Sum(nil)), nil
}

func (s *Server) searchAuditKey(ctx context.Context) ([]byte, error) {
	var v string
	err := s.db.reader.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, searchKeyName).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("registry: search audit key: %w", err)
		}
		if err := s.db.write(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING`, searchKeyName, hex.EncodeToString(b))
			return err
		}); err != nil {
			return nil, fmt.Errorf("registry: search audit key: %w", err)
		}
		err = s.db.reader.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, searchKeyName).Scan(&v)
	}
	if err != nil {
		return nil, fmt.Errorf("registry: search audit key: %w", err)
	}
	return hex.DecodeString(v)
}

// searchPath is the search page.
const searchPath = "/admin/search"

var searchPage = localized("search", `<!doctype html>
<html lang="{{Lang}}"><head><meta charset="utf-8"><title>{{T "Kortstation registry"}}: {{T "Search"}}</title>
<link rel="stylesheet" href="/admin/console.css"></head>
<body><p class="lang">{{if eq Lang "sv"}}<a href="?lang=en" lang="en">English</a>{{else}}<a href="?lang=sv" lang="sv">Svenska</a>{{end}}</p>
<h1>{{T "Search for a person or a card"}}</h1>
<p><a href="/admin">{{T "Back to the console"}}</a></p>
<p>{{T "Every search is recorded in the audit trail."}}</p>
<form method="post" action="/admin/search"><input type="hidden" name="csrf" value="{{.CSRF}}">
<select name="by" aria-label="{{T "Search by"}}">{{range .Fields}}<option value="{{.}}"{{if eq . $.By}} selected{{end}}>{{T .}}</option>{{end}}</select>
<input name="q" required aria-label="{{T "Search term"}}" autocomplete="off"> <button>{{T "Search"}}</button></form>
{{if .Error}}<p class="alarm">{{.Error}}</p>{{end}}
{{if .Searched}}<h2>{{T "Results"}}: <span class="count">{{len .Result.Hits}}</span>{{if .Result.Truncated}} ({{T "more than shown: narrow the search"}}){{end}}</h2>
{{with .Result.Facts}}<h3>{{T "The registry's facts about the person"}}</h3><table class="facts"><tr><th>{{T "Card"}}</th><th>{{T "Kind"}}</th><th>{{T "Card state"}}</th><th>{{T "Station"}}</th></tr>
{{range .RegularCards}}<tr class="fact"><td>{{.Serial}}</td><td>{{T "regular card"}}{{if .Type}} ({{.Type}}){{end}}</td><td>{{.State}}</td><td></td></tr>{{end}}
{{range .ReserveCards}}<tr class="fact"><td>{{.Serial}}</td><td>{{T "reserve card"}} ({{.Reason}})</td><td>{{.State}} {{T "valid until"}} {{day .ValidUntil}}</td><td>{{.Station}}</td></tr>{{end}}
{{range .Orders}}<tr class="fact"><td>{{.CardSerial}}</td><td>{{T "order"}} {{.ID}} ({{.Type}})</td><td>{{.Status}} {{.Ordered}}</td><td>{{.Station}}</td></tr>{{end}}
</table>{{end}}
{{if .Result.Hits}}<table class="results"><tr><th>{{T "Personal number"}}</th><th>{{T "Name"}}</th><th>{{T "Card"}}</th><th>{{T "Card state"}}</th><th>{{T "Kind"}}</th><th>{{T "Reason"}}</th><th>{{T "Valid"}}</th><th>{{T "Issued"}}</th><th>{{T "Station"}}</th><th>{{T "Operator"}}</th><th>{{T "Decision"}}</th><th>{{T "Returned"}}</th><th>{{T "Evidence"}}</th></tr>
{{range .Result.Hits}}<tr class="hit"><td>{{pnr .PersonalNumber}}{{if .RecipientHSAID}} {{.RecipientHSAID}}{{end}}</td><td>{{.Name}}</td><td>{{.CardSerial}}</td><td>{{if .CardState}}{{T .CardState}}{{end}}</td><td>{{T .Kind}}</td><td>{{.Reason}}</td><td>{{day .ValidFrom}} – {{day .ValidUntil}}</td><td>{{when .IssuedAt}}</td><td>{{.Station}}</td><td>{{.Operator}}</td><td>{{T .Decision}}{{if .DecisionReason}}: {{.DecisionReason}}{{end}}</td><td>{{if .ReturnedAt}}{{when .ReturnedAt}}{{else if .VoidedAt}}{{T "voided"}} {{when .VoidedAt}}{{end}}</td><td><a href="/admin/issuance/{{.IssuanceID}}">{{T "Evidence"}}</a></td></tr>{{end}}
</table>{{end}}{{end}}
</body></html>`)

var searchFields = []string{SearchPersonalNumber, SearchName, SearchHSAID, SearchSerial, SearchStation}

type searchView struct {
	CSRF, By, Error string
	Fields          []string
	Searched        bool
	Result          SearchResult
}

// searchRoutes adds the search page and its POST to the console's mux.
func (c *Console) searchRoutes(mux *http.ServeMux, get func(string, Role, http.HandlerFunc)) {
	get(searchPath, RoleCaseOfficer, func(w http.ResponseWriter, r *http.Request) {
		c.renderSearch(w, r, http.StatusOK, searchView{By: SearchPersonalNumber})
	})
	mux.HandleFunc("POST "+searchPath, c.search)
}

// search runs a search for a case officer: refused (and audited) for any
// other role; audited with the number of results and the term's keyed
// hash before the results are shown; an audit that cannot be written
// shows nothing.
func (c *Console) search(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := principalFrom(ctx)
	by, term := r.PostFormValue("by"), r.PostFormValue("q")
	hash, herr := c.s.SearchTermHash(ctx, by, term)
	if herr != nil {
		c.s.log.Error("search audit key", "err", herr)
		http.Error(w, "could not record the search", http.StatusInternalServerError)
		return
	}
	detail := map[string]any{"by": by, "term_hmac": hash}
	if !p.can(RoleCaseOfficer) {
		c.refuse(w, r, p.actor, "search.personal_data", "search", "role "+string(RoleCaseOfficer)+" required", detail)
		return
	}
	res, err := c.s.Search(ctx, by, term)
	detail["from"] = r.RemoteAddr
	status := http.StatusOK
	switch {
	case errors.Is(err, ErrInvalid):
		detail["outcome"], status = "invalid", http.StatusBadRequest
	case err != nil:
		detail["outcome"], status = "failed", http.StatusInternalServerError
	default:
		detail["outcome"], detail["results"], detail["truncated"] = "ok", len(res.Hits), res.Truncated
	}
	if aerr := c.s.AppendAdminAudit(ctx, audit.Entry{Kind: "search.personal_data", Actor: p.actor, Subject: "search", Detail: detail}); aerr != nil {
		c.s.log.Error("console audit", "err", aerr)
		http.Error(w, "could not record the search", http.StatusInternalServerError)
		return
	}
	v := searchView{By: by, Searched: err == nil, Result: res}
	if err != nil {
		c.s.log.Error("search", "err", err) // the error names no term
		v.Error = searchErrorText(p.lang, err)
	}
	c.renderSearch(w, r, status, v)
}

func searchErrorText(lang string, err error) string {
	if errors.Is(err, ErrInvalid) {
		return tr(lang, "Check the search term: a personal number as YYYYMMDD-NNNN, at least two letters of a name, an HSA-ID, a card serial or a station ID.")
	}
	return errorText(lang, err)
}

func (c *Console) renderSearch(w http.ResponseWriter, r *http.Request, status int, v searchView) {
	p := principalFrom(r.Context())
	v.CSRF, v.Fields = p.sess.csrf, searchFields
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := searchPage[p.lang].Execute(w, v); err != nil {
		c.s.log.Error("render search page", "err", err)
	}
}

// pnrText shows a stored personal number (12 digits) as YYYYMMDD-NNNN.
func pnrText(s string) string {
	if len(s) == 12 {
		return s[:8] + "-" + s[8:]
	}
	return s
}

// dayText shows a stored time as its Europe/Stockholm date.
func dayText(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.In(calendar.Stockholm()).Format("2006-01-02")
}

// whenText shows a stored time in Europe/Stockholm to the minute.
func whenText(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.In(calendar.Stockholm()).Format("2006-01-02 15:04")
}
