package jobs

// Writing a job's _manifest.json after its tables.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

// writeManifest writes the BigQuery schema of every described table, then
// the job's manifest through sink, and records the manifest's URI in r.job.
// The manifest names only what is stored: a schema that could not be
// written is left out of its table and fails the manifest (and the job).
// A table split into parts names its first part as its object.
func (m *Manager) writeManifest(ctx context.Context, r *run, sink pipeline.Sink, failed []string) error {
	prefix := r.job.TransportID + "/" + r.job.Version + "/"
	r.mu.Lock()
	man := Manifest{
		Format: ManifestFormat, TransportID: r.job.TransportID, TransportName: r.transport.Name,
		JobID: r.job.ID, JobVersion: r.job.Version, Status: StatusCompleted,
		StartedAt: r.job.StartedAt, CompletedAt: m.now(), Source: r.job.Source, Snapshot: r.job.Snapshot,
		Bucket: r.transport.TargetBucket, Tables: make([]ManifestTable, 0, len(r.tables)),
	}
	type schema struct {
		name string
		cols []pipeline.Column
	}
	var schemas []schema
	for _, ts := range r.tables {
		mt := ManifestTable{Table: ts.te.TableName, Status: ts.te.Status, Attempts: ts.te.Attempts,
			Columns: manifestColumns(ts.cols), Ranges: ts.te.Ranges, Mode: ts.te.Mode, Window: ts.te.Window,
			Consistency: ts.te.Consistency}
		if ts.te.Error != nil {
			mt.Error = *ts.te.Error
		}
		if len(ts.cols) > 0 {
			mt.Schema = prefix + ts.objectBase() + ".schema.json"
			schemas = append(schemas, schema{mt.Schema, ts.cols})
		}
		if ts.te.Status == StatusCompleted {
			mt.Object, mt.URI = ts.object, ts.te.GCSPath
			if len(ts.parts) > 0 {
				mt.Object = ts.parts[0].Object.Name
			}
			mt.CleanupErrors = ts.cleanup
			mt.Rows, mt.Bytes, mt.RawBytes = ts.te.RowCount, ts.te.BytesTransferred, ts.te.RawBytes
			mt.CRC32C = ts.te.CRC32C
			if len(ts.parts) == 0 {
				mt.CRC32CHex = fmt.Sprintf("%08x", ts.crc)
			}
			for _, pt := range ts.parts {
				mt.Parts = append(mt.Parts, ManifestPart{Object: pt.Object.Name, URI: pt.Object.URI, Rows: pt.Rows,
					Bytes: pt.Object.Size, RawBytes: pt.RawBytes, CRC32C: CRC32CBase64(pt.Object.CRC32C),
					CRC32CHex: fmt.Sprintf("%08x", pt.Object.CRC32C), RawCRC32C: CRC32CBase64(pt.RawCRC32C)})
			}
			mt.RawCRC32C, mt.RawCRC32Hex = CRC32CBase64(ts.rawCRC), fmt.Sprintf("%08x", ts.rawCRC)
			man.TotalRows += mt.Rows
			man.TotalBytes += mt.Bytes
		}
		man.Tables = append(man.Tables, mt)
	}
	man.Consistency = ManifestConsistency(man.Tables)
	r.mu.Unlock()
	var errs, failures []string
	if len(failed) > 0 {
		failures = append(failures, "tables failed: "+strings.Join(failed, ", "))
	}
	var errList []error
	for _, s := range schemas {
		if _, err := writeJSON(ctx, sink, s.name, stages.BigQuerySchema(s.cols)); err != nil {
			errList = append(errList, err)
			errs = append(errs, err.Error())
			for i := range man.Tables {
				if man.Tables[i].Schema == s.name {
					man.Tables[i].Schema = "" // not stored: never named
				}
			}
		}
	}
	if len(errs) > 0 {
		failures = append(failures, "schemas not written: "+strings.Join(errs, "; "))
	}
	if len(failures) > 0 {
		man.Status = StatusFailed
		man.Error = strings.Join(failures, "; ")
	}
	info, err := writeJSON(ctx, sink, prefix+"_manifest.json", man)
	if err != nil {
		errList = append(errList, err)
	} else {
		uri := info.URI
		if uri == "" {
			uri = prefix + "_manifest.json"
		}
		r.mu.Lock()
		r.job.Manifest = uri
		r.mu.Unlock()
	}
	if err := errors.Join(errList...); err != nil {
		r.log.Error("write manifest", "error", err)
		return fmt.Errorf("manifest: %w", err)
	}
	return nil
}
