package onnxconv

import (
	"bufio"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/modelpick/modelpick/internal/ortenv"
	"github.com/modelpick/modelpick/internal/settings"
)

// Tests on the shared model ladder (../shared/assets). They fail, rather
// than skip, when the assets are missing: a silent skip would hide a broken
// setup.

// ladder lists the shared models as chains of files (the v1 1.0 model is an
// embedding extractor feeding a head), with the facts assets/README.md
// gives: input scale and zero point, top-1/top-5 on imagenet-val-dev, and
// approximate MMACs.
type ladderModel struct {
	files      []string
	scale      float32
	zp         int64
	top1, top5 float64
	mmacs      float64
}

// name is the model's name in experiments/models/ladder.yaml: the first
// file's name without its quantisation suffix.
func (lm ladderModel) name() string {
	n := lm.files[0]
	for _, suffix := range []string{"_quant", "_ptq"} {
		if i := strings.Index(n, suffix); i > 0 {
			return n[:i]
		}
	}
	return n
}

func ladder() []ladderModel {
	return []ladderModel{
		{[]string{"mobilenet_v1_0.25_128_quant"}, 0.0078125, 128, 57.6, 82.4, 13.6},
		{[]string{"mobilenet_v1_0.5_160_quant"}, 0.0078125, 128, 72.9, 91.0, 76.5},
		{[]string{"mobilenet_v1_0.75_192_quant"}, 0.0078125, 128, 77.7, 93.0, 239.3},
		{[]string{"mobilenet_v1_1.0_224_quant_embedding_extractor", "mobilenet_v1_1.0_224_quant_head_layers"}, 0.0078125, 128, 78.4, 94.4, 568.7},
		{[]string{"mobilenet_v2_1.0_224_quant"}, 0.0078125, 128, 79.8, 94.2, 300.8},
		{[]string{"tf2_mobilenet_v2_1.0_224_ptq"}, 0.0078431, 127, 79.2, 94.7, 300.8},
		{[]string{"mobilenet_edgetpu_0.75_224_quant"}, 0.0115707, 123, 81.0, 95.0, 624.5},
	}
}

func assetsDir(t testing.TB) string {
	t.Helper()
	dir := settings.Assets()
	if _, err := os.Stat(filepath.Join(dir, "models", "imagenet")); err != nil {
		t.Fatalf("shared assets not found (set %s): %v", settings.EnvAssets, err)
	}
	return dir
}

// session is one converted model bound to its input and output tensors.
type session struct {
	info    Info
	in, out *ort.Tensor[float32]
	s       *ort.AdvancedSession
}

func openSession(t testing.TB, data []byte, info Info) *session {
	t.Helper()
	if err := ortenv.Init(""); err != nil {
		t.Fatalf("ONNX Runtime: %v", err)
	}
	in, err := ort.NewEmptyTensor[float32](ort.NewShape(info.InputShape...))
	if err != nil {
		t.Fatal(err)
	}
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(info.OutputShape...))
	if err != nil {
		t.Fatal(err)
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	// One thread: latencies comparable across machines, and the runs do not
	// fight other tests for the cores.
	if err := opts.SetIntraOpNumThreads(1); err != nil {
		t.Fatal(err)
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewAdvancedSessionWithONNXData(data, []string{info.InputName}, []string{info.OutputName},
		[]ort.Value{in}, []ort.Value{out}, opts)
	if err != nil {
		t.Fatalf("%s: session: %v", info.Name, err)
	}
	ss := &session{info: info, in: in, out: out, s: s}
	t.Cleanup(func() {
		ss.s.Destroy()
		ss.in.Destroy()
		ss.out.Destroy()
	})
	return ss
}

// openChain converts and opens every file of a ladder model.
func openChain(t testing.TB, dir string, lm ladderModel, opt options) []*session {
	t.Helper()
	var chain []*session
	for _, f := range lm.files {
		data, info, err := convertFile(filepath.Join(dir, "models", "imagenet", f+".tflite"), opt)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, openSession(t, data, info))
	}
	return chain
}

