package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules"
)

// personID returns the recipient's row, creating it, and keeps the name
// up to date. A person is known by personal number, or without one by
// HSA-ID (ID-4).
func (t *Tx) personID(ctx context.Context, r rules.Recipient, now time.Time) (int64, error) {
	col, key := "personal_number", ""
	if r.PersonalNumber.IsZero() {
		if r.HSAID.IsZero() {
			return 0, errors.New("person has neither a personal number nor an HSA-ID")
		}
		col, key = "hsa_id", r.HSAID.String()
	} else {
		key = Canonical(r.PersonalNumber)
	}
	var id int64
	err := t.tx.QueryRowContext(ctx, `SELECT id FROM persons WHERE `+col+` = ?`, key).Scan(&id)
	if err == nil {
		if _, err := t.tx.ExecContext(ctx, `UPDATE persons SET name = ? WHERE id = ?`, r.Name, id); err != nil {
			return 0, fmt.Errorf("update person: %w", err)
		}
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("find person: %w", err)
	}
	var res sql.Result
	if col == "hsa_id" {
		res, err = t.tx.ExecContext(ctx, `INSERT INTO persons (personal_number, hsa_id, name, created_at) VALUES (NULL, ?, ?, ?)`, key, r.Name, ts(now))
	} else {
		res, err = t.tx.ExecContext(ctx, `INSERT INTO persons (personal_number, name, created_at) VALUES (?, ?, ?)`, key, r.Name, ts(now))
	}
	if err != nil {
		return 0, fmt.Errorf("insert person: %w", err)
	}
	return res.LastInsertId()
}
