package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

const (
	sampleRows      = 100
	maxPageSize     = 200
	defaultPageSize = 20
	statusTimeout   = 10 * time.Second
)

// createError maps a failed CreateTransport: the request's errors keep
// their codes; a failure that is neither the request's nor recognised
// happened while resolving the tables through the source, so when it ran
// out of time or the source is down (health check) it is 503
// source_unavailable, not 500.
func (s *Server) createError(err error) error {
	ae := classify(err)
	if ae.Status != http.StatusInternalServerError {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &apiError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "the source did not answer in time", cause: err}
	}
	if st, _ := s.sourceHealth(); !st.Reachable {
		return &apiError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "the source is unavailable", cause: err}
	}
	return err
}

// sourceError is a failed source call: 404/422 when the table is unknown,
// else 503 with a generic message; the cause is logged, never sent.
func (s *Server) sourceError(c *fiber.Ctx, op string, err error) error {
	if errors.Is(err, pipeline.ErrTableNotFound) {
		return newError(http.StatusNotFound, CodeTableNotFound, err.Error())
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &apiError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "the source did not answer in time", cause: err}
	}
	return &apiError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
		Message: "the source failed to " + op, cause: fmt.Errorf("%s: %w", op, err)}
}

func (s *Server) handleSourceStatus(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
	defer cancel()
	st := s.svc.Connector().Status(ctx)
	if !st.Reachable {
		c.Status(http.StatusServiceUnavailable)
	}
	return c.JSON(newSourceStatus(st, time.Now().UTC()))
}

// sourceStatus is the body of GET /oracle/status (and /source/status): the
// connector's pipeline.Status as the API shows it.
type sourceStatus struct {
	Kind      string     `json:"kind"`
	Reachable bool       `json:"reachable"`
	Version   string     `json:"version,omitempty"`
	LatencyMS float64    `json:"latency_ms"`
	Pool      poolStatus `json:"pool"`
	Snapshot  string     `json:"current_snapshot,omitempty"` // current SCN / txid
	Error     string     `json:"error,omitempty"`
	CheckedAt time.Time  `json:"checked_at"`
}

type poolStatus struct {
	MaxOpen int `json:"max_open"`
	MinIdle int `json:"min_idle"`
	Open    int `json:"open"`
	InUse   int `json:"in_use"`
	Idle    int `json:"idle"`
}

func newSourceStatus(st pipeline.Status, at time.Time) sourceStatus {
	p := st.Pool
	return sourceStatus{Kind: st.Kind, Reachable: st.Reachable, Version: st.Version, LatencyMS: latencyMS(st.Latency),
		Pool:     poolStatus{MaxOpen: p.MaxOpen, MinIdle: p.MinIdle, Open: p.Open, InUse: p.InUse, Idle: p.Idle},
		Snapshot: st.Snapshot, Error: st.Error, CheckedAt: at}
}

// latencyMS is d in milliseconds with microsecond precision.
func latencyMS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// tableItem is one entry of GET /tables.
type tableItem struct {
	Schema      string `json:"schema,omitempty"`
	Name        string `json:"name"`
	Rows        int64  `json:"rows"`
	RowsExact   bool   `json:"rows_exact"`
	ColumnCount int    `json:"column_count"`
	Comment     string `json:"comment,omitempty"`
}