// run feeds the first model's input through the chain (passing the float
// tensor from each model to the next) and returns the last output.
func run(t testing.TB, chain []*session) []float32 {
	t.Helper()
	for k, s := range chain {
		if k > 0 {
			copy(s.in.GetData(), chain[k-1].out.GetData())
		}
		if err := s.s.Run(); err != nil {
			t.Fatalf("%s: run: %v", s.info.Name, err)
		}
	}
	return chain[len(chain)-1].out.GetData()
}

type labelled struct {
	file  string
	label int
}

func readLabels(t testing.TB, dir string) []labelled {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "labels.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []labelled
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 {
			continue
		}
		l, err := strconv.Atoi(fields[1])
		if err != nil {
			t.Fatalf("labels.txt: %q", sc.Text())
		}
		out = append(out, labelled{fields[0], l})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// preprocess is TF-slim's evaluation preprocessing, for these tests only
// (the project's own goes through OpenCV): central crop of 87.5% with TF's
// integer offsets, then plain bilinear resizing with half-pixel centres and
// no antialiasing (OpenCV's INTER_LINEAR), rounded to bytes, then
// (pixel-128)/128 into dst (NHWC, RGB).
func preprocess(t testing.TB, path string, size int, dst []float32) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	h, w := float64(b.Dy()), float64(b.Dx())
	y0, x0 := int((h-h*0.875)/2), int((w-w*0.875)/2)
	crop := image.Rect(b.Min.X+x0, b.Min.Y+y0, b.Max.X-x0, b.Max.Y-y0)
	src := image.NewRGBA(image.Rect(0, 0, crop.Dx(), crop.Dy()))
	draw.Draw(src, src.Bounds(), img, crop.Min, draw.Src)
	sw, sh := crop.Dx(), crop.Dy()
	coord := func(o, in int) (int, int, float64) {
		f := (float64(o)+0.5)*float64(in)/float64(size) - 0.5
		f = max(f, 0)
		i0 := min(int(f), in-1)
		return i0, min(i0+1, in-1), f - float64(i0)
	}
	for y := range size {
		ya, yb, dy := coord(y, sh)
		for x := range size {
			xa, xb, dx := coord(x, sw)
			for c := range 3 {
				p := func(xx, yy int) float64 { return float64(src.Pix[yy*src.Stride+xx*4+c]) }
				top := p(xa, ya) + (p(xb, ya)-p(xa, ya))*dx
				bot := p(xa, yb) + (p(xb, yb)-p(xa, yb))*dx
				v := math.Round(top + (bot-top)*dy)
				dst[(y*size+x)*3+c] = float32((v - 128) / 128)
			}
		}
	}
}

// topK returns the k best ImageNet classes (0..999) of 1001 scores whose
// index 0 is "background"; ties keep the lower class first.
func topK(scores []float32, k int) []int {
	idx := make([]int, len(scores)-1)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case scores[a+1] > scores[b+1]:
			return -1
		case scores[a+1] < scores[b+1]:
			return 1
		}
		return 0
	})
	return idx[:k]
}

