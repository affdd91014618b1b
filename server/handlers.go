package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

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

func (s *Server) handleHealth(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{
		"status":    "ok",
		"timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"version":   s.opts.Version,
	})
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
	if st.LatencyMS == 0 && st.Latency > 0 {
		st.LatencyMS = float64(st.Latency.Microseconds()) / 1000
	}
	body := struct {
		pipeline.Status
		CheckedAt time.Time `json:"checked_at"`
	}{st, time.Now().UTC()}
	if !st.Reachable {
		c.Status(http.StatusServiceUnavailable)
	}
	return c.JSON(body)
}

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
	tables, err := s.svc.Connector().Tables(c.UserContext(), exact)
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
	ctx := c.UserContext()
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

// decodeJSON reads the body as one JSON object into v, refusing unknown
// fields and trailing data.
func decodeJSON(c *fiber.Ctx, v any) error {
	body := c.Request().Body() // raw: withPlainBody refused any Content-Encoding
	if len(bytes.TrimSpace(body)) == 0 {
		return newError(http.StatusBadRequest, CodeBadRequest, "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return &apiError{Status: http.StatusBadRequest, Code: CodeValidation, Field: te.Field,
				Message: fmt.Sprintf("%s: must be %s, not a JSON %s", te.Field, jsonTypeName(te.Type.Kind().String()), te.Value)}
		}
		return newError(http.StatusBadRequest, CodeBadRequest, "malformed JSON body: "+err.Error())
	}
	if dec.More() {
		return newError(http.StatusBadRequest, CodeBadRequest, "malformed JSON body: data after the object")
	}
	return nil
}

func jsonTypeName(kind string) string {
	switch kind {
	case "slice":
		return "an array"
	case "string":
		return "a string"
	case "int", "int64":
		return "an integer"
	}
	return "a " + kind
}

// validateTransport checks a new transport's fields and normalises them.
func (s *Server) validateTransport(in *jobs.NewTransport) error {
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		return validationError("name", "required")
	case len(in.Name) > 200:
		return validationError("name", "longer than 200 characters")
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
		if t == "" || len(t) > 261 { // owner.table, 128 each for Oracle
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
			return validationError("target_bucket", err.Error())
		}
	}
	if len(in.Description) > 2000 {
		return validationError("description", "longer than 2000 characters")
	}
	if in.TableParallelism < 0 || in.TableParallelism > 64 {
		return validationError("table_parallelism", fmt.Sprintf("%d is out of range 1..64", in.TableParallelism))
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
	t, err := s.svc.CreateTransport(c.UserContext(), in)
	if err != nil {
		return err
	}
	s.log.Info("transport created", "request_id", requestID(c), "transport_id", t.ID, "tables", len(t.Tables))
	c.Location(c.BaseURL() + pathPrefix(c) + "/transport/" + url.PathEscape(t.ID))
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
	c.Location(c.BaseURL() + pathPrefix(c) + "/jobs/" + url.PathEscape(job.ID))
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
	if p.Items == nil {
		p.Items = []jobs.Job{}
	}
	return c.JSON(p)
}

func (s *Server) handleGetJob(c *fiber.Ctx) error {
	j, err := s.svc.GetJob(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(j)
}

// logStream logs outside a request (SSE streams end after their handler).
func (s *Server) logStream(level slog.Level, msg string, attrs ...slog.Attr) {
	s.log.LogAttrs(context.Background(), level, msg, attrs...)
}
