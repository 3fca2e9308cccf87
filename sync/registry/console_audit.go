package registry

// The admin audit trail's export (issue 12, item 3): the security officer
// downloads the whole trail, oldest first, as CSV or JSON, with every
// entry's hashes, so it can be verified elsewhere (kiosk/audit's
// Verifier). The export itself is audited first.

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
)

// auditExport serves GET /admin/audit/export?format=csv|json.
func (c *Console) auditExport(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "json" {
		http.Error(w, "format must be csv or json", http.StatusBadRequest)
		return
	}
	if !c.auditView(w, r, "audit.export", "admin audit trail", "the whole trail as "+format) {
		return
	}
	res, verr := c.s.VerifyAdminAudit(ctx)
	rows, err := c.s.db.reader.QueryContext(ctx, `SELECT seq, at, clock_source, kind, actor, subject, detail, prev_hash, hash FROM admin_audit ORDER BY seq`)
	if err != nil {
		c.s.log.Error("audit export", "err", err)
		http.Error(w, "could not read the audit trail", http.StatusInternalServerError)
		return
	}
	defer rows.Close()
	name := "kortstation-admin-audit-" + c.s.now().UTC().Format("20060102T150405Z") + "." + format
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("X-Audit-Verified", strconv.FormatBool(verr == nil))
	w.Header().Set("X-Audit-Head", res.Head)
	var write func(audit.Record, string) error
	var end func() error
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"seq", "at", "clock_source", "kind", "actor", "subject", "detail", "prev_hash", "hash"})
		write = func(rec audit.Record, at string) error {
			return cw.Write([]string{strconv.FormatInt(rec.Seq, 10), at, rec.ClockSource, rec.Kind, rec.Actor, rec.Subject, rec.Detail, rec.PrevHash, rec.Hash})
		}
		end = func() error { cw.Flush(); return cw.Error() }
	} else {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		n := 0
		_, _ = fmt.Fprint(w, `{"entries":[`)
		write = func(rec audit.Record, at string) error {
			if n > 0 {
				_, _ = fmt.Fprint(w, ",")
			}
			n++
			return enc.Encode(map[string]any{"seq": rec.Seq, "at": at, "clock_source": rec.ClockSource, "kind": rec.Kind, "actor": rec.Actor,
				"subject": rec.Subject, "detail": rec.Detail, "prev_hash": rec.PrevHash, "hash": rec.Hash})
		}
		end = func() error {
			b, _ := json.Marshal(map[string]any{"verified": verr == nil, "head": res.Head, "exported_at": c.s.now().UTC().Format(time.RFC3339)})
			_, err := fmt.Fprintf(w, `],"trail":%s}`+"\n", b)
			return err
		}
	}
	for rows.Next() {
		rec, at, err := scanAuditRecord(rows)
		if err == nil {
			err = write(rec, at)
		}
		if err != nil {
			c.s.log.Error("audit export", "err", err)
			return
		}
	}
	if err := rows.Err(); err != nil {
		c.s.log.Error("audit export", "err", err)
		return
	}
	if err := end(); err != nil {
		c.s.log.Error("audit export", "err", err)
	}
}
