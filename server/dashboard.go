package server

import (
	"github.com/ora2gcs/ora2gcs/server/web"
)

// mountDashboard serves the embedded dashboard: the page at "/" and its
// assets under "/ui/". They carry no data and need no key; every call the
// page makes goes to the authenticated API. The routes add no middleware, so
// the API's requests pay nothing for them.
func (s *Server) mountDashboard() {
	h, err := web.New()
	if err != nil { // only a binary built without server/web/static; tested
		s.log.Error("dashboard disabled", "error", err.Error())
		return
	}
	s.app.Get("/", h.Index)
	s.app.Get(web.AssetPrefix+"*", h.Asset)
}
