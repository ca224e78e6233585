package store_test

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/renderhook/renderhook/internal/store/postgres"
	"github.com/renderhook/renderhook/internal/store/postgres/pgtest"
	"github.com/renderhook/renderhook/internal/store/sqlite"
	"github.com/renderhook/renderhook/internal/store/sqlite/sqlitetest"
)

// schemaAllowed lists the differences between the two dialects' migrated
// schemas that are meant, each with its reason. Keys are the lines
// schemaDiff prints. Anything else is a drift between the migrations.
var schemaAllowed = map[string]string{
	// 008 declared it INTEGER on SQLite, BIGINT on PostgreSQL. SQLite's
	// INTEGER is 64-bit like BIGINT, so both hold the same values; a
	// column type is not changed in place on SQLite (a table rebuild).
	"column rate_limits.updated_at: sqlite INTEGER NOT NULL, postgres BIGINT NOT NULL": "SQLite's INTEGER is 64-bit: the same values as BIGINT",
}

// TestSchemasMatch migrates a SQLite and a PostgreSQL store and compares
// what the migrations made: tables, their columns (name, type,
// nullability, default), indexes (name, uniqueness, columns and their
// order, the predicate of a partial one), primary keys, UNIQUE constraints
// and foreign keys (columns, target, ON DELETE). Every difference must be
// in schemaAllowed.
func TestSchemasMatch(t *testing.T) {
	ctx := context.Background()
	lite := sqlitetest.Open(t)
	pg, err := postgres.Open(ctx, postgres.Config{URL: pgtest.URL(t), MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	for _, m := range []interface{ Migrate(context.Context) error }{lite, pg} {
		if err := m.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	a, err := sqliteSchema(ctx, lite)
	if err != nil {
		t.Fatal(err)
	}
	b, err := postgresSchema(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"table ", "column ", "index ", "primary key ", "unique ", "foreign key "} {
		if na, nb := a.count(kind), b.count(kind); na == 0 || nb == 0 {
			t.Fatalf("introspection found %d and %d items of kind %q: want the whole schema", na, nb, kind)
		}
	}
	seen := map[string]bool{}
	for _, d := range schemaDiff(a, b) {
		if _, ok := schemaAllowed[d]; ok {
			seen[d] = true
			continue
		}
		t.Errorf("schemas differ: %s", d)
	}
	for d := range schemaAllowed {
		if !seen[d] {
			t.Errorf("allowed difference no longer found (drop it from schemaAllowed): %s", d)
		}
	}
}

// schema maps "table t", "column t.c" and "index t.i" to a description.
type schema map[string]string

// count counts the keys that start with prefix.
func (s schema) count(prefix string) int {
	n := 0
	for k := range s {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// schemaDiff lists the keys whose descriptions differ, sorted.
func schemaDiff(lite, pg schema) []string {
	var out []string
	for k, v := range lite {
		if w, ok := pg[k]; !ok {
			out = append(out, fmt.Sprintf("%s: sqlite %s, postgres none", k, v))
		} else if v != w {
			out = append(out, fmt.Sprintf("%s: sqlite %s, postgres %s", k, v, w))
		}
	}
	for k, w := range pg {
		if _, ok := lite[k]; !ok {
			out = append(out, fmt.Sprintf("%s: sqlite none, postgres %s", k, w))
		}
	}
	slices.Sort(out)
	return out
}

// pgTypes spells PostgreSQL's types as the SQLite migrations declare them.
var pgTypes = map[string]string{"bytea": "BLOB", "double precision": "REAL"}

// castRE matches PostgreSQL's casts in defaults ('[]'::text).
var castRE = regexp.MustCompile(`::[a-z ]+`)

func column(typ string, notNull bool, dflt *string) string {
	s := strings.ToUpper(typ)
	if notNull {
		s += " NOT NULL"
	}
	if dflt != nil {
		s += " DEFAULT " + strings.ToLower(castRE.ReplaceAllString(*dflt, ""))
	}
	return s
}

// predicateRE matches what PostgreSQL adds to a partial index's
// predicate as it prints it back: casts and parentheses.
var predicateRE = regexp.MustCompile(`::[a-z ]+|[()]`)

func index(unique bool, where string, cols []string) string {
	s := "(" + strings.Join(cols, ", ") + ")"
	if unique {
		s = "UNIQUE " + s
	}
	if where != "" {
		s += " WHERE " + strings.Join(strings.Fields(strings.ToLower(predicateRE.ReplaceAllString(where, " "))), " ")
	}
	return s
}

func sqliteSchema(ctx context.Context, st *sqlite.Store) (schema, error) {
	db := st.DB()
	out := schema{}
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	tables, err := collect(rows, func(rows *sql.Rows) (n string, err error) {
		return n, rows.Scan(&n)
	})
	if err != nil {
		return nil, err
	}
	for _, tb := range tables {
		out["table "+tb] = "present"
		if err := sqliteColumns(ctx, st, tb, out); err != nil {
			return nil, err
		}
		if err := sqliteIndexes(ctx, st, tb, out); err != nil {
			return nil, err
		}
		if err := sqliteKeys(ctx, st, tb, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func sqliteColumns(ctx context.Context, st *sqlite.Store, table string, out schema) error {
	rows, err := st.DB().QueryContext(ctx, `SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)`, table)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name, typ string
		var notNull, pk int
		var dflt *string
		if err := rows.Scan(&name, &typ, &notNull, &dflt, &pk); err != nil {
			return err
		}
		// A PRIMARY KEY is NOT NULL on PostgreSQL; SQLite (for a legacy
		// bug) lets it be NULL unless it says so. The stores never write one.
		out["column "+table+"."+name] = column(typ, notNull == 1 || pk > 0, dflt)
	}
	return rows.Err()
}

func sqliteIndexes(ctx context.Context, st *sqlite.Store, table string, out schema) error {
	type idx struct {
		name, sql string
		unique    bool
	}
	rows, err := st.DB().QueryContext(ctx, `SELECT l.name, l."unique", m.sql FROM pragma_index_list(?) l
		JOIN sqlite_master m ON m.type = 'index' AND m.name = l.name WHERE l.origin = 'c'`, table)
	if err != nil {
		return err
	}
	list, err := collect(rows, func(rows *sql.Rows) (i idx, err error) {
		return i, rows.Scan(&i.name, &i.unique, &i.sql)
	})
	if err != nil {
		return err
	}
	for _, i := range list {
		cols, err := sqliteIndexColumns(ctx, st, i.name)
		if err != nil {
			return err
		}
		where := ""
		if _, w, ok := strings.Cut(i.sql, " WHERE "); ok {
			where = w
		}
		out["index "+table+"."+i.name] = index(i.unique, where, cols)
	}
	return nil
}

// sqliteKeys records the table's primary key (its rowid alias included,
// which has no index), UNIQUE constraints and foreign keys.
func sqliteKeys(ctx context.Context, st *sqlite.Store, table string, out schema) error {
	db := st.DB()
	var pk string
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(group_concat(name, ', '), '') FROM
		(SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk)`, table).Scan(&pk); err != nil {
		return err
	}
	if pk != "" {
		out["primary key "+table] = "(" + pk + ")"
	}
	rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_index_list(?) WHERE origin = 'u'`, table)
	if err != nil {
		return err
	}
	uniques, err := collect(rows, func(rows *sql.Rows) (n string, err error) {
		return n, rows.Scan(&n)
	})
	if err != nil {
		return err
	}
	for _, n := range uniques {
		cols, err := sqliteIndexColumns(ctx, st, n)
		if err != nil {
			return err
		}
		out["unique "+table+"("+strings.Join(cols, ", ")+")"] = "present"
	}
	rows, err = db.QueryContext(ctx, `SELECT "from", "table", "to", on_delete FROM pragma_foreign_key_list(?)`, table)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var from, target, to, onDelete string
		if err := rows.Scan(&from, &target, &to, &onDelete); err != nil {
			return err
		}
		out["foreign key "+table+"."+from] = fmt.Sprintf("REFERENCES %s(%s) ON DELETE %s", target, to, onDelete)
	}
	return rows.Err()
}

func sqliteIndexColumns(ctx context.Context, st *sqlite.Store, name string) ([]string, error) {
	rows, err := st.DB().QueryContext(ctx, `SELECT name, "desc" FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		var desc bool
		if err := rows.Scan(&c, &desc); err != nil {
			return nil, err
		}
		if desc {
			c += " DESC"
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

func postgresSchema(ctx context.Context, st *postgres.Store) (schema, error) {
	out := schema{}
	rows, err := st.Pool().Query(ctx, `SELECT c.table_name, c.column_name, c.data_type, c.is_nullable = 'NO', c.column_default
		FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var table, name, typ string
		var notNull bool
		var dflt *string
		if err := rows.Scan(&table, &name, &typ, &notNull, &dflt); err != nil {
			rows.Close()
			return nil, err
		}
		out["table "+table] = "present"
		out["column "+table+"."+name] = column(cmp.Or(pgTypes[typ], typ), notNull, dflt)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := postgresKeys(ctx, st, out); err != nil {
		return nil, err
	}
	// Indexes made by CREATE INDEX, not those backing a constraint (a
	// primary key, UNIQUE), which SQLite keeps as automatic indexes.
	rows, err = st.Pool().Query(ctx, `SELECT t.relname, i.relname, x.indisunique, COALESCE(pg_get_expr(x.indpred, x.indrelid, true), ''),
			ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true) || CASE WHEN x.indoption[k-1] & 1 = 1 THEN ' DESC' ELSE '' END
				FROM generate_series(1, x.indnkeyatts) AS k ORDER BY k)
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
		WHERE t.relnamespace = current_schema()::regnamespace
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var table, name string
		var unique bool
		var where string
		var cols []string
		if err := rows.Scan(&table, &name, &unique, &where, &cols); err != nil {
			return nil, err
		}
		out["index "+table+"."+name] = index(unique, where, cols)
	}
	return out, rows.Err()
}

// pgDeleteActions spells pg_constraint.confdeltype as SQLite's
// pragma_foreign_key_list does.
var pgDeleteActions = map[string]string{"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}

// postgresKeys records the primary keys, UNIQUE constraints and foreign
// keys of the schema's tables.
func postgresKeys(ctx context.Context, st *postgres.Store, out schema) error {
	cols := func(rel, keys string) string {
		return `ARRAY(SELECT a.attname::text FROM unnest(` + keys + `) WITH ORDINALITY k(n, i)
			JOIN pg_attribute a ON a.attrelid = ` + rel + ` AND a.attnum = k.n ORDER BY k.i)`
	}
	rows, err := st.Pool().Query(ctx, `SELECT c.conrelid::regclass::text, c.contype::text,
			CASE WHEN c.contype = 'f' THEN c.confrelid::regclass::text ELSE '' END, c.confdeltype::text,
			`+cols("c.conrelid", "c.conkey")+`, `+cols("c.confrelid", "c.confkey")+`
		FROM pg_constraint c WHERE c.connamespace = current_schema()::regnamespace AND c.contype IN ('p', 'u', 'f')`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var table, typ, target, onDelete string
		var from, to []string
		if err := rows.Scan(&table, &typ, &target, &onDelete, &from, &to); err != nil {
			return err
		}
		switch typ {
		case "p":
			out["primary key "+table] = "(" + strings.Join(from, ", ") + ")"
		case "u":
			out["unique "+table+"("+strings.Join(from, ", ")+")"] = "present"
		case "f":
			out["foreign key "+table+"."+strings.Join(from, ", ")] = fmt.Sprintf("REFERENCES %s(%s) ON DELETE %s",
				target, strings.Join(to, ", "), pgDeleteActions[onDelete])
		}
	}
	return rows.Err()
}

// collect reads every row of rows with scan, and closes rows before it
// returns (SQLite's statements that follow may need the connection).
func collect[T any](rows *sql.Rows, scan func(*sql.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