// TestLadder converts all eight shared files, checks their interfaces
// against assets/README.md and runs each model on a few images.
func TestLadder(t *testing.T) {
	dir := assetsDir(t)
	imgDir := filepath.Join(dir, "images", "imagenet-val-dev")
	images := readLabels(t, imgDir)[:4]
	hits := 0
	for _, lm := range ladder() {
		chain := openChain(t, dir, lm, options{})
		first, last := chain[0].info, chain[len(chain)-1].info
		if math.Abs(float64(first.InputScale-lm.scale)) > 1e-6 || first.InputZeroPoint != lm.zp || first.InputType != "UINT8" {
			t.Errorf("%s: input quantisation %g/%d %s, README says %g/%d UINT8", first.Name, first.InputScale, first.InputZeroPoint, first.InputType, lm.scale, lm.zp)
		}
		if !slices.Equal(last.OutputShape, []int64{1, 1001}) || last.OutputScale != 1.0/256 || last.OutputZeroPoint != 0 {
			t.Errorf("%s: output %v scale %g zp %d, want [1 1001] 1/256 0", last.Name, last.OutputShape, last.OutputScale, last.OutputZeroPoint)
		}
		if len(chain) == 2 {
			if !slices.Equal(first.OutputShape, []int64{1, 1, 1, 1024}) || !slices.Equal(chain[1].info.InputShape, first.OutputShape) {
				t.Errorf("v1 1.0 extractor output %v, head input %v; want [1 1 1 1024] both", first.OutputShape, chain[1].info.InputShape)
			}
		}
		var macs int64
		for _, s := range chain {
			macs += s.info.MACs
			// Files already symmetric (tf2, EdgeTPU) are copied as they are;
			// in the per-tensor uint8 files 0.3-3.1% of channels do not fit
			// int8 and are requantised (symmetricWeights): far more means
			// the exact path broke.
			req, all := s.info.RequantisedChannels, s.info.WeightChannels
			t.Logf("%s: %.2f M MACs, %d of %d weight channels requantised", s.info.Name, float64(s.info.MACs)/1e6, req, all)
			if all == 0 || req*25 > all || (strings.Contains(s.info.Name, "ptq") || strings.Contains(s.info.Name, "edgetpu")) && req != 0 {
				t.Errorf("%s: %d of %d weight channels requantised", s.info.Name, req, all)
			}
		}
		if d := float64(macs)/1e6 - lm.mmacs; d < -0.051 || d > 0.051 {
			t.Errorf("%s: %.2f M MACs in the graph, README says %.1f", first.Name, float64(macs)/1e6, lm.mmacs)
		}
		size := int(first.InputShape[1])
		for _, im := range images {
			preprocess(t, filepath.Join(imgDir, im.file), size, chain[0].in.GetData())
			out := run(t, chain)
			var sum float64
			for _, p := range out {
				if p < 0 || p > 1 {
					t.Fatalf("%s on %s: probability %g", last.Name, im.file, p)
				}
				sum += float64(p)
			}
			// 1001 probabilities each rounded to 1/256 (TFLite's uint8
			// output): when many small ones round the same way the sum drifts;
			// up to 0.46 was seen on all 663 images.
			if math.Abs(sum-1) > 0.5 {
				t.Errorf("%s on %s: probabilities sum to %.3f", last.Name, im.file, sum)
			}
			if slices.Contains(topK(out, 5), im.label) {
				hits++
			}
			if len(chain) == 2 {
				emb := chain[0].out.GetData()
				if slices.ContainsFunc(emb, func(v float32) bool { return v < 0 || v > 6.01 }) {
					t.Errorf("embedding outside [0, 6] (ReLU6 average)")
				}
			}
		}
	}
	// The ladder's top-5 is 80-95%; these four images give 20 hits of 28. A
	// broken conversion scores about 5/1000 per image.
	if total := 4 * len(ladder()); hits < total/2 {
		t.Errorf("top-5 hits %d of %d", hits, total)
	}
}

// BenchmarkLowering compares the converter's variants on the ladder,
// single-threaded: go test ./onnxconv -run XXX -bench Lowering.
func BenchmarkLowering(b *testing.B) {
	dir := assetsDir(b)
	for _, lm := range ladder() {
		for _, v := range []struct {
			name string
			opt  options
		}{
			{"qlinear", options{}},
			{"qdq", options{lowering: lowerQDQ}},
			{"qlinear-u8weights", options{weights: weightsUint8}},
			{"qlinear-int8acts", options{keepInt8Activations: true}},
		} {
			b.Run(fmt.Sprintf("%s/%s", lm.files[0], v.name), func(b *testing.B) {
				chain := openChain(b, dir, lm, v.opt)
				run(b, chain)
				b.ResetTimer()
				for range b.N {
					run(b, chain)
				}
			})
		}
	}
}
