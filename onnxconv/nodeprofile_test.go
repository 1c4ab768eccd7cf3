package onnxconv

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	ort "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/proto"

	"github.com/modelpick/modelpick/internal/ortenv"
)

// profiled is one converted model in an ONNX Runtime session with ORT's
// own profiler on: it writes every node's kernel time of every run to a
// JSON file when the session ends.
type profiled struct {
	label   string
	s       *ort.AdvancedSession
	in, out *ort.Tensor[float32]
	prefix  string
	convs   []string          // QLinearConv node names, in graph order
	kind    map[string]string // node name -> "dw 3x3 s2", "pw 1x1 s1", "conv 3x3 s2"
}

func openProfiled(b *testing.B, label, file string, opt options) *profiled {
	b.Helper()
	path := filepath.Join(assetsDir(b), "models", "imagenet", file+".tflite")
	data, info, err := convertFile(path, opt)
	if err != nil {
		b.Fatal(err)
	}
	var mp onnx.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		b.Fatal(err)
	}
	p := &profiled{label: label, prefix: filepath.Join(b.TempDir(), "profile"), kind: map[string]string{}}
	for _, n := range mp.Graph.Node {
		if n.OpType != "QLinearConv" {
			continue
		}
		var k, st []int64
		group := int64(1)
		for _, a := range n.Attribute {
			switch a.Name {
			case "kernel_shape":
				k = a.Ints
			case "strides":
				st = a.Ints
			case "group":
				group = a.I
			}
		}
		what := "conv"
		switch {
		case group > 1:
			what = "dw"
		case k[0] == 1 && k[1] == 1:
			what = "pw"
		}
		p.kind[n.Name] = fmt.Sprintf("%s %dx%d s%d", what, k[0], k[1], st[0])
		p.convs = append(p.convs, n.Name)
	}
	if err := ortenv.Init(""); err != nil {
		b.Fatal(err)
	}
	if p.in, err = ort.NewEmptyTensor[float32](ort.NewShape(info.InputShape...)); err != nil {
		b.Fatal(err)
	}
	if p.out, err = ort.NewEmptyTensor[float32](ort.NewShape(info.OutputShape...)); err != nil {
		b.Fatal(err)
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		b.Fatal(err)
	}
	defer so.Destroy()
	for _, err := range []error{so.SetIntraOpNumThreads(1), so.SetInterOpNumThreads(1), so.EnableProfiling(p.prefix)} {
		if err != nil {
			b.Fatal(err)
		}
	}
	if p.s, err = ort.NewAdvancedSessionWithONNXData(data, []string{info.InputName}, []string{info.OutputName},
		[]ort.Value{p.in}, []ort.Value{p.out}, so); err != nil {
		b.Fatal(err)
	}
	in := p.in.GetData()
	for i := range in {
		in[i] = float32(i%251)/125.5 - 1 // any image: the kernels' time does not depend on it
	}
	return p
}

// finish ends the session and returns the mean kernel time per run (µs)
// of each node, keyed by node name (ORT's layout pass renames a node
// X to X_token_N; the suffix is dropped).
func (p *profiled) finish(b *testing.B, runs int) map[string]float64 {
	b.Helper()
	p.s.Destroy()
	p.in.Destroy()
	p.out.Destroy()
	files, _ := filepath.Glob(p.prefix + "*.json")
	if len(files) != 1 {
		b.Fatalf("%s: want one ORT profile, found %v", p.label, files)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		b.Fatal(err)
	}
	var events []struct {
		Cat  string `json:"cat"`
		Name string `json:"name"`
		Dur  int64  `json:"dur"`
		Args struct {
			OpName string `json:"op_name"`
		} `json:"args"`
	}
	if err := json.Unmarshal(raw, &events); err != nil {
		b.Fatalf("%s: %v", p.label, err)
	}
	us := map[string]float64{}
	for _, e := range events {
		name, ok := strings.CutSuffix(e.Name, "_kernel_time")
		if e.Cat != "Node" || !ok {
			continue
		}
		if i := strings.Index(name, "_token_"); i > 0 {
			name = name[:i]
		}
		if _, conv := p.kind[name]; !conv {
			name = "(" + e.Args.OpName + ")" // other operators: by type
		}
		us[name] += float64(e.Dur) / float64(runs)
	}
	return us
}

