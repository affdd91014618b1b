package pipeline

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// TableName is a parsed user-given table name: "table", "schema.table",
// `"Mixed Case"."t.x"`. A quoted part keeps its exact spelling and may hold
// dots and quotes ("" inside quotes is one quote); an unquoted part is
// matched by the source's case rules.
type TableName struct {
	Schema, Name             string
	SchemaQuoted, NameQuoted bool
}

// ParseTableName splits s into schema and name. Anything that is not one or
// two non-empty parts (empty, three parts, stray or unterminated quotes,
// invalid UTF-8, NUL) is an error wrapping ErrTableNotFound.
func ParseTableName(s string) (TableName, error) {
	bad := func(why string) (TableName, error) {
		return TableName{}, fmt.Errorf("%w (%s)", ErrTableNotFound, why)
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
		return TableName{Name: parts[0], NameQuoted: quoted[0]}, nil
	case 2:
		return TableName{Schema: parts[0], SchemaQuoted: quoted[0], Name: parts[1], NameQuoted: quoted[1]}, nil
	}
	return bad(fmt.Sprintf("expected table or schema.table, got %d dot-separated parts; quote a name that contains a dot", len(parts)))
}

// QuoteIdent quotes one identifier: `"` + s with every `"` doubled + `"`.
func QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// ExactTableName is the canonical form of a resolved table: both parts
// quoted, so ParseTableName gives back exactly schema and name and every
// connector matches it only to that table. With an empty schema only the
// quoted name is returned.
func ExactTableName(schema, name string) string {
	if schema == "" {
		return QuoteIdent(name)
	}
	return QuoteIdent(schema) + "." + QuoteIdent(name)
}

// DisplayIdent renders one catalog identifier the way a user would type it:
// bare when it is a plain identifier (an ASCII letter or _, then letters,
// digits or _) that the source's case folding leaves unchanged, quoted
// otherwise, so the rendering parses back to the same identifier. fold is
// the source's folding of unquoted names (nil: upper case, the SQL
// standard's).
func DisplayIdent(s string, fold func(string) string) string {
	if fold == nil {
		fold = strings.ToUpper
	}
	if plainIdent(s) && fold(s) == s {
		return s
	}
	return QuoteIdent(s)
}

func plainIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c == '_':
		case i > 0 && c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return true
}

// ObjectBaseName is the object name part of a table: its parts joined by
// "." (schema only when qualified), each part percent-encoded where a raw
// byte could be misread or is unsafe in an object name: '.', '"', '/', '\',
// '%', '#', '[', ']', '*', '?', the apostrophe, space, control characters and DEL
// become %XX (upper-case hex of the UTF-8 byte). Other characters, letters
// of any script included, stay as they are. The encoding is reversible, so
// two different tables never share an object name and a table named like a
// part or schema file (t.part-00001, t.schema) cannot collide with another
// table's files.
func ObjectBaseName(schema, name string, qualified bool) string {
	if qualified && schema != "" {
		return escapeObjectPart(schema) + "." + escapeObjectPart(name)
	}
	return escapeObjectPart(name)
}

func escapeObjectPart(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20 || c == 0x7f, strings.IndexByte(`."/\%#[]*?' `, c) >= 0:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
