package postgres_test

import (
	"context"
	"testing"

	"github.com/ora2gcs/ora2gcs/sources/postgres"
)

// TestResolveFoldsLikePostgres: PostgreSQL folds an unquoted identifier by
// lower-casing ASCII letters only (downcase_identifier), so `ÄPFEL` names the
// table "Äpfel", not "äpfel". Describe must pick the table PostgreSQL itself
// resolves (to_regclass applies the server's rules), never another table of
// a similar spelling.
func TestResolveFoldsLikePostgres(t *testing.T) {
	db := admin(t)
	exec(t, db, `DROP SCHEMA IF EXISTS hr_fold CASCADE`)
	exec(t, db, `CREATE SCHEMA hr_fold`)
	t.Cleanup(func() { exec(t, db, `DROP SCHEMA IF EXISTS hr_fold CASCADE`) })
	exec(t, db, `CREATE TABLE hr_fold.ÄPFEL (a int)`) // stored as "Äpfel"
	exec(t, db, `CREATE TABLE hr_fold."äpfel" (b int)`)
	exec(t, db, `CREATE TABLE hr_fold.ÉTÉ_Été (c int)`) // stored as "ÉTÉ_été"
	exec(t, db, `CREATE TABLE hr_fold."été_été" (d int)`)
	c := open(t, postgres.Options{})
	for _, in := range []string{`hr_fold.ÄPFEL`, `hr_fold.Äpfel`, `hr_fold.äpfel`, `hr_fold.ÉTÉ_Été`, `hr_fold.été_été`} {
		t.Run(in, func(t *testing.T) {
			var schema, name string
			if err := db.QueryRow(`SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
				WHERE c.oid = to_regclass($1)`, in).Scan(&schema, &name); err != nil {
				t.Fatalf("PostgreSQL resolves %s: %v", in, err)
			}
			ti, err := c.Describe(context.Background(), in)
			if err != nil {
				t.Fatalf("Describe(%s): %v (PostgreSQL reads %s.%s)", in, err, schema, name)
			}
			if ti.Schema != schema || ti.Name != name {
				t.Fatalf("Describe(%s) = %s.%s, PostgreSQL reads %s.%s", in, ti.Schema, ti.Name, schema, name)
			}
		})
	}
}
