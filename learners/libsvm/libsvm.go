package libsvm

/*
#cgo CFLAGS: -I/usr/include/libsvm
#cgo LDFLAGS: -l:libsvm.a -lstdc++ -lm
#include <stdlib.h>
#include <svm.h>

static void modelpick_svm_quiet(const char *s) { (void)s; }
static void modelpick_svm_silence(void) { svm_set_print_string_function(modelpick_svm_quiet); }
*/
import "C"

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"unsafe"
)

// Version is the LIBSVM version the package was built against (324 for 3.24).
func Version() int { return int(C.libsvm_version) }

// Params are the C-SVC training settings. Zero values take LIBSVM's own
// defaults (those of svm-train): C = 1, Gamma = 1/features, CacheMB = 100,
// Eps = 0.001.
type Params struct {
	C           float64 // cost of a margin violation
	Gamma       float64 // RBF kernel width: K(u,v) = exp(-Gamma*|u-v|^2)
	Probability bool    // also fit Platt scaling (about 5x the training time)
	CacheMB     float64 // kernel cache size
	Eps         float64 // stopping tolerance
	Seed        int64   // seeds the shuffles of probability training
}

// trainMu serialises the parts of LIBSVM that use process-wide C state: the
// print hook and rand()/srand(). It guards no Go data.
var trainMu sync.Mutex

// Model is a trained C-SVC model with an RBF kernel. Predictions are safe
// for concurrent use.
type Model struct {
	d modelData
	h *handle
}

// handle owns the C copy of a model; a cleanup frees it once no Model refers
// to the handle any more.
type handle struct {
	c *C.struct_svm_model
}

// modelData is the Go copy of a LIBSVM model: everything svm_predict* reads.
type modelData struct {
	Dims    int // features per row at training time
	Gamma   float64
	NrClass int
	Labels  []int
	NSV     []int
	SV      [][]node    // l support vectors, sparse (index, value)
	SVCoef  [][]float64 // [nr_class-1][l]
	Rho     []float64   // nr_class*(nr_class-1)/2
	ProbA   []float64   // empty when trained without probabilities
	ProbB   []float64
}

type node struct {
	Index int
	Value float64
}

// ErrInput reports training or prediction input LIBSVM cannot use.
var ErrInput = errors.New("libsvm: bad input")

