package sqlsource

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// ErrAmbiguous is returned (wrapped) when a name matches several tables that
// differ only in case; quoting the name picks one.
var ErrAmbiguous = errors.New("ambiguous table name")

// tableRef is a parsed user-given table name.
type tableRef struct {
	schema, name             string
	schemaQuoted, nameQuoted bool
}

// parseName splits "table", "schema.table", `"Mixed Case"."t.x"` into its
// parts. Quoted parts keep their case and may contain dots; "" inside quotes
// is one quote. Anything else (empty, three parts, stray quotes) is an
// error wrapping pipeline.ErrTableNotFound.
func parseName(s string) (tableRef, error) {
	bad := func(why string) (tableRef, error) {
		return tableRef{}, fmt.Errorf("%w (%s)", pipeline.ErrTableNotFound, why)
	}
	if !utf8.ValidString(s) {
		return bad("name is not valid UTF-8")
	}
	if strings.ContainsRune(s, 0) {
		return bad("name contains a NUL character")
	}
	var parts []string
	var quoted []bool
	i := 0
	for {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i < len(s) && s[i] == '"' {
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return bad("unterminated quote")
			}
			parts, quoted = append(parts, b.String()), append(quoted, true)
			for i < len(s) && s[i] == ' ' {
				i++
			}
		} else {
			j := i
			for j < len(s) && s[j] != '.' {
				if s[j] == '"' {
					return bad("quote inside an unquoted name")
				}
				j++
			}
			parts, quoted = append(parts, strings.TrimSpace(s[i:j])), append(quoted, false)
			i = j
		}
		if i >= len(s) {
			break
		}
		if s[i] != '.' {
			return bad("unexpected text after a quoted name")
		}
		i++
	}
	for _, p := range parts {
		if p == "" {
			return bad("empty name")
		}
	}
	switch len(parts) {
	case 1:
		return tableRef{name: parts[0], nameQuoted: quoted[0]}, nil
	case 2:
		return tableRef{schema: parts[0], schemaQuoted: quoted[0], name: parts[1], nameQuoted: quoted[1]}, nil
	}
	return bad("expected table or schema.table")
}

// matchRank says how well a catalog identifier matches a user's: 0 exactly
// as the database folds it, 1 exactly as typed, 2 case-insensitively, -1 no.
func matchRank(catalog, typed string, quoted bool, fold func(string) string) int {
	switch {
	case quoted:
		if catalog == typed {
			return 0
		}
		return -1
	case catalog == fold(typed):
		return 0
	case catalog == typed:
		return 1
	case strings.EqualFold(catalog, typed):
		return 2
	}
	return -1
}

// pick chooses the candidate that best matches ref.
func pick(ref tableRef, cands []pipeline.TableInfo, fold func(string) string) (pipeline.TableInfo, error) {
	best, bestRank := []pipeline.TableInfo(nil), 1<<30
	for _, c := range cands {
		nr := matchRank(c.Name, ref.name, ref.nameQuoted, fold)
		if nr < 0 {
			continue
		}
		sr := 0
		if ref.schema != "" {
			if sr = matchRank(c.Schema, ref.schema, ref.schemaQuoted, fold); sr < 0 {
				continue
			}
		}
		r := nr*3 + sr
		switch {
		case r < bestRank:
			best, bestRank = []pipeline.TableInfo{c}, r
		case r == bestRank:
			best = append(best, c)
		}
	}
	switch len(best) {
	case 0:
		return pipeline.TableInfo{}, fmt.Errorf("%w (no readable table of that name: check spelling, schema and SELECT privilege; names are case-insensitive unless quoted)", pipeline.ErrTableNotFound)
	case 1:
		return best[0], nil
	}
	names := make([]string, len(best))
	for i, b := range best {
		names[i] = fmt.Sprintf("%q.%q", b.Schema, b.Name)
	}
	return pipeline.TableInfo{}, fmt.Errorf("%w: matches %s; quote the name to choose", ErrAmbiguous, strings.Join(names, ", "))
}
