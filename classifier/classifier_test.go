package classifier

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/route"
	"github.com/modelpick/modelpick/routers"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/extract"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/imgtest"
	"github.com/modelpick/modelpick/internal/onnxtest"
	"github.com/modelpick/modelpick/measure"
	"github.com/modelpick/modelpick/premodel"
	"github.com/modelpick/modelpick/profile"
	"github.com/modelpick/modelpick/store"
)

// tinyBundle profiles two tiny ONNX models on a generated set of solid
// colours, extracts features, trains a premodel and writes its bundle.
//
// Model a is right on every colour; b (made cheaper below) is wrong on red
// only. So Algorithm 1 picks b then a, and the premodel should send red
// images to a and the others to b.
func tinyBundle(t *testing.T, learner, fallback string) (bundle string, images []string, specs []inference.Spec) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	for name, w := range map[string][][]float32{"a.onnx": nil, "b.onnx": onnxtest.DefaultWeights(11)} {
		if name == "b.onnx" {
			w[0][9], w[2][8] = 0, 20 // b sends red elsewhere
		}
		b, err := onnxtest.Classifier{Size: 8, Outputs: 11, Weights: w}.Build()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := onnxtest.Write(dir, name, b); err != nil {
			t.Fatal(err)
		}
	}
	sf, err := inference.ParseSpec([]byte(`models:
  - {name: a, files: [a.onnx], input_size: 8, label_offset: 1, num_classes: 10}
  - {name: b, files: [b.onnx], input_size: 8, label_offset: 1, num_classes: 10}
`), dir)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "set")
	labels := []int{8, 9, 7, 9} // red, green, blue, yellow: what model a answers
	entries, err := imgtest.WriteSet(data, 24, 16, func(i int) int { return labels[i%4] })
	if err != nil {
		t.Fatal(err)
	}
	set, err := datasets.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := profile.Run(ctx, profile.Options{Specs: sf.Models, Set: set, Store: st, Correctness: true, Cost: true,
		Meter: measure.NewNone(), Timing: measure.TimingOptions{MinRuns: 3, MaxRuns: 5, Confidence: 0.95, RelHalfWidth: 0.5}}); err != nil {
		t.Fatal(err)
	}
	// Fixed latencies, so the targets do not depend on timing noise.
	for name, ms := range map[string]float64{"a": 2, "b": 1} {
		if err := st.PutCost(ctx, store.CostRow{Model: name, Threads: 1, N: 5, MeanMS: ms, MedianMS: ms, P95MS: ms,
			CILowMS: ms, CIHighMS: ms, EnergyStatus: "not measured", MeasuredAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	names := []string{"avg_brightness", "hue1", "hue5", "contrast"}
	sum, err := extract.Run(ctx, extract.Options{Set: set, Store: st, Names: names, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := profileview.LoadTable(ctx, st, profileview.Options{Criterion: profileview.Top1}, sum.ConfigKey, names)
	if err != nil {
		t.Fatal(err)
	}
	p, err := premodel.Train(s, premodel.Options{Learner: learner, Theta: premodel.DefaultTheta, Fallback: fallback, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Candidates, ","); got != "b,a" {
		t.Fatalf("candidates %s, want b,a", got)
	}
	bundle = filepath.Join(dir, "bundle")
	classNames := make([]string, 10)
	for i := range classNames {
		classNames[i] = fmt.Sprintf("class %d", i)
	}
	if err := writeBundle(bundle, p, s, routers.WriteOptions{Specs: sf.Models, Labels: classNames}); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries[:4] {
		images = append(images, filepath.Join(data, e.File))
	}
	return bundle, images, sf.Models
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestClassifierRoutesAndAnswers(t *testing.T) {
	bundle, images, specs := tinyBundle(t, "knn-cascade", "")
	c, err := Open(bundle, Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	wantModel := []string{"a", "b", "b", "b"} // red goes to the model that is right on it
	wantClass := []int{8, 9, 7, 9}
	for i, img := range images {
		r, err := c.Classify(ctx, read(t, img))
		if err != nil {
			t.Fatal(err)
		}
		if r.Model != wantModel[i] || r.Decision.Reason != route.ReasonPremodel || r.NoPrediction {
			t.Errorf("%s: model %s (%+v), want %s", img, r.Model, r.Decision, wantModel[i])
		}
		if len(r.Labels) != TopK || len(r.Scores) != TopK || r.Labels[0].Index != wantClass[i] ||
			r.Labels[0].Name != fmt.Sprintf("class %d", wantClass[i]) {
			t.Errorf("%s: labels %+v scores %v, want class %d first", img, r.Labels, r.Scores, wantClass[i])
		}
		tm := r.Timings
		if tm.Features <= 0 || tm.Premodel <= 0 || tm.Decode <= 0 || tm.Inference <= 0 ||
			tm.Total < tm.Features+tm.Premodel+tm.Decode+tm.Inference {
			t.Errorf("%s: timings %+v", img, tm)
		}
		// The same shape, and the same answer, as the chosen model alone.
		single, err := New(Config{Router: route.Fixed{Model: r.Model}, Specs: specs, Labels: nil}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := single.Classify(ctx, read(t, img))
		single.Close()
		if err != nil {
			t.Fatal(err)
		}
		if s.Model != r.Model || !reflect.DeepEqual(s.Scores, r.Scores) || s.Labels[0].Index != r.Labels[0].Index ||
			s.Timings.Features != 0 || s.Decision.Reason != route.ReasonFixed {
			t.Errorf("%s: single model %+v, premodel %+v", img, s, r)
		}
	}

	// An unreadable image fails that call only.
	for _, bad := range [][]byte{nil, []byte("not an image"), read(t, images[0])[:40]} {
		if _, err := c.Classify(ctx, bad); err == nil {
			t.Errorf("image of %d bytes accepted", len(bad))
		}
	}
	if _, err := c.Classify(ctx, read(t, images[1])); err != nil {
		t.Errorf("after bad images: %v", err)
	}
}

func TestClassifierConcurrentUse(t *testing.T) {
	bundle, images, _ := tinyBundle(t, "dt", "")
	c, err := Open(bundle, Options{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var data [][]byte
	var want []Result
	for _, img := range images {
		b := read(t, img)
		r, err := c.Classify(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		data, want = append(data, b), append(want, r)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 20 {
				i := (g + k) % len(data)
				r, err := c.Classify(ctx, data[i])
				if err != nil {
					errs <- err
					return
				}
				if r.Model != want[i].Model || !reflect.DeepEqual(r.Labels, want[i].Labels) || !reflect.DeepEqual(r.Scores, want[i].Scores) {
					errs <- fmt.Errorf("goroutine %d image %d: %+v, want %+v", g, i, r, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// A call waiting for a worker gives up with its context.
	short, cancel := context.WithCancel(ctx)
	cancel()
	var hold []*worker
	for range 3 {
		hold = append(hold, <-c.pool)
	}
	if _, err := c.Classify(short, data[0]); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
	for _, w := range hold {
		c.pool <- w
	}
	c.Close()
	c.Close()
	if _, err := c.Classify(ctx, data[0]); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// noneRouter always says "no prediction".
type noneRouter struct{}

func (noneRouter) Needs() route.Needs { return route.Needs{Features: []string{"contrast"}} }
func (noneRouter) Models() []string   { return nil }
func (noneRouter) Route(in route.Input) (route.Decision, error) {
	if x, err := in.Features([]string{"contrast"}); err != nil || len(x) != 1 {
		return route.Decision{}, fmt.Errorf("features %v: %v", x, err)
	}
	return route.Decision{Class: -1, Reason: route.ReasonNoPrediction}, nil
}

func TestClassifierNoPrediction(t *testing.T) {
	_, images, specs := tinyBundle(t, "knn", premodel.FallbackNone)
	c, err := New(Config{Router: noneRouter{}, Specs: specs}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := c.Classify(context.Background(), read(t, images[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !r.NoPrediction || r.Model != "" || len(r.Labels) != 0 || r.Labels == nil || r.Timings.Inference != 0 {
		t.Errorf("no prediction: %+v", r)
	}
	if _, err := New(Config{Router: route.Fixed{Model: "zzz"}, Specs: specs}, Options{}); err == nil ||
		!strings.Contains(err.Error(), "zzz") {
		t.Errorf("unknown model: %v", err)
	}
	if _, err := New(Config{Router: route.Fixed{Model: "a"}, Specs: specs, Labels: []string{"x"}}, Options{}); err == nil ||
		!strings.Contains(err.Error(), "class names") {
		t.Errorf("short labels: %v", err)
	}
}

// writeBundle writes a premodel's bundle (routers.FromPremodel).
func writeBundle(dir string, p *premodel.Premodel, s *profileview.Table, o routers.WriteOptions) error {
	tr, err := routers.FromPremodel(p, s)
	if err != nil {
		return err
	}
	return routers.Write(dir, tr, o)
}
