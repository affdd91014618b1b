package sqlsource

import (
	"fmt"
	"strings"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// ErrAmbiguous is returned (wrapped) when a name matches several tables
// equally well; quoting the name picks one. It is pipeline.ErrAmbiguousTable.
var ErrAmbiguous = pipeline.ErrAmbiguousTable

// matchRank says how well a catalog identifier matches a typed one:
//
//   - a quoted part matches only its exact spelling (rank 0);
//   - an unquoted part matches, at rank 0, its exact spelling and its
//     spelling as the database folds unquoted names (Oracle: upper case,
//     PostgreSQL: lower case): when both exist as different tables the name
//     is ambiguous and the user must quote it, never a silent choice;
//   - an unquoted part matches case-insensitively at rank 1, used only when
//     nothing matches at rank 0;
//   - -1: no match.
func matchRank(catalog, typed string, quoted bool, fold func(string) string) int {
	switch {
	case quoted:
		if catalog == typed {
			return 0
		}
		return -1
	case catalog == typed, catalog == fold(typed):
		return 0
	case strings.EqualFold(catalog, typed):
		return 1
	}
	return -1
}

// pick chooses the one candidate that best matches ref; several equally
// good candidates are an error wrapping ErrAmbiguous that names each of them.
func pick(ref pipeline.TableName, cands []pipeline.TableInfo, fold func(string) string) (pipeline.TableInfo, error) {
	best, bestRank := []pipeline.TableInfo(nil), 1<<30
	for _, c := range cands {
		nr := matchRank(c.Name, ref.Name, ref.NameQuoted, fold)
		if nr < 0 {
			continue
		}
		sr := 0
		if ref.Schema != "" {
			if sr = matchRank(c.Schema, ref.Schema, ref.SchemaQuoted, fold); sr < 0 {
				continue
			}
		}
		r := nr*2 + sr
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
		names[i] = pipeline.ExactTableName(b.Schema, b.Name)
	}
	return pipeline.TableInfo{}, fmt.Errorf("%w: matches %s; quote the name to choose one", ErrAmbiguous, strings.Join(names, " and "))
}
