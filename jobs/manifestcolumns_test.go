package jobs

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// TestManifestColumnsInvisible: a column the source read although SELECT *
// hides it (Oracle INVISIBLE) is marked in the manifest; others carry no
// mark.
func TestManifestColumnsInvisible(t *testing.T) {
	mc := manifestColumns([]pipeline.Column{
		{Name: "ID", Type: pipeline.TypeInt},
		{Name: "SECRET", Type: pipeline.TypeDecimal, SourceType: "NUMBER(15,2)", Precision: 15, Scale: 2, Invisible: true},
	})
	if mc[0].Invisible || !mc[1].Invisible {
		t.Fatalf("columns %+v", mc)
	}
	b, err := json.Marshal(mc)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(b), `"invisible":true`) != 1 || strings.Contains(string(b), `"invisible":false`) {
		t.Fatalf("manifest columns %s", b)
	}
}