// BenchmarkNodeProfile compares mobilenet_v2_1.0_224_quant, imported with
// the file's weight zero points (import v1) and symmetric (v2), with its
// twin tf2_mobilenet_v2_1.0_224_ptq node by node, from ONNX Runtime's own
// profiler: one thread, the three sessions run in turn each iteration. It
// prints the kernel time per run summed by kind of node (depthwise,
// pointwise, full convolutions by kernel and stride; other operators by
// type) and for each of the 53 convolutions, which the two networks have
// in the same order.
//
//	go test -run '^$' -bench NodeProfile -benchtime 300x ./onnxconv
//
// It needs the shared assets and fails, rather than skips, without them.
func BenchmarkNodeProfile(b *testing.B) {
	ps := []*profiled{
		openProfiled(b, "tf2 (v2 import)", "tf2_mobilenet_v2_1.0_224_ptq", options{}),
		openProfiled(b, "v2_quant, import v1", "mobilenet_v2_1.0_224_quant", options{weights: weightsInt8}),
		openProfiled(b, "v2_quant, import v2", "mobilenet_v2_1.0_224_quant", options{}),
	}
	if len(ps[0].convs) != len(ps[1].convs) || len(ps[1].convs) != len(ps[2].convs) {
		b.Fatalf("the graphs have %d, %d and %d convolutions", len(ps[0].convs), len(ps[1].convs), len(ps[2].convs))
	}
	runs := 0
	for b.Loop() {
		for k := range ps {
			if err := ps[(k+runs)%len(ps)].s.Run(); err != nil {
				b.Fatal(err)
			}
		}
		runs++
	}
	nodes := make([]map[string]float64, len(ps))
	for i, p := range ps {
		nodes[i] = p.finish(b, runs)
	}
	byKind := make([]map[string]float64, len(ps))
	var kinds []string
	for i, p := range ps {
		byKind[i] = map[string]float64{}
		for name, us := range nodes[i] {
			k, ok := p.kind[name]
			if !ok {
				k = name
			}
			byKind[i][k] += us
			byKind[i]["total"] += us
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	}
	slices.Sort(kinds)
	kinds = append(kinds, "total")
	var sb strings.Builder
	fmt.Fprintf(&sb, "ORT profile, %d runs each, kernel µs per run\n\n| nodes | %s | %s | %s | v1 / tf2 | v2 / tf2 |\n|---|---:|---:|---:|---:|---:|\n",
		runs, ps[0].label, ps[1].label, ps[2].label)
	for _, k := range kinds {
		a, v1, v2 := byKind[0][k], byKind[1][k], byKind[2][k]
		fmt.Fprintf(&sb, "| %s | %.0f | %.0f | %.0f | %s | %s |\n", k, a, v1, v2, ratioText(v1, a), ratioText(v2, a))
	}
	fmt.Fprintf(&sb, "\n| conv | kind (tf2) | kind (v2_quant) | %s | %s | %s | v1 / tf2 | v2 / tf2 |\n|---|---|---|---:|---:|---:|---:|---:|\n",
		ps[0].label, ps[1].label, ps[2].label)
	for i := range ps[0].convs {
		a, v1, v2 := nodes[0][ps[0].convs[i]], nodes[1][ps[1].convs[i]], nodes[2][ps[2].convs[i]]
		fmt.Fprintf(&sb, "| %d | %s | %s | %.1f | %.1f | %.1f | %s | %s |\n", i, ps[0].kind[ps[0].convs[i]], ps[1].kind[ps[1].convs[i]],
			a, v1, v2, ratioText(v1, a), ratioText(v2, a))
	}
	fmt.Print(sb.String())
}

func ratioText(num, den float64) string {
	if den == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", num/den)
}
