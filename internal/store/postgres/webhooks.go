package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/internal/query"
)

// recordAttemptsSQL appends attempts, passed as parallel arrays, to their
// deliveries' JSON arrays in place (no read-modify-write), like SQLite's
// json_insert(attempts, '$[#]', …): the array is TEXT written by
// json.Marshal, so it is compact and ends with ']'. A row joined to two
// attempts would be updated once only (PostgreSQL applies one of an
// UPDATE … FROM's matches), so each statement gets distinct ids.
const recordAttemptsSQL = `UPDATE webhook_deliveries d SET
	attempts = CASE WHEN d.attempts = '[]' THEN '[' || v.one || ']' ELSE left(d.attempts, -1) || ',' || v.one || ']' END,
	attempt_count = d.attempt_count + 1, status = v.status, updated_at = v.at
	FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS v(id, one, status, at)
	WHERE d.id = v.id
	RETURNING d.id`

func (s *Store) RecordDeliveryAttempts(ctx context.Context, recs []store.AttemptRecord) ([]bool, error) {
	// json.Marshal escapes NUL and replaces invalid UTF-8, so an
	// attempt's text is storable as it is.
	ones := make([]string, len(recs))
	for i, r := range recs {
		one, err := json.Marshal(r.Attempt)
		if err != nil {
			return nil, err
		}
		ones[i] = string(one)
	}
	// Rounds of distinct ids, in order: a delivery's second attempt in
	// the batch goes into the round after its first.
	var rounds [][]int
	round := map[string]int{} // delivery id -> the next round it may join
	for i, r := range recs {
		k := round[r.DeliveryID]
		if k == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[k] = append(rounds[k], i)
		round[r.DeliveryID] = k + 1
	}
	found := make([]bool, len(recs))
	run := func(q querier) error {
		for _, idx := range rounds {
			ids, one, status, at := make([]string, len(idx)), make([]string, len(idx)), make([]string, len(idx)), make([]int64, len(idx))
			for j, i := range idx {
				ids[j], one[j], status[j], at[j] = recs[i].DeliveryID, ones[i], recs[i].Status, query.Ms(recs[i].Attempt.At)
			}
			rows, err := q.Query(ctx, recordAttemptsSQL, ids, one, status, at)
			if err != nil {
				return interpretError(err)
			}
			updated := make(map[string]bool, len(idx))
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return interpretError(err)
				}
				updated[id] = true
			}
			if err := rows.Err(); err != nil {
				return interpretError(err)
			}
			for _, i := range idx {
				found[i] = updated[recs[i].DeliveryID]
			}
		}
		return nil
	}
	var err error
	switch len(rounds) {
	case 0:
	case 1:
		err = run(s.pool) // one statement: atomic on its own
	default:
		err = s.inTx(ctx, func(tx pgx.Tx) error { return run(tx) })
	}
	if err != nil {
		return nil, err
	}
	return found, nil
}
