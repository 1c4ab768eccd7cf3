package serve

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// spec is the part of openapi.yaml these checks read.
type spec struct {
	OpenAPI    string                                                   `yaml:"openapi"`
	Paths      map[string]map[string]struct{ Responses map[string]any } `yaml:"paths"`
	Components struct {
		Schemas struct {
			Error struct {
				Properties struct {
					Kind struct {
						Enum []string `yaml:"enum"`
					} `yaml:"kind"`
				} `yaml:"properties"`
			} `yaml:"Error"`
		} `yaml:"schemas"`
	} `yaml:"components"`
}

func readSpec(t *testing.T) spec {
	t.Helper()
	var s spec
	if err := yaml.Unmarshal([]byte(openAPI), &s); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(s.OpenAPI, "3.") {
		t.Fatalf("openapi.yaml: version %q", s.OpenAPI)
	}
	return s
}

// TestOpenAPIMatchesRoutes checks the description lists exactly the
// handler's routes, every status code the handler tests produce on each,
// and every error kind.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	s := readSpec(t)
	var described []string
	for path, ops := range s.Paths {
		for method := range ops {
			described = append(described, method+" "+path)
		}
	}
	sort.Strings(described)
	served := routeList()
	sort.Strings(served)
	if !slices.Equal(described, served) {
		t.Errorf("openapi.yaml describes %v, the server has %v", described, served)
	}
	for _, c := range statusCases(t) {
		r := c.req(t)
		method := strings.ToLower(r.Method)
		if r.Method == http.MethodHead {
			method = "get"
		}
		ops, ok := s.Paths[r.URL.Path]
		if !ok {
			continue // unknown paths: the 404 is not part of any route
		}
		op, ok := ops[method]
		if !ok {
			// A method the route does not have: answered 405, which
			// every route declares under its own method.
			for _, o := range ops {
				op = o
			}
		}
		if _, ok := op.Responses[strconv.Itoa(c.code)]; !ok {
			t.Errorf("%s: %s %s answers %d, not in openapi.yaml", c.name, r.Method, r.URL.Path, c.code)
		}
	}
	kinds := []string{kindEmpty, kindMultipart, kindBodyTooBig, kindReadTimeout, kindRead, kindNotImage, kindBadHeader,
		kindTruncated, kindPixels, kindDecoded, kindScans, kindBudget, kindUndecodable, kindOverloaded, kindBudgetWait,
		kindQueueWait, kindTimeout, kindCanceled, kindInternal, kindMethod, kindNotFound}
	enum := s.Components.Schemas.Error.Properties.Kind.Enum
	sort.Strings(kinds)
	sort.Strings(enum)
	if !slices.Equal(kinds, enum) {
		t.Errorf("error kinds: openapi.yaml has %v, the server %v", enum, kinds)
	}
}

func TestOpenAPIServed(t *testing.T) {
	s := newTestServer(t, Options{})
	rec := doRaw(t, s, http.MethodGet, "/openapi.yaml")
	if rec != openAPI {
		t.Error("GET /openapi.yaml differs from openapi.yaml")
	}
}