func (s *Server) handleTables(c *fiber.Ctx) error {
	exact := false
	switch v := strings.ToLower(c.Query("exact")); v {
	case "", "false", "0":
	case "true", "1":
		exact = true
	default:
		return &apiError{Status: http.StatusBadRequest, Code: CodeBadRequest, Field: "exact", Message: fmt.Sprintf("exact: %q is not true or false", v)}
	}
	page, err := queryInt(c, "page", 1, 1<<30)
	if err != nil {
		return err
	}
	size, err := queryInt(c, "page_size", 100, 1000)
	if err != nil {
		return err
	}
	q := strings.ToUpper(c.Query("q"))
	ctx, cancel := context.WithTimeout(c.UserContext(), s.opts.SourceTimeout)
	defer cancel()
	tables, err := s.svc.Connector().Tables(ctx, exact)
	if err != nil {
		return s.sourceError(c, "list tables", err)
	}
	items := make([]tableItem, 0, len(tables))
	for _, t := range tables {
		if q != "" && !strings.Contains(strings.ToUpper(t.Name), q) {
			continue
		}
		items = append(items, tableItem{Schema: t.Schema, Name: t.Name, Rows: t.Rows, RowsExact: t.RowsExact, ColumnCount: t.ColumnCount, Comment: t.Comment})
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	total := len(items)
	lo := min((page-1)*size, total)
	hi := min(lo+size, total)
	return c.JSON(struct {
		jobs.Page[tableItem]
		Exact bool `json:"exact"`
	}{jobs.Page[tableItem]{Items: items[lo:hi], Page: page, PageSize: size, Total: total}, exact})
}

func (s *Server) handleSample(c *fiber.Ctx) error {
	name, err := url.PathUnescape(c.Params("name"))
	if err != nil || strings.TrimSpace(name) == "" {
		return &apiError{Status: http.StatusBadRequest, Code: CodeBadRequest, Field: "name", Message: "name: not a valid table name"}
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), s.opts.SourceTimeout)
	defer cancel()
	conn := s.svc.Connector()
	info, err := conn.Describe(ctx, name)
	if err != nil {
		return s.sourceError(c, "describe the table", err)
	}
	src, err := conn.Open(ctx, info, nil, pipeline.ReadOptions{Limit: sampleRows, BatchRows: sampleRows, FetchArraySize: sampleRows})
	if err != nil {
		return s.sourceError(c, "open the table", err)
	}
	defer src.Close()
	cols := src.Columns()
	rows := make([][]any, 0, sampleRows)
	for len(rows) < sampleRows {
		b, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return s.sourceError(c, "read the table", err)
		}
		for _, r := range b.Rows {
			if len(rows) == sampleRows {
				break
			}
			// Copy: a source may reuse a batch's storage after Release.
			rows = append(rows, append([]any(nil), r...))
		}
		if b.Release != nil {
			b.Release()
		}
	}
	enc, err := encodeSample(cols, rows)
	if err != nil {
		return fmt.Errorf("encode sample of %s: %w", info.Name, err)
	}
	colsJSON, err := json.Marshal(cols)
	if err != nil {
		return fmt.Errorf("encode columns of %s: %w", info.Name, err)
	}
	var buf bytes.Buffer
	buf.Grow(len(enc) + len(colsJSON) + 128)
	tableJSON, _ := json.Marshal(info.Name)
	fmt.Fprintf(&buf, `{"table":%s,"count":%d,"columns":%s,"rows":`, tableJSON, len(rows), colsJSON)
	buf.Write(enc)
	buf.WriteByte('}')
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(buf.Bytes())
}

// decodeJSON reads the body as one JSON object into v (a pointer to a
// struct) strictly: the Content-Type must be application/json (charset
// utf-8, if given), else 415; every key must be one of v's JSON field names
// spelled exactly (no case folding) and appear once; every value must be
// valid UTF-8; nothing may follow the object. Errors name the field and
// never a Go type.
func decodeJSON(c *fiber.Ctx, v any) error {
	body := c.Request().Body() // raw: withPlainBody refused any Content-Encoding
	if len(bytes.TrimSpace(body)) == 0 {
		return newError(http.StatusBadRequest, CodeBadRequest, "request body must be a JSON object")
	}
	if err := requireJSON(c); err != nil {
		return err
	}
	if err := checkObject(body, reflect.TypeOf(v), ""); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			field := te.Field
			return &apiError{Status: http.StatusBadRequest, Code: CodeValidation, Field: field,
				Message: fmt.Sprintf("%s: must be %s, not a JSON %s", field, jsonTypeName(te.Type.Kind().String()), jsonValueName(te.Value))}
		}
		// checkObject validated the syntax and the keys; what is left is
		// a value of the wrong kind without a field name.
		return newError(http.StatusBadRequest, CodeBadRequest, "malformed JSON body")
	}
	return nil
}

// requireJSON refuses a body that is not declared application/json (415).
func requireJSON(c *fiber.Ctx) error {
	ct := string(c.Request().Header.ContentType())
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && mt == fiber.MIMEApplicationJSON {
		if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
			return nil
		}
	}
	return newError(http.StatusUnsupportedMediaType, CodeUnsupportedMedia,
		"the request body must be sent as Content-Type: application/json (UTF-8)")
}