// Train fits a C-SVC model with an RBF kernel on dense rows x (all of the
// same length) and integer labels y. At least two distinct labels are
// needed.
func Train(x [][]float64, y []int, p Params) (*Model, error) {
	n := len(x)
	if n == 0 || len(y) != n {
		return nil, fmt.Errorf("libsvm: train on %d rows and %d labels: %w", n, len(y), ErrInput)
	}
	dims := len(x[0])
	if dims == 0 {
		return nil, fmt.Errorf("libsvm: rows have no features: %w", ErrInput)
	}
	distinct := map[int]bool{}
	for i, row := range x {
		if len(row) != dims {
			return nil, fmt.Errorf("libsvm: row %d has %d features, row 0 has %d: %w", i, len(row), dims, ErrInput)
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("libsvm: row %d feature %d is %v: %w", i, j, v, ErrInput)
			}
		}
		distinct[y[i]] = true
	}
	if len(distinct) < 2 {
		return nil, fmt.Errorf("libsvm: training needs at least two distinct labels, got %d: %w", len(distinct), ErrInput)
	}
	if p.C == 0 {
		p.C = 1
	}
	if p.Gamma == 0 {
		p.Gamma = 1 / float64(dims)
	}
	if p.CacheMB == 0 {
		p.CacheMB = 100
	}
	if p.Eps == 0 {
		p.Eps = 1e-3
	}

	// Problem: y, x (row pointers) and one block of nodes, all in C memory.
	stride := dims + 1 // LIBSVM ends each vector with index -1
	cy := (*C.double)(cAlloc(n, C.sizeof_double))
	defer C.free(unsafe.Pointer(cy))
	cx := (**C.struct_svm_node)(cAlloc(n, C.size_t(unsafe.Sizeof(uintptr(0)))))
	defer C.free(unsafe.Pointer(cx))
	space := (*C.struct_svm_node)(cAlloc(n*stride, C.sizeof_struct_svm_node))
	defer C.free(unsafe.Pointer(space))
	ys := unsafe.Slice(cy, n)
	xs := unsafe.Slice(cx, n)
	nodes := unsafe.Slice(space, n*stride)
	for i, row := range x {
		ys[i] = C.double(y[i])
		fillNodes(nodes[i*stride:(i+1)*stride], row)
		xs[i] = &nodes[i*stride]
	}
	prob := (*C.struct_svm_problem)(cAlloc(1, C.sizeof_struct_svm_problem))
	defer C.free(unsafe.Pointer(prob))
	prob.l = C.int(n)
	prob.y = cy
	prob.x = cx

	param := (*C.struct_svm_parameter)(cAlloc(1, C.sizeof_struct_svm_parameter))
	defer C.free(unsafe.Pointer(param))
	param.svm_type = C.C_SVC
	param.kernel_type = C.RBF
	param.degree = 3
	param.gamma = C.double(p.Gamma)
	param.coef0 = 0
	param.cache_size = C.double(p.CacheMB)
	param.eps = C.double(p.Eps)
	param.C = C.double(p.C)
	param.nu = 0.5
	param.p = 0.1
	param.shrinking = 1
	if p.Probability {
		param.probability = 1
	}
	if msg := C.svm_check_parameter(prob, param); msg != nil {
		return nil, fmt.Errorf("libsvm: parameters: %s: %w", C.GoString(msg), ErrInput)
	}

	trainMu.Lock()
	C.modelpick_svm_silence()
	if p.Probability {
		C.srand(C.uint(uint64(p.Seed)))
	}
	cm := C.svm_train(prob, param)
	trainMu.Unlock()
	if cm == nil {
		return nil, errors.New("libsvm: svm_train returned no model")
	}
	// The trained model's support vectors point into space (free_sv = 0), so
	// copy everything out before space is freed, then rebuild.
	d := copyModel(cm)
	d.Dims = dims
	C.svm_free_and_destroy_model(&cm)
	return newModel(d)
}

// cAlloc returns zeroed C memory for n elements of size bytes; it panics if
// the C allocator fails, as Go's own allocator would.
func cAlloc(n int, size C.size_t) unsafe.Pointer {
	p := C.calloc(C.size_t(max(n, 1)), size)
	if p == nil {
		panic("libsvm: C allocation failed")
	}
	return p
}

func fillNodes(dst []C.struct_svm_node, row []float64) {
	for j, v := range row {
		dst[j].index = C.int(j + 1) // LIBSVM feature indices start at 1
		dst[j].value = C.double(v)
	}
	dst[len(row)].index = -1
}

func copyModel(cm *C.struct_svm_model) modelData {
	k, l := int(cm.nr_class), int(cm.l)
	d := modelData{
		Gamma:   float64(cm.param.gamma),
		NrClass: k,
		Labels:  make([]int, k),
		NSV:     make([]int, k),
		SV:      make([][]node, l),
		SVCoef:  make([][]float64, max(k-1, 0)),
	}
	for i, v := range unsafe.Slice(cm.label, k) {
		d.Labels[i] = int(v)
	}
	for i, v := range unsafe.Slice(cm.nSV, k) {
		d.NSV[i] = int(v)
	}
	if l > 0 {
		for i, sv := range unsafe.Slice(cm.SV, l) {
			for p := sv; p.index != -1; p = (*C.struct_svm_node)(unsafe.Add(unsafe.Pointer(p), C.sizeof_struct_svm_node)) {
				d.SV[i] = append(d.SV[i], node{Index: int(p.index), Value: float64(p.value)})
			}
		}
	}
	for c, row := range unsafe.Slice(cm.sv_coef, max(k-1, 0)) {
		d.SVCoef[c] = goFloats(row, l)
	}
	pairs := k * (k - 1) / 2
	d.Rho = goFloats(cm.rho, pairs)
	if cm.probA != nil && cm.probB != nil {
		d.ProbA = goFloats(cm.probA, pairs)
		d.ProbB = goFloats(cm.probB, pairs)
	}
	return d
}

