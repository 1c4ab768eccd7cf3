package profile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelpick/modelpick/internal/settings"

	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/store"
)

// BenchmarkProfileVsBare measures the profiling loop (read, hash, decode,
// preprocess, run, top-5, batched store writes) against a bare ONNX
// Runtime loop (read, decode, preprocess, run) over the same model and
// images, alternating the two in each iteration so machine noise hits both,
// and reports their ratio (goal: at most 1.05). The cheapest ladder model
// makes the bookkeeping's share as large as it can be.
//
//	go test -run '^$' -bench ProfileVsBare -benchtime 5x ./profile
func BenchmarkProfileVsBare(b *testing.B) {
	specs, set := ladder(b, "mobilenet_v1_0.25_128")
	const n = 100
	set.Items = set.Items[:n]
	m, err := inference.Load(specs[0], inference.Options{Threads: 1, CacheDir: settings.Cache()})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	models := []*inference.Model{m}
	dir := b.TempDir()

	bare := func() error {
		for _, it := range set.Items {
			data, err := os.ReadFile(filepath.Join(set.Dir, it.File))
			if err != nil {
				return err
			}
			img, err := inference.DecodeImage(data)
			if err != nil {
				return err
			}
			err = m.SetInput(img)
			img.Close()
			if err != nil {
				return err
			}
			if err := m.Run(); err != nil {
				return err
			}
		}
		return nil
	}
	var tBare, tProf time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := store.Open(filepath.Join(dir, fmt.Sprintf("b%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		prof := func() error {
			_, err := RunModels(context.Background(), Options{Specs: specs, Set: set, Store: st, Correctness: true}, models)
			return err
		}
		first, second := bare, prof
		if i%2 == 1 {
			first, second = prof, bare
		}
		for j, f := range []func() error{first, second} {
			t0 := time.Now()
			if err := f(); err != nil {
				b.Fatal(err)
			}
			d := time.Since(t0)
			if (j == 0) == (i%2 == 0) {
				tBare += d
			} else {
				tProf += d
			}
		}
		st.Close()
	}
	b.ReportMetric(float64(tBare.Microseconds())/float64(b.N*n), "bare_us/img")
	b.ReportMetric(float64(tProf.Microseconds())/float64(b.N*n), "profile_us/img")
	b.ReportMetric(float64(tProf)/float64(tBare), "profile/bare")
}
