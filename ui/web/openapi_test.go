package web

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The OpenAPI document names every route of /api/v1 with its methods, and
// nothing else.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	s := startSystem(t, testConfig(t))
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if code := s.client(t).do("GET", "/api/v1/openapi.json", nil, &doc); code != http.StatusOK || doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi.json: %d %q", code, doc.OpenAPI)
	}
	var documented, served []string
	for path, ops := range doc.Paths {
		for method := range ops {
			// OpenAPI writes a parameter {id}, echo :id.
			echoPath := regexp.MustCompile(`\{(\w+)\}`).ReplaceAllString(path, ":$1")
			documented = append(documented, strings.ToUpper(method)+" /api/v1"+echoPath)
		}
	}
	for _, r := range s.web.e.Routes() {
		if strings.HasPrefix(r.Path, "/api/v1/") && r.Path != "/api/v1/*" {
			served = append(served, r.Method+" "+r.Path)
		}
	}
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		d, _ := json.MarshalIndent(documented, "", " ")
		sv, _ := json.MarshalIndent(served, "", " ")
		t.Fatalf("documented:\n%s\nserved:\n%s", d, sv)
	}
}
