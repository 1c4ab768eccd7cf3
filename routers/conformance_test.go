package routers

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/modelpick/modelpick/baselines"
	"github.com/modelpick/modelpick/bundle"
	"github.com/modelpick/modelpick/committee"
	"github.com/modelpick/modelpick/internal/premodeltest"
	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/premodel"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/route"
	"github.com/modelpick/modelpick/store"
)

// TestConformance runs every registered router kind through the same
// checks: it trains on the synthetic store, survives a bundle round trip
// with the same decisions, decides deterministically, asks only for what
// it declared, runs and answers only with the bundle's models, and its
// bundle refuses a tampered file.
func TestConformance(t *testing.T) {
	dir := t.TempDir()
	world := premodeltest.World{N: 90, Seed: 11, Dataset: "train", Backbone: "small"}
	path, specs := premodeltest.MakeStore(t, dir, world)
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for name, kind := range Kinds() {
		t.Run(name, func(t *testing.T) {
			learner := kind.Learner
			if learner == "" {
				learner = "knn-cascade"
			}
			o := TrainOptions{Store: st, Criterion: profileview.Top1, Theta: premodel.DefaultTheta, Seed: 1, Learner: learner,
				Params: learners.Params{K: 3}, Features: premodeltest.Names, Backbone: "small", Rule: baselines.RuleShared,
				Vectors: premodeltest.Vectors(t, world)}
			tr, err := kind.Train(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Manifest.Router != name {
				t.Errorf("trained a %q router", tr.Manifest.Router)
			}
			out := filepath.Join(dir, "bundle-"+name)
			if err := Write(out, tr, WriteOptions{Specs: specs}); err != nil {
				t.Fatal(err)
			}
			l, err := Open(out)
			if err != nil {
				t.Fatal(err)
			}
			var bundled []string
			for _, s := range l.Specs {
				bundled = append(bundled, s.Name)
			}
			if !slices.Equal(bundled, l.Router.Models()) || !slices.Equal(l.Router.Models(), tr.Router.Models()) ||
				!reflect.DeepEqual(l.Router.Needs(), tr.Router.Needs()) {
				t.Errorf("bundle models %v, loaded router %v %+v, trained %v %+v", bundled, l.Router.Models(), l.Router.Needs(),
					tr.Router.Models(), tr.Router.Needs())
			}
			models := map[string]bool{}
			for i := range 60 {
				in := &probe{t: t, image: i, needs: l.Router.Needs(), models: l.Router.Models()}
				d1, err1 := tr.Router.Route(in)
				d2, err2 := l.Router.Route(in)
				d3, err3 := l.Router.Route(in)
				if err1 != nil || err2 != nil || err3 != nil || !reflect.DeepEqual(d1, d2) || !reflect.DeepEqual(d2, d3) {
					t.Fatalf("image %d: trained %+v (%v), loaded %+v (%v), again %+v (%v)", i, d1, err1, d2, err2, d3, err3)
				}
				answer := d2.Model
				if d2.Answer != nil {
					// An answer that is no single model's output: a
					// committee of the models the router ran.
					if answer != committee.CommitteeName(d2.Ran) || len(d2.Ran) < 2 {
						t.Errorf("image %d: answer of its own named %q, not the committee of the models it ran %v", i, answer, d2.Ran)
					}
					answer = ""
				}
				for _, m := range append(slices.Clone(d2.Ran), answer) {
					if m != "" && !slices.Contains(bundled, m) {
						t.Errorf("image %d: answered with %s, which the bundle does not hold", i, m)
					}
					models[m] = true
				}
			}
			if len(models) == 0 {
				t.Error("no decision named a model")
			}
			// Every file the manifest lists is checked.
			for _, f := range l.Manifest.Files {
				p := filepath.Join(out, filepath.FromSlash(f.Path))
				orig, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				changed := slices.Clone(orig)
				changed = append(changed, 'x')
				if err := os.WriteFile(p, changed, 0o644); err != nil {
					t.Fatal(err)
				}
				if _, err := Open(out); !errors.Is(err, bundle.ErrBundle) {
					t.Errorf("tampered %s: %v", f.Path, err)
				}
				if err := os.WriteFile(p, orig, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// probe is one synthetic image as a router sees it: features and an
// embedding that follow the synthetic world's contrast, and model outputs
// drawn from a hash of (image, model). It fails the test when a router
// asks for anything it did not declare.
type probe struct {
	t      *testing.T
	image  int
	needs  route.Needs
	models []string
}

func (p *probe) contrast() float64 { return float64(p.image%30) / 29 }

func (p *probe) Features(names []string) ([]float64, error) {
	if !slices.Equal(names, p.needs.Features) {
		p.t.Errorf("features %v asked, %v declared", names, p.needs.Features)
	}
	c := p.contrast()
	return []float64{c, 0.3 * c}, nil
}

func (p *probe) Embedding(model string) ([]float64, error) {
	if model != p.needs.Backbone {
		p.t.Errorf("embedding of %s asked, backbone %q declared", model, p.needs.Backbone)
	}
	c := p.contrast()
	return []float64{c, 0.3 * c, 1 - c, 0.5 * c * c}, nil
}

func (p *probe) Run(model string) (route.Output, error) {
	if !slices.Contains(p.models, model) {
		p.t.Errorf("run of %s, not among the router's models %v", model, p.models)
		return route.Output{}, fmt.Errorf("no model %s", model)
	}
	scores := make([]float32, 10)
	for k := range scores {
		h := fnv.New32a()
		fmt.Fprintf(h, "%d/%s/%d", p.image, model, k)
		scores[k] = float32(h.Sum32()%1000) / 1000
	}
	return route.Output{Model: model, Scores: scores}, nil
}