func goFloats(p *C.double, n int) []float64 {
	out := make([]float64, n)
	if n == 0 || p == nil {
		return out
	}
	for i, v := range unsafe.Slice(p, n) {
		out[i] = float64(v)
	}
	return out
}

func cFloats(v []float64) *C.double {
	p := (*C.double)(cAlloc(len(v), C.sizeof_double))
	s := unsafe.Slice(p, max(len(v), 1))
	for i, x := range v {
		s[i] = C.double(x)
	}
	return p
}

func cInts(v []int) *C.int {
	p := (*C.int)(cAlloc(len(v), C.sizeof_int))
	s := unsafe.Slice(p, max(len(v), 1))
	for i, x := range v {
		s[i] = C.int(x)
	}
	return p
}

// newModel builds the C model from d in the layout svm_load_model produces,
// so svm_free_and_destroy_model releases it.
func newModel(d modelData) (*Model, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	k, l := d.NrClass, len(d.SV)
	cm := (*C.struct_svm_model)(cAlloc(1, C.sizeof_struct_svm_model))
	cm.param.svm_type = C.C_SVC
	cm.param.kernel_type = C.RBF
	cm.param.gamma = C.double(d.Gamma)
	cm.nr_class = C.int(k)
	cm.l = C.int(l)
	cm.label = cInts(d.Labels)
	cm.nSV = cInts(d.NSV)
	cm.rho = cFloats(d.Rho)
	if len(d.ProbA) > 0 {
		cm.probA = cFloats(d.ProbA)
		cm.probB = cFloats(d.ProbB)
		cm.param.probability = 1
	}
	coef := (**C.double)(cAlloc(k-1, C.size_t(unsafe.Sizeof(uintptr(0)))))
	rows := unsafe.Slice(coef, k-1)
	for c := range rows {
		rows[c] = cFloats(d.SVCoef[c])
	}
	cm.sv_coef = coef
	if l > 0 {
		total := 0
		for _, sv := range d.SV {
			total += len(sv) + 1
		}
		sv := (**C.struct_svm_node)(cAlloc(l, C.size_t(unsafe.Sizeof(uintptr(0)))))
		block := unsafe.Slice((*C.struct_svm_node)(cAlloc(total, C.sizeof_struct_svm_node)), total)
		svs := unsafe.Slice(sv, l)
		at := 0
		for i, vec := range d.SV {
			svs[i] = &block[at]
			for _, nd := range vec {
				block[at].index = C.int(nd.Index)
				block[at].value = C.double(nd.Value)
				at++
			}
			block[at].index = -1
			at++
		}
		cm.SV = sv
	}
	cm.free_sv = 1 // SV[0] starts one malloc'd block, as after svm_load_model
	h := &handle{c: cm}
	runtime.AddCleanup(h, func(cm *C.struct_svm_model) { C.svm_free_and_destroy_model(&cm) }, cm)
	return &Model{d: d, h: h}, nil
}

// check guards newModel against stored data that would make LIBSVM read
// out of bounds.
func (d modelData) check() error {
	k, l := d.NrClass, len(d.SV)
	pairs := k * (k - 1) / 2
	switch {
	case k < 2:
		return fmt.Errorf("libsvm: model has %d classes, want >= 2: %w", k, ErrInput)
	case len(d.Labels) != k || len(d.NSV) != k:
		return fmt.Errorf("libsvm: model has %d labels and %d class counts for %d classes: %w", len(d.Labels), len(d.NSV), k, ErrInput)
	case len(d.SVCoef) != k-1 || len(d.Rho) != pairs:
		return fmt.Errorf("libsvm: model coefficient tables do not fit %d classes: %w", k, ErrInput)
	case len(d.ProbA) != len(d.ProbB) || (len(d.ProbA) != 0 && len(d.ProbA) != pairs):
		return fmt.Errorf("libsvm: model probability tables do not fit %d classes: %w", k, ErrInput)
	case d.Dims < 1:
		return fmt.Errorf("libsvm: model has %d features: %w", d.Dims, ErrInput)
	case !(d.Gamma > 0):
		return fmt.Errorf("libsvm: model gamma %v: %w", d.Gamma, ErrInput)
	}
	sum := 0
	for _, v := range d.NSV {
		sum += v
	}
	if sum != l {
		return fmt.Errorf("libsvm: class counts sum to %d, model has %d support vectors: %w", sum, l, ErrInput)
	}
	for _, row := range d.SVCoef {
		if len(row) != l {
			return fmt.Errorf("libsvm: coefficient row of %d, want %d: %w", len(row), l, ErrInput)
		}
	}
	for i, sv := range d.SV {
		prev := 0
		for _, nd := range sv {
			if nd.Index <= prev || nd.Index > d.Dims {
				return fmt.Errorf("libsvm: support vector %d: feature indices not increasing from 1: %w", i, ErrInput)
			}
			prev = nd.Index
		}
	}
	return nil
}

