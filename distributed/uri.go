package distributed

import (
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strings"
)

// PlanLocation is where a plan URI points: the store (a GCS bucket, or a
// bucket folder below a local directory) and the plan's object name.
type PlanLocation struct {
	// Scheme is "gs" or "file".
	Scheme string
	// Dir is, for file, the directory that holds the bucket folder.
	Dir    string
	Bucket string
	// Name is "{trpid}/{jobver}/_plan.json".
	Name string
}

// ParsePlanURI parses a plan's URI as plan prints it:
// gs://BUCKET/TRP/vNNN/_plan.json or file:///DIR/BUCKET/TRP/vNNN/_plan.json.
func ParsePlanURI(uri string) (PlanLocation, error) {
	u, err := url.Parse(uri)
	if err != nil || uri == "" {
		return PlanLocation{}, fmt.Errorf("plan %q is not a gs:// or file:// URI", uri)
	}
	var loc PlanLocation
	switch u.Scheme {
	case "gs":
		loc = PlanLocation{Scheme: "gs", Bucket: u.Host, Name: strings.TrimPrefix(u.Path, "/")}
		if loc.Bucket == "" {
			return PlanLocation{}, fmt.Errorf("plan %q names no bucket", uri)
		}
	case "file":
		// …/DIR/BUCKET/TRP/vNNN/_plan.json: the plan names TRP and vNNN
		p := filepath.FromSlash(u.Path)
		root := filepath.Dir(filepath.Dir(filepath.Dir(p)))
		loc = PlanLocation{Scheme: "file", Dir: filepath.Dir(root), Bucket: filepath.Base(root),
			Name: strings.Join([]string{filepath.Base(filepath.Dir(filepath.Dir(p))), filepath.Base(filepath.Dir(p)), filepath.Base(p)}, "/")}
	default:
		return PlanLocation{}, fmt.Errorf("plan %q is not a gs:// or file:// URI", uri)
	}
	if path.Base(loc.Name) != "_plan.json" {
		return PlanLocation{}, fmt.Errorf("plan %q does not name a _plan.json", uri)
	}
	return loc, nil
}