// jsonFields maps the JSON names of the fields of struct type t (promoted
// fields of embedded structs included) to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]reflect.Type{}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// checkObject walks body as one JSON object against struct type t and
// refuses, naming the field ("schedule.cron" for nested objects): a key
// that is not a field (a key matching one only case-insensitively is named
// as such), a key given twice, a value holding invalid UTF-8 (which
// encoding/json would silently replace), and anything after the object.
func checkObject(body []byte, t reflect.Type, prefix string) error {
	fields := jsonFields(t)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	malformed := func(err error) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return newError(http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("malformed JSON body at byte %d: %s", se.Offset, se.Error()))
		}
		return newError(http.StatusBadRequest, CodeBadRequest, "malformed JSON body: unexpected end")
	}
	tok, err := dec.Token()
	if err != nil {
		return malformed(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		if prefix != "" {
			return nil // not an object: the decoder names the field and its type
		}
		return newError(http.StatusBadRequest, CodeBadRequest, "request body must be a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		keyStart := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return malformed(err)
		}
		key, _ := tok.(string)
		if !utf8.Valid(body[keyStart:dec.InputOffset()]) {
			return newError(http.StatusBadRequest, CodeBadRequest, "a field name is not valid UTF-8")
		}
		field := prefix + key
		ft, ok := fields[key]
		if !ok {
			for f := range fields {
				if strings.EqualFold(f, key) {
					return &apiError{Status: http.StatusBadRequest, Code: CodeValidation, Field: field,
						Message: fmt.Sprintf("%s: unknown field; field names are case-sensitive, did you mean %q?", field, prefix+f)}
				}
			}
			return &apiError{Status: http.StatusBadRequest, Code: CodeBadRequest, Field: field,
				Message: fmt.Sprintf("%s: unknown field", field)}
		}
		if seen[key] {
			return &apiError{Status: http.StatusBadRequest, Code: CodeValidation, Field: field,
				Message: fmt.Sprintf("%s: given more than once", field)}
		}
		seen[key] = true
		var raw json.RawMessage // the value's bytes as sent
		if err := dec.Decode(&raw); err != nil {
			return malformed(err)
		}
		st := ft
		for st.Kind() == reflect.Pointer {
			st = st.Elem()
		}
		if st.Kind() == reflect.Struct && st != reflect.TypeOf(time.Time{}) {
			if err := checkObject(raw, st, field+"."); err != nil {
				return err
			}
		}
		if !utf8.Valid(raw) {
			return &apiError{Status: http.StatusBadRequest, Code: CodeValidation, Field: field,
				Message: fmt.Sprintf("%s: not valid UTF-8", field)}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return malformed(err)
	}
	if prefix == "" {
		if _, err := dec.Token(); err != io.EOF {
			return newError(http.StatusBadRequest, CodeBadRequest, "malformed JSON body: data after the object")
		}
	}
	return nil
}

func jsonTypeName(kind string) string {
	switch kind {
	case "slice", "array":
		return "an array"
	case "string":
		return "a string"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "bool":
		return "true or false"
	case "float32", "float64":
		return "a number"
	case "struct", "map":
		return "an object"
	}
	return "another type"
}

// jsonValueName describes the JSON value encoding/json reports ("number
// 1.5", "string", "array"…) without echoing long input.
func jsonValueName(v string) string {
	if strings.HasPrefix(v, "number") {
		if len(v) > 40 {
			return "number"
		}
		return v
	}
	return v
}

// validateTransport checks a new transport's fields and normalises them.
func (s *Server) validateTransport(in *jobs.NewTransport) error {
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		return validationError("name", "required")
	case utf8.RuneCountInString(in.Name) > jobs.MaxNameLen:
		return validationError("name", fmt.Sprintf("longer than %d characters", jobs.MaxNameLen))
	}
	if len(in.Tables) == 0 {
		return validationError("tables", "must list at least one table")
	}
	if len(in.Tables) > s.opts.MaxTables {
		return validationError("tables", fmt.Sprintf("lists %d tables, at most %d allowed", len(in.Tables), s.opts.MaxTables))
	}
	seen := make(map[string]bool, len(in.Tables))
	for i, t := range in.Tables {
		t = strings.TrimSpace(t)
		if t == "" || utf8.RuneCountInString(t) > 261 { // owner.table, 128 characters each for Oracle
			return validationError(fmt.Sprintf("tables[%d]", i), "must be a table name")
		}
		if seen[strings.ToUpper(t)] {
			return validationError(fmt.Sprintf("tables[%d]", i), fmt.Sprintf("%q is listed twice", t))
		}
		seen[strings.ToUpper(t)] = true
		in.Tables[i] = t
	}
	in.TargetBucket = strings.TrimSpace(in.TargetBucket)
	if in.TargetBucket != "" {
		if err := s.opts.ValidateBucket(in.TargetBucket); err != nil {
			return validationError("target_bucket", fmt.Sprintf("bucket name %q %v", in.TargetBucket, err))
		}
	}
	if utf8.RuneCountInString(in.Description) > 2000 {
		return validationError("description", "longer than 2000 characters")
	}
	if p := jobs.CheckTableParallelism(in.TableParallelism); in.TableParallelism != 0 && p != "" {
		return validationError("table_parallelism", p)
	}
	return nil
}