// Labels returns the class labels in LIBSVM's internal order (the order of
// first appearance in the training labels), which is the order of the
// probabilities and decision-value pairs.
func (m *Model) Labels() []int { return append([]int(nil), m.d.Labels...) }

// HasProbability reports whether the model was trained with probabilities.
func (m *Model) HasProbability() bool { return len(m.d.ProbA) > 0 }

// Predict returns the predicted label of x and the k(k-1)/2 one-vs-one
// decision values in LIBSVM's order (label[0] vs label[1], label[0] vs
// label[2], ..., label[k-2] vs label[k-1]; positive favours the first).
func (m *Model) Predict(x []float64) (int, []float64, error) {
	if err := m.checkRow(x); err != nil {
		return 0, nil, err
	}
	k := m.d.NrClass
	nodes, free := cRow(x)
	defer free()
	dec := (*C.double)(cAlloc(k*(k-1)/2, C.sizeof_double))
	defer C.free(unsafe.Pointer(dec))
	label := C.svm_predict_values(m.h.c, nodes, dec)
	runtime.KeepAlive(m.h)
	return int(label), goFloats(dec, k*(k-1)/2), nil
}

// PredictProbability returns the predicted label of x (the most probable)
// and one probability per label, in the order of [Model.Labels].
func (m *Model) PredictProbability(x []float64) (int, []float64, error) {
	if err := m.checkRow(x); err != nil {
		return 0, nil, err
	}
	if !m.HasProbability() {
		return 0, nil, errors.New("libsvm: model was trained without probabilities")
	}
	k := m.d.NrClass
	nodes, free := cRow(x)
	defer free()
	prob := (*C.double)(cAlloc(k, C.sizeof_double))
	defer C.free(unsafe.Pointer(prob))
	label := C.svm_predict_probability(m.h.c, nodes, prob)
	runtime.KeepAlive(m.h)
	return int(label), goFloats(prob, k), nil
}

func (m *Model) checkRow(x []float64) error {
	if m.h == nil {
		return errors.New("libsvm: predict with a model that was not trained or loaded")
	}
	if len(x) != m.d.Dims {
		return fmt.Errorf("libsvm: predict on %d features, model has %d: %w", len(x), m.d.Dims, ErrInput)
	}
	for j, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("libsvm: predict: feature %d is %v: %w", j, v, ErrInput)
		}
	}
	return nil
}

func cRow(x []float64) (*C.struct_svm_node, func()) {
	p := (*C.struct_svm_node)(cAlloc(len(x)+1, C.sizeof_struct_svm_node))
	fillNodes(unsafe.Slice(p, len(x)+1), x)
	return p, func() { C.free(unsafe.Pointer(p)) }
}

// MarshalBinary encodes the model exactly (every double bit for bit).
func (m *Model) MarshalBinary() ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(m.d); err != nil {
		return nil, fmt.Errorf("libsvm: encode model: %w", err)
	}
	return buf.Bytes(), nil
}

// UnmarshalBinary restores a model written by MarshalBinary into m.
func (m *Model) UnmarshalBinary(b []byte) error {
	var d modelData
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&d); err != nil {
		return fmt.Errorf("libsvm: decode model: %w", err)
	}
	nm, err := newModel(d)
	if err != nil {
		return fmt.Errorf("libsvm: decode model: %w", err)
	}
	*m = *nm // m now shares nm's handle, which keeps the C model alive
	return nil
}
