package jobs

import "github.com/ora2gcs/ora2gcs/pipeline"

// ManifestColumns is the manifest's description of cols (the columns of
// a ManifestTable), for writers of manifests outside this package (the
// distributed finalize step).
func ManifestColumns(cols []pipeline.Column) []ManifestColumn { return manifestColumns(cols) }
