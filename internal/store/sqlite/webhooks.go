package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/internal/query"
)

// recordAttemptSQL appends an attempt with json_insert's '$[#]', in
// place: no read-modify-write.
const recordAttemptSQL = `UPDATE webhook_deliveries SET attempts = json_insert(attempts, '$[#]', json(?)),
	attempt_count = attempt_count + 1, status = ?, updated_at = ? WHERE id = ?`

// RecordDeliveryAttempts runs the attempts' UPDATEs in one transaction on
// the single write connection: one commit for the lot.
func (s *Store) RecordDeliveryAttempts(ctx context.Context, recs []store.AttemptRecord) ([]bool, error) {
	found := make([]bool, len(recs))
	if len(recs) == 0 {
		return found, nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for i, r := range recs {
			one, err := json.Marshal(r.Attempt)
			if err != nil {
				return err
			}
			n, err := conn{tx}.Exec(ctx, recordAttemptSQL, string(one), r.Status, query.Ms(r.Attempt.At), r.DeliveryID)
			if err != nil {
				return interpretError(err)
			}
			found[i] = n > 0
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}
