package integration

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/internal/gcstest"
	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/gcs"
	"github.com/ora2gcs/ora2gcs/sources/synth"
	"github.com/ora2gcs/ora2gcs/stages"
)

// TestJobLostAnswers runs jobs into the GCS emulator through the fault
// proxy while answers are lost after storage acted: only the manifest's, or
// the first answer for every object a job creates with one request (tables
// under the chunk size, schemas, range segments, the manifest) and for every
// compose. Each job must complete, its manifest must say completed, and
// every table object must hold what the job record says. (Before the sink
// recognised its own objects, each lost answer failed its table or the job
// with "object already exists" while a complete object sat at the name.)
func TestJobLostAnswers(t *testing.T) {
	const bucket = "oracle-etl-data"
	rows := map[string]int64{"VBRP": 300, "VBRK": 500, "LIKP": 400}
	cases := []struct {
		name   string
		ranges bool
		rules  func(trp string) []gcstest.Rule
	}{
		{"manifest", false, func(trp string) []gcstest.Rule {
			return []gcstest.Rule{{Kind: gcstest.Upload, Name: trp + "/v001/_manifest.json", N: 1, Fault: gcstest.DropAfterForward}}
		}},
		{"every-object-once", false, func(string) []gcstest.Rule {
			return []gcstest.Rule{{Kind: gcstest.Upload, N: 1, EachName: true, Fault: gcstest.DropAfterForward}}
		}},
		{"every-object-and-compose-once-in-ranges", true, func(string) []gcstest.Rule {
			return []gcstest.Rule{
				{Kind: gcstest.Upload, N: 1, EachName: true, Fault: gcstest.DropAfterForward},
				{Kind: gcstest.Compose, N: 1, EachName: true, Fault: gcstest.DropAfterForward},
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			emu := gcstest.Start(t, bucket)
			conn, err := synth.New(synth.Config{Rows: rows})
			if err != nil {
				t.Fatal(err)
			}
			var proxy *gcstest.Proxy // set before the job runs
			cfg := jobs.ManagerConfig{
				Store: t.TempDir() + "/ora2gcs.db", Connector: conn,
				Sinks: func(b string) (pipeline.Sink, error) {
					if proxy == nil { // CreateTransport lists the bucket's transport ids
						return gcs.NewWithClient(emu.Client, gcs.Config{Bucket: b})
					}
					return gcs.NewWithClient(proxy.Client, gcs.Config{Bucket: b, ChunkSize: 256 << 10, Backoff: time.Millisecond})
				},
				Encoder: stages.NDJSON(stages.NDJSONOptions{}), Codec: compression.Must(compression.New(compression.Spec{Name: compression.Pgzip, Level: 1})),
				Pipeline:      pipeline.Config{ChunkRows: 100, Retry: pipeline.Retry{Attempts: 1}},
				DefaultBucket: bucket,
			}
			if c.ranges {
				cfg.TableParallelism, cfg.RangeMinRows = 3, -1
			}
			m, err := jobs.NewManager(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = m.Shutdown(ctx); _ = m.Close() })
			tr, err := m.CreateTransport(ctx, jobs.NewTransport{Name: "lost answers", Tables: []string{"VBRP", "VBRK", "LIKP"}})
			if err != nil {
				t.Fatal(err)
			}
			proxy = emu.Proxy(t, nil, c.rules(tr.ID)...)
			j, err := m.Execute(ctx, tr.ID)
			if err != nil {
				t.Fatal(err)
			}
			done, err := m.Wait(ctx, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			inj := proxy.Injected()
			if len(inj) == 0 {
				t.Fatal("no answer was lost: the test did not exercise what it claims")
			}
			if done.Status != jobs.StatusCompleted {
				t.Fatalf("job %s after %d lost answers (%v): %+v", done.Status, len(inj), inj, done)
			}
			t.Logf("job completed after %d lost answers", len(inj))

			prefix := tr.ID + "/" + done.Version + "/"
			raw, ok := emu.Read(t, bucket, prefix+"_manifest.json")
			if !ok {
				t.Fatal("no manifest")
			}
			var man jobs.Manifest
			if err := json.Unmarshal(raw, &man); err != nil {
				t.Fatal(err)
			}
			if man.Status != "completed" || len(man.Tables) != len(rows) {
				t.Fatalf("manifest status %q with %d tables", man.Status, len(man.Tables))
			}
			full, err := m.Store().GetJob(ctx, done.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, te := range full.Tables {
				if c.ranges && len(te.Ranges) < 2 {
					t.Fatalf("%s was not read in ranges (%d): the compose path is not exercised", te.TableName, len(te.Ranges))
				}
				name := strings.TrimPrefix(te.GCSPath, "gs://"+bucket+"/")
				b, ok := emu.Read(t, bucket, name)
				if !ok {
					t.Fatalf("%s: no object %s", te.TableName, name)
				}
				if got := jobs.CRC32CBase64(pipeline.CRC32C(b)); got != te.CRC32C || int64(len(b)) != te.BytesTransferred {
					t.Fatalf("%s: object has %d bytes CRC32C %s; the job recorded %d bytes %s", te.TableName, len(b), got, te.BytesTransferred, te.CRC32C)
				}
				if n := strings.Count(string(testutil.GunzipOne(t, b)), "\n"); int64(n) != rows[te.TableName] {
					t.Fatalf("%s: %d rows stored, want %d", te.TableName, n, rows[te.TableName])
				}
			}
			for _, o := range emu.Objects(t, bucket) {
				if strings.Contains(o, "/_ranges/") {
					t.Errorf("temporary object left: %s", o)
				}
			}
		})
	}
}