func (s *Server) handleCreateTransport(c *fiber.Ctx) error {
	var in jobs.NewTransport
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := s.validateTransport(&in); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), s.opts.SourceTimeout)
	defer cancel()
	t, err := s.svc.CreateTransport(ctx, in)
	if err != nil {
		return s.createError(err)
	}
	s.log.Info("transport created", "request_id", requestID(c), "transport_id", t.ID, "tables", len(t.Tables))
	c.Location(s.opts.PublicBaseURL + pathPrefix(c) + "/transport/" + url.PathEscape(t.ID))
	return c.Status(http.StatusCreated).JSON(t)
}

// pathPrefix is the API prefix the request used (/api/v1 or /api).
func pathPrefix(c *fiber.Ctx) string {
	if strings.HasPrefix(c.Path(), apiV1+"/") {
		return apiV1
	}
	return apiLegacy
}

func (s *Server) handleListTransports(c *fiber.Ctx) error {
	page, err := queryInt(c, "page", 1, 1<<30)
	if err != nil {
		return err
	}
	size, err := queryInt(c, "page_size", defaultPageSize, maxPageSize)
	if err != nil {
		return err
	}
	p, err := s.svc.ListTransports(c.UserContext(), page, size)
	if err != nil {
		return err
	}
	if p.Items == nil {
		p.Items = []jobs.Transport{}
	}
	return c.JSON(p)
}

func (s *Server) handleGetTransport(c *fiber.Ctx) error {
	t, err := s.svc.GetTransport(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (s *Server) handleExecute(c *fiber.Ctx) error {
	id := c.Params("id")
	job, err := s.svc.Execute(c.UserContext(), id)
	if err != nil {
		return err
	}
	s.log.Info("job started", "request_id", requestID(c), "transport_id", job.TransportID, "job_id", job.ID, "job_version", job.Version)
	c.Location(s.opts.PublicBaseURL + pathPrefix(c) + "/jobs/" + url.PathEscape(job.ID))
	return c.Status(http.StatusAccepted).JSON(fiber.Map{
		"job_id":       job.ID,
		"version":      job.Version,
		"transport_id": job.TransportID,
		"status":       job.Status,
	})
}

var jobStatuses = map[string]bool{jobs.StatusPending: true, jobs.StatusRunning: true, jobs.StatusCompleted: true, jobs.StatusFailed: true}

func (s *Server) handleListJobs(c *fiber.Ctx) error {
	page, err := queryInt(c, "page", 1, 1<<30)
	if err != nil {
		return err
	}
	size, err := queryInt(c, "page_size", defaultPageSize, maxPageSize)
	if err != nil {
		return err
	}
	f := jobs.JobFilter{TransportID: c.Query("transport_id"), Status: c.Query("status"), Page: page, PageSize: size}
	if f.Status != "" && !jobStatuses[f.Status] {
		return &apiError{Status: http.StatusBadRequest, Code: CodeBadRequest, Field: "status",
			Message: fmt.Sprintf("status: %q is not one of pending, running, completed, failed", f.Status)}
	}
	p, err := s.svc.ListJobs(c.UserContext(), f)
	if err != nil {
		return err
	}
	return c.JSON(viewJobs(p))
}

func (s *Server) handleGetJob(c *fiber.Ctx) error {
	j, err := s.svc.GetJob(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(viewJob(j))
}

// logStream logs outside a request (SSE streams end after their handler).
func (s *Server) logStream(level slog.Level, msg string, attrs ...slog.Attr) {
	s.log.LogAttrs(context.Background(), level, msg, attrs...)
}
