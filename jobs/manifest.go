package jobs

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// ManifestFormat identifies the layout of _manifest.json.
const ManifestFormat = "ora2gcs-manifest/1"

// Manifest is the content of {trpid}/{jobver}/_manifest.json, written next
// to the data at the end of a job: what was read, as of which snapshot, and
// how to verify every object.
type Manifest struct {
	Format        string                `json:"format"`
	TransportID   string                `json:"transport_id"`
	TransportName string                `json:"transport_name"`
	JobID         string                `json:"job_id"`
	JobVersion    string                `json:"job_version"`
	Status        string                `json:"status"` // completed or failed
	Error         string                `json:"error,omitempty"`
	StartedAt     time.Time             `json:"started_at"`
	CompletedAt   time.Time             `json:"completed_at"`
	Source        string                `json:"source"` // connector kind
	Snapshot      pipeline.SnapshotInfo `json:"snapshot"`
	// Consistency says whether the completed tables are one point in time
	// (the snapshot's) and names those that are not.
	Consistency Consistency     `json:"consistency"`
	Bucket      string          `json:"bucket"`
	TotalRows   int64           `json:"total_rows"`
	TotalBytes  int64           `json:"total_bytes"`
	Tables      []ManifestTable `json:"tables"`
}

// ManifestTable is one table of a Manifest. Object fields are empty for a
// table that failed.
type ManifestTable struct {
	Table       string           `json:"table"`
	Status      string           `json:"status"`
	Error       string           `json:"error,omitempty"`
	Object      string           `json:"object,omitempty"` // name below the bucket
	URI         string           `json:"uri,omitempty"`
	Schema      string           `json:"schema,omitempty"` // name of the BigQuery schema object
	Rows        int64            `json:"rows"`
	Bytes       int64            `json:"bytes"`     // stored (compressed)
	RawBytes    int64            `json:"raw_bytes"` // uncompressed NDJSON
	CRC32C      string           `json:"crc32c,omitempty"`
	CRC32CHex   string           `json:"crc32c_hex,omitempty"`
	RawCRC32C   string           `json:"raw_crc32c,omitempty"` // of the uncompressed NDJSON
	RawCRC32Hex string           `json:"raw_crc32c_hex,omitempty"`
	Attempts    int              `json:"attempts"`
	Columns     []ManifestColumn `json:"columns"`
	// Ranges lists the parallel ranges the object was composed from.
	Ranges []RangeExtraction `json:"ranges,omitempty"`
	// Parts lists the objects of a table split by size (pipeline PartBytes,
	// for BigQuery's 4 GB limit on gzip files), in order; Object and URI then
	// name the first part and CRC32C is empty (each part has its own).
	Parts []ManifestPart `json:"parts,omitempty"`
	// Consistency is how the source read the table relative to the
	// snapshot (absent when the source did not say).
	Consistency *pipeline.TableConsistency `json:"consistency,omitempty"`
	// CleanupErrors names each temporary object of the table (range
	// segments under _ranges/) that could not be removed, with the cause.
	// The table's object is complete; these are left for the user to delete.
	CleanupErrors []string `json:"cleanup_errors,omitempty"`
	// Mode is how the table was read: "full" or "incremental". Window, for
	// a table configured incremental, is the watermark column, the rows'
	// window (low exclusive, high inclusive; no low in a full read), the
	// overlap, the key columns and the rows whose watermark is NULL.
	Mode   string       `json:"mode,omitempty"`
	Window *TableWindow `json:"window,omitempty"`
}

// ManifestPart is one object of a table split into parts.
type ManifestPart struct {
	Object    string `json:"object"`
	URI       string `json:"uri"`
	Rows      int64  `json:"rows"`
	Bytes     int64  `json:"bytes"`
	RawBytes  int64  `json:"raw_bytes"`
	CRC32C    string `json:"crc32c"`
	CRC32CHex string `json:"crc32c_hex"`
	RawCRC32C string `json:"raw_crc32c"`
}

// ManifestColumn is one column with its source type.
type ManifestColumn struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	SourceType string `json:"source_type"`
	Precision  int    `json:"precision"`
	Scale      int    `json:"scale"`
	Nullable   bool   `json:"nullable"`
	// Invisible: hidden from SELECT * in the source (Oracle INVISIBLE) and
	// exported all the same.
	Invisible bool `json:"invisible,omitempty"`
}

func manifestColumns(cols []pipeline.Column) []ManifestColumn {
	out := make([]ManifestColumn, len(cols))
	for i, c := range cols {
		out[i] = ManifestColumn{Name: c.Name, Type: c.Type.String(), SourceType: c.SourceType,
			Precision: c.Precision, Scale: c.Scale, Nullable: c.Nullable, Invisible: c.Invisible}
	}
	return out
}

// CRC32CBase64 formats a CRC32C as GCS shows it: base64 of its big-endian bytes.
func CRC32CBase64(c uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], c)
	return base64.StdEncoding.EncodeToString(b[:])
}

// writeJSON writes v as one committed object name of sink.
func writeJSON(ctx context.Context, sink pipeline.Sink, name string, v any) (pipeline.ObjectInfo, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return pipeline.ObjectInfo{}, fmt.Errorf("jobs: encode %s: %w", name, err)
	}
	b = append(b, '\n')
	obj, err := sink.Create(ctx, name)
	if err != nil {
		return pipeline.ObjectInfo{}, fmt.Errorf("jobs: create %s: %w", name, err)
	}
	if _, err := obj.Write(b); err != nil {
		_ = obj.Abort()
		return pipeline.ObjectInfo{}, fmt.Errorf("jobs: write %s: %w", name, err)
	}
	info, err := obj.Commit()
	if err != nil {
		return pipeline.ObjectInfo{}, fmt.Errorf("jobs: commit %s: %w", name, err)
	}
	return info, nil
}
